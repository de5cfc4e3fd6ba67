"""The model card: what a registered model is, which rows each of its fits saw, how it scored.

Logged with every training run as ``model_card.json`` and ``model_card.md``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from models.training.fit import TrainParams
from models.training.train import MODEL_KEY, TrainingResult


def model_card(
    result: TrainingResult, *, name: str, params: TrainParams, ledger: dict[str, Any]
) -> dict[str, Any]:
    """The card as plain data."""
    refit = result.model.info
    evaluation = result.evaluation.model.info
    split = result.split.as_dict()
    return {
        "name": name,
        "ledger": ledger,
        "recipe": {
            "params": asdict(params),
            "trees": refit["rounds"],
            "trees_per_invoice": result.evaluation.rounds.per_invoice,
            "trees_chosen": refit["rounds_chosen"],
            "features": result.model.features,
            "categorical": result.model.encoder.categorical,
            "grace_days": result.model.grace_days,
        },
        "registered_model": {
            "saw": "every row whose label had matured at the as-of date",
            "as_of": split["as_of"],
            "rows": refit["rows"],
            "invoices": refit["invoices"],
            "window": refit["window"],
            "calibration": {
                "method": refit["calibration"],
                "rows": refit["calibration_rows"],
                "window": refit["calibration_window"],
                "how": "out-of-fold scores of an expanding-window cross-fit: each block scored "
                "by a booster fit on the earlier blocks only",
            },
        },
        "evaluation_model": {
            "saw": f"rows issued before {split['valid_from']} (its trees chosen, and it "
            f"calibrated, on the rows issued from {split['valid_from']} to {split['test_from']})",
            "rows": evaluation["rows"],
            "window": evaluation["window"],
            "test_rows": result.counts["test"],
            "test_window": refit["evaluation"]["test_window"],
            "calibration_window": evaluation["calibration_window"],
        },
        "metrics": result.metrics,
        "rolling_origin": {
            "folds": [
                {
                    "as_of": str(f.split.as_of.date()),
                    "test_rows": f.counts["test"],
                    "roc_auc": f.metrics[MODEL_KEY]["roc_auc"],
                    "ece": f.metrics[MODEL_KEY]["ece"],
                }
                for f in result.folds
            ],
            "summary": result.rolling(),
        },
    }


def model_card_markdown(card: dict[str, Any]) -> str:
    """The card for people."""
    reg, ev = card["registered_model"], card["evaluation_model"]
    model = card["metrics"][MODEL_KEY]
    lines = [
        f"# {card['name']}",
        "",
        f"Ledger `{card['ledger']['name']}` (fingerprint {card['ledger']['fingerprint']}), "
        f"{len(card['recipe']['features'])} features, {card['recipe']['trees']} trees.",
        "",
        "## What each fit saw",
        f"- **Registered model**: {reg['saw']} ({reg['as_of']}): {reg['rows']:,} rows, issued "
        f"{reg['window']['first_issue']} to {reg['window']['last_issue']}. Calibrated "
        f"({reg['calibration']['method']}) on {reg['calibration']['rows']:,} rows issued from "
        f"{reg['calibration']['window']['first_issue']}: {reg['calibration']['how']}.",
        f"- **Evaluation model**: {ev['saw']}: {ev['rows']:,} rows, issued "
        f"{ev['window']['first_issue']} to {ev['window']['last_issue']}. Tested on "
        f"{ev['test_rows']:,} rows issued {ev['test_window']['first_issue']} to "
        f"{ev['test_window']['last_issue']}.",
        "",
        "## Out-of-time test",
        "| scorer | ROC-AUC | PR-AUC | Brier | ECE |",
        "| --- | --- | --- | --- | --- |",
    ]
    for scorer, m in card["metrics"].items():
        lines.append(
            f"| {scorer} | {m['roc_auc']:.3f} | {m['pr_auc']:.3f} | {m['brier']:.3f} | "
            f"{m['ece']:.3f} |"
        )
    folds = card["rolling_origin"]["folds"]
    if len(folds) > 1:
        summary = card["rolling_origin"]["summary"][MODEL_KEY]["roc_auc"]
        lines += [
            "",
            f"## Rolling origin ({len(folds)} folds)",
            f"ROC-AUC {summary['mean']:.3f} ± {summary['std']:.3f}: "
            + ", ".join(f"{f['as_of']} {f['roc_auc']:.3f}" for f in folds),
        ]
    lines += ["", f"Model ROC-AUC {model['roc_auc']:.3f}, ECE {model['ece']:.3f}.", ""]
    return "\n".join(lines)
