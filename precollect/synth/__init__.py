"""Synthetic ledgers: realistic, learnable late-payment behaviour, optionally with bad rows."""

from precollect.synth.ledger import SynthSummary, generate_ledger

__all__ = ["SynthSummary", "generate_ledger"]
