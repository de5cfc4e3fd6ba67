"""Prefect flow ``score``: the morning batch. Score the open invoices, store them, build the worklist."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, task

from features.ingest import load_ledger
from features.ledger import Ledger
from models import registry, tracking
from models.model import LatePaymentModel
from models.scoring import ScoredBatch, score_ledger
from models.worklist import WorklistConfig, build_worklist
from serving.store import ScoreStore


@dataclass(frozen=True)
class ScoreRequest:
    ledger: str
    home: Path
    store_url: str
    as_of: pd.Timestamp | None = None
    mapping: Path | None = None
    model_alias: str = "champion"
    out: Path | None = None
    max_bad_fraction: float = 0.05
    worklist: WorklistConfig = field(default_factory=WorklistConfig)


@task(retries=2, retry_delay_seconds=2)
def load(ledger: str, mapping: Path | None, max_bad_fraction: float) -> Ledger:
    return load_ledger(ledger, mapping, max_bad_fraction=max_bad_fraction)


@task(retries=2, retry_delay_seconds=2)
def load_model(home: Path, alias: str) -> tuple[LatePaymentModel, str]:
    tracking.configure(home)
    return registry.load_model(alias)


@task
def score(
    ledger: Ledger, as_of: pd.Timestamp, model: LatePaymentModel, version: str
) -> ScoredBatch:
    return score_ledger(ledger, as_of, model, version)


@task(retries=2, retry_delay_seconds=2)
def store_batch(store_url: str, batch: ScoredBatch) -> None:
    store = ScoreStore(store_url)
    store.migrate()
    store.write_scored(batch)


@task(retries=2, retry_delay_seconds=2)
def make_worklist(store_url: str, batch: ScoredBatch, config: WorklistConfig) -> pd.DataFrame:
    store = ScoreStore(store_url)
    work = build_worklist(
        batch.invoices,
        batch.accounts,
        config,
        contacts=store.contacts(),
        flags=store.flags(),
        as_of=batch.as_of,
    )
    store.write_worklist(batch.as_of, batch.model_version, work)
    return work


def write_scores(batch: ScoredBatch, out: Path) -> None:
    columns = [
        "invoice_id",
        "customer_id",
        "as_of",
        "p_late",
        "risk_band",
        "amount_at_risk",
        "open_amount",
        "model_version",
        "top_reason",
        "reasons",
    ]
    frame = batch.invoices[columns]
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        frame.to_csv(out, index=False)
    else:
        frame.to_parquet(out, index=False)


@flow(name="score", log_prints=True)
def score_flow(request: ScoreRequest) -> dict[str, Any]:
    """Load and validate, load the model by alias, score and explain, store, build the worklist."""
    ledger = load(request.ledger, request.mapping, request.max_bad_fraction)
    as_of = pd.Timestamp(request.as_of or ledger.last_date()).normalize()
    model, version = load_model(request.home, request.model_alias)
    batch = score(ledger, as_of, model, version)
    store_batch(request.store_url, batch)
    if request.out is not None:
        write_scores(batch, request.out)
    work: pd.DataFrame = make_worklist(request.store_url, batch, request.worklist)  # type: ignore[assignment]
    return {
        "as_of": str(as_of.date()),
        "model_version": version,
        "invoices": len(batch.invoices),
        "accounts": len(batch.accounts),
        "to_contact": int(work["contact"].sum()),
        "batch": batch,
        "worklist": work,
    }
