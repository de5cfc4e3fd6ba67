"""Publish a scoring run: the batch into the store, today's worklist beside it, a scores file.

:func:`score_and_store` is the morning job in plain Python: the ``score`` flow, the CLI and the
tests all run it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from features.ledger.errors import LedgerError
from features.ledger.ledger import Ledger
from models.decisions.frames import ScoredInvoices, columns
from models.decisions.playbook import WorklistConfig
from models.decisions.promises import broken_promises, payments_of
from models.decisions.scoring import ScoredBatch, score_ledger
from models.decisions.worklist import build_worklist
from models.model import LatePaymentModel
from models.paydates.hazard import PayDateModel
from serving.store import codec
from serving.store.store import ScoreStore

if TYPE_CHECKING:
    from distributed import Client


@dataclass(frozen=True)
class Published:
    batch: ScoredBatch
    worklist: pd.DataFrame


def score_and_store(
    ledger: Ledger,
    as_of: pd.Timestamp,
    model: LatePaymentModel,
    model_version: str,
    store: ScoreStore,
    config: WorklistConfig,
    out: Path | None = None,
    pay_model: PayDateModel | None = None,
    client: Client | None = None,
) -> Published:
    """Score and explain the invoices open at ``as_of``, store the batch, build the worklist;
    with ``pay_model``, the scores file also carries each invoice's pay dates.

    Given a Dask ``client``, the batch is scored on its cluster, partitioned by customer
    (:func:`models.decisions.distributed.score_on_dask`), and gathered to this process before
    the store write: that write is still one transaction, so the batch is published whole or
    not at all. (Batches larger than this process's memory would need a staging table swapped
    in; that is not built.)"""
    if client is None:
        batch = score_ledger(ledger, as_of, model, model_version, pay_model=pay_model)
    else:
        from models.decisions.distributed import score_on_dask  # dask only when asked for

        batch = score_on_dask(
            ledger, as_of, model, model_version, client=client, pay_model=pay_model
        )
    if batch.invoices.empty:
        raise LedgerError(
            f"no invoice is open at {pd.Timestamp(as_of).date()}: nothing to score (the ledger's "
            f"last event is on {ledger.last_date().date()}; choose --as-of, or set "
            "extracted_at in the ledger's mapping)"
        )
    store.migrate()
    store.write_scored(batch)
    work = rebuild_worklist(
        store,
        batch.invoices,
        batch.accounts,
        batch.as_of,
        model_version,
        config,
        pay_dates=batch.pay_dates,
        payments=payments_of(ledger.invoices, ledger.payments),
    )
    if out is not None:
        write_frame(scores_file(batch), out)
    return Published(batch, work)


def rebuild_worklist(
    store: ScoreStore,
    invoices: pd.DataFrame,
    accounts: pd.DataFrame,
    as_of: pd.Timestamp,
    model_version: str,
    config: WorklistConfig,
    pay_dates: pd.DataFrame | None = None,
    payments: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Today's worklist from a batch's scores and the stored contacts and flags; stored. The
    pre-due EV uses ``pay_dates`` when given (the pay-date model's predictions, stored with the
    batch; without them it falls back on payment history). Given the ledger's ``payments``
    (``promises.payments_of``), accounts with a broken promise go to ``promise_follow_up``."""
    contacts = store.contacts()
    broken = None if payments is None else broken_promises(contacts, payments, as_of)
    work = build_worklist(
        invoices,
        accounts,
        config,
        contacts=contacts,
        flags=store.flags(),
        as_of=as_of,
        pay_dates=pay_dates,
        broken_promises=broken,
    )
    store.write_worklist(as_of, model_version, work)
    return work


def scores_file(batch: ScoredBatch) -> pd.DataFrame:
    """The scored invoices as written by ``--out``: every column, reasons as JSON (the pay
    date's in ``pay_date_reasons``, effects in days)."""
    invoice_reasons = batch.reasons[batch.reasons["level"] == "invoice"]
    frame = batch.invoices[columns(ScoredInvoices)]
    frame = codec.with_reason_lists(frame, "invoice_id", invoice_reasons)
    if batch.pay_dates is not None:
        dates = batch.pay_dates.drop(columns=["customer_id"])
        if batch.pay_date_reasons is not None:
            why = codec.reason_lists(batch.pay_date_reasons)
            dates = dates.assign(pay_date_reasons=dates["invoice_id"].map(why))
        frame = frame.merge(dates, on="invoice_id", how="left", validate="one_to_one")
    return frame


def write_frame(frame: pd.DataFrame, out: Path) -> None:
    """Write a frame as Parquet, or CSV when the name ends in .csv."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        frame.to_csv(out, index=False)
    else:
        frame.to_parquet(out, index=False)
