"""Scoring on Dask: the one scoring core per customer partition, gathered into one batch.

The ledger's invoices and payments are partitioned by customer bucket
(:func:`features.distributed.customer_partitions`, as the features on Dask are), and each
partition's ledger runs :func:`models.decisions.scoring.score_ledger_parts` unchanged. A
customer's features, scores, exact explanations, account and reasons depend only on that
customer's history, so each partition gives exactly its customers' rows of the in-memory batch;
the driver puts them in the in-memory order and adds up the forecast parts.

The forecast's expected collections add up exactly. Its P10-P90 band is summed draw by draw
from each partition's simulation, seeded with the bucket number: reproducible from run to run,
but drawn differently from the in-memory run's single simulation.
"""

from __future__ import annotations

import dask
import numpy as np
import pandas as pd
from distributed import Client, Future

from features.distributed import (
    cluster_buckets,
    customer_partitions,
    ledger_frames,
    partition_ledger,
)
from features.ledger.ledger import Ledger
from models.decisions.scoring import ScoredBatch, score_ledger_parts
from models.model import LatePaymentModel
from models.paydates.forecast import ForecastParts, add_forecast_parts, summarise_forecast
from models.paydates.hazard import PayDateModel

PartitionResult = tuple[ScoredBatch, ForecastParts | None]


def _score_partition(
    invoices: pd.DataFrame,
    payments: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    feature_columns: tuple[str, ...],
    as_of: pd.Timestamp,
    model: LatePaymentModel,
    model_version: str,
    pay_model: PayDateModel | None,
    seed: int,
) -> PartitionResult:
    ledger = partition_ledger(invoices, payments, customers, feature_columns)
    return score_ledger_parts(ledger, as_of, model, model_version, pay_model=pay_model, seed=seed)


def _ordered(frame: pd.DataFrame, *keys: np.ndarray) -> pd.DataFrame:
    """``frame`` sorted by ``keys``, the first the primary one; index reset."""
    return frame.iloc[np.lexsort(keys[::-1])].reset_index(drop=True)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)


def _reasons_in_order(reasons: pd.DataFrame, invoice_position: pd.Index) -> pd.DataFrame:
    """Invoice reasons by invoice (ledger order) then rank, then account reasons by customer id
    then rank: the order of :func:`models.decisions.scoring.score_batch`."""
    account = (reasons["level"] == "account").to_numpy()
    keys = reasons["key"].to_numpy()
    at = np.zeros(len(reasons), dtype="int64")
    at[~account] = invoice_position.get_indexer(keys[~account])
    at[account] = pd.factorize(keys[account], sort=True)[0]
    return _ordered(reasons, account.astype("int64"), at, reasons["rank"].to_numpy())


def gather_batches(
    ledger: Ledger, results: list[PartitionResult], as_of: pd.Timestamp
) -> ScoredBatch:
    """One batch from the batches of disjoint customer partitions (in bucket order), in the
    in-memory batch's order: invoices and pay dates as in the ledger, accounts by customer id.
    Their forecast parts, when scored with a pay-date model, are added up into its forecast."""
    batches = [batch for batch, _ in results]
    scored = [batch for batch in batches if len(batch.invoices)] or batches[:1]
    invoice_position = pd.Index(ledger.invoices["invoice_id"])

    def in_ledger_order(frame: pd.DataFrame) -> pd.DataFrame:
        return _ordered(frame, invoice_position.get_indexer(frame["invoice_id"]))

    first = scored[0]
    accounts = _concat([b.accounts for b in scored])
    pay_dates = pay_date_reasons = forecast = None
    parts = [part for _, part in results if part is not None]
    if parts:
        dates = [b.pay_dates for b in scored if b.pay_dates is not None]
        pay_dates = in_ledger_order(_concat(dates))
        why = _concat([b.pay_date_reasons for b in scored if b.pay_date_reasons is not None])
        pay_date_reasons = _ordered(
            why, invoice_position.get_indexer(why["key"]), why["rank"].to_numpy()
        )
        forecast = summarise_forecast(add_forecast_parts(parts), as_of).weekly
    return ScoredBatch(
        as_of=first.as_of,
        model_version=first.model_version,
        invoices=in_ledger_order(_concat([b.invoices for b in scored])),
        accounts=_ordered(accounts, pd.factorize(accounts["customer_id"], sort=True)[0]),
        reasons=_reasons_in_order(_concat([b.reasons for b in scored]), invoice_position),
        p_base=first.p_base,
        pay_dates=pay_dates,
        pay_date_reasons=pay_date_reasons,
        forecast=forecast,
    )


def score_on_dask(
    ledger: Ledger,
    as_of: pd.Timestamp,
    model: LatePaymentModel,
    model_version: str,
    *,
    client: Client,
    n_buckets: int | None = None,
    pay_model: PayDateModel | None = None,
) -> ScoredBatch:
    """:func:`models.decisions.scoring.score_ledger` on a Dask cluster, partitioned by customer.

    The ledger is in this process's memory (as for ``score_ledger``); its invoices and
    payments go to the cluster partitioned by customer, the models and the customers table are
    sent to every worker once, each partition is scored by the same core as in memory, and the
    batch is gathered back here.

    Args:
        n_buckets: customer partitions; by default :func:`default_buckets` of the cluster's
            workers and the ledger's invoices.

    Returns:
        The in-memory batch, row for row and in its order; the forecast's band differs from it
        within sampling error (see the module's note).
    """
    as_of = pd.Timestamp(as_of).normalize()
    buckets = n_buckets or cluster_buckets(client, len(ledger.invoices))
    invoices, payments = customer_partitions(*ledger_frames(ledger, buckets), buckets)
    invoice_parts = invoices.to_delayed()
    payment_parts = [None] * buckets if payments is None else payments.to_delayed()
    shared: list[Future | None] = [
        None if value is None else client.scatter(value, broadcast=True)
        for value in (model, pay_model, ledger.customers)
    ]
    model_ref, pay_model_ref, customers_ref = shared
    score = dask.delayed(_score_partition, pure=True)
    tasks = [
        score(
            inv,
            pay,
            customers_ref,
            ledger.feature_columns,
            as_of,
            model_ref,
            model_version,
            pay_model_ref,
            bucket,
        )
        for bucket, (inv, pay) in enumerate(zip(invoice_parts, payment_parts, strict=True))
    ]
    results: list[PartitionResult] = client.gather(client.compute(tasks))
    return gather_batches(ledger, results, as_of)
