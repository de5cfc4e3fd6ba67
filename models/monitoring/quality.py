"""Data quality as the monitor sees it: rows the ledger contract quarantined, and optional
columns the model was trained with that the ledger no longer fills."""

from __future__ import annotations

from typing import Any


def quarantine_rates(counts: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """Per table ``(rows in, rows quarantined)`` -> each table's rate and the worst one."""
    tables = {
        name: {"rows_in": rows_in, "quarantined": bad, "rate": bad / rows_in if rows_in else 0.0}
        for name, (rows_in, bad) in counts.items()
    }
    worst = max((t["rate"] for t in tables.values()), default=0.0)
    return {"tables": tables, "rate": worst}


def missing_optional(trained_with: list[str], present: frozenset[str]) -> list[str]:
    """Optional columns and tables present when the model was trained and empty now."""
    return sorted(set(trained_with) - set(present))
