"""Synthetic ledgers: realistic, learnable late-payment behaviour, optionally with bad rows."""

from precollect.synth.customers import SegmentShift
from precollect.synth.ledger import SynthSummary, generate_ledger

__all__ = ["SegmentShift", "SynthSummary", "generate_ledger"]
