"""Errors a user can act on: each carries a one-line message, never a traceback."""


class LedgerError(Exception):
    """The ledger cannot be read: missing file or column, unparseable column, bad mapping."""


class ContractViolation(Exception):
    """Too many rows broke the ledger contract to trust the rest."""


class LedgerMismatch(Exception):
    """A model trained on another ledger (name or columns) than the one it is asked to score."""
