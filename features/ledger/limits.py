"""Limits of the ledger contract that settings may change (imported without pandas)."""

MAX_BAD_FRACTION = 0.05
"""A table with a larger share of quarantined rows fails the run: the rest cannot be trusted."""
