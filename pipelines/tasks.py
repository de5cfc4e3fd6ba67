"""Tasks both flows share."""

from __future__ import annotations

from pathlib import Path

from features.ledger.ingest import load_ledger
from features.ledger.ledger import Ledger
from pipelines.runtime import revealed, step


@step(retries=2)
def load(ledger: str, mapping: Path | None, max_bad_fraction: float) -> Ledger:
    """Read, map and validate the ledger (retried: it may live on a database or a share).

    ``ledger`` is the location as :func:`pipelines.runtime.hidden` made it: no password."""
    return load_ledger(revealed(ledger), mapping, max_bad_fraction=max_bad_fraction)
