"""What the message tests look for."""

INTERNAL_WORDS = (
    "risk",
    "probab",
    "score",
    "model",
    "predict",
    "likely",
    "band",
    "segment",
    "chronic",
    "deteriorat",
    "late payer",
    "amount at risk",
    "treatment",
    "escalat",
    "%",
    "nan",
    "None",
    "{{",
    "{%",
)
"""Words of the score and the playbook a customer must never read (nor template leftovers)."""
