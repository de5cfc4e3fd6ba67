"""The same feature code on Dask, for ledgers that outgrow one machine.

Invoices (and their payments) are partitioned by a hash of the customer, so that each customer's
whole history lands in one partition (:func:`customer_partitions`); each partition's ledger
(:func:`partition_ledger`) then runs the in-memory feature code unchanged
(:func:`features.build.training_set` or :func:`features.build.scoring_set`). Scoring on Dask
(``models.decisions.distributed``) partitions the same way.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import dask.dataframe as dd
import numpy as np
import pandas as pd

from features.build import scoring_set, training_set
from features.ledger.ledger import Ledger

Mode = Literal["training", "scoring"]


def customer_bucket(customer_ids: pd.Series, n_buckets: int) -> pd.Series:
    """A stable bucket in ``[0, n_buckets)`` per customer id (same id, same bucket, any machine)."""
    hashed = pd.util.hash_array(customer_ids.astype("string").to_numpy(dtype=object))
    return pd.Series((hashed % np.uint64(n_buckets)).astype("int64"), index=customer_ids.index)


def partition_by_bucket(frame: dd.DataFrame, n_buckets: int) -> dd.DataFrame:
    """``frame`` (with a ``bucket`` column) indexed by bucket: partition ``i`` holds bucket ``i``."""
    divisions = tuple(range(n_buckets + 1))
    return frame.set_index("bucket", divisions=divisions, sorted=False)


def customer_partitions(
    invoices: dd.DataFrame, payments: dd.DataFrame | None, n_buckets: int
) -> tuple[dd.DataFrame, dd.DataFrame | None]:
    """Invoices and their payments partitioned alike by customer bucket: partition ``i`` of
    each holds every row of the customers of bucket ``i``, and only theirs.

    Returns:
        (invoices, payments), both indexed by ``bucket`` with ``n_buckets`` partitions;
        payments ``None`` when none were given.
    """
    inv = invoices.assign(
        bucket=invoices["customer_id"].map_partitions(
            customer_bucket, n_buckets, meta=("bucket", "int64")
        )
    )
    inv = partition_by_bucket(inv, n_buckets)
    if payments is None:
        return inv, None
    owners = inv.reset_index()[["invoice_id", "bucket"]]
    pay = partition_by_bucket(payments.merge(owners, on="invoice_id", how="inner"), n_buckets)
    return inv, pay


def partition_ledger(
    invoices: pd.DataFrame,
    payments: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    feature_columns: tuple[str, ...],
) -> Ledger:
    """The ledger of one customer partition (its bucket index dropped), for the in-memory code."""
    return Ledger(
        invoices=invoices.reset_index(drop=True),
        customers=customers,
        payments=None if payments is None else payments.reset_index(drop=True),
        feature_columns=feature_columns,
    )


def _features_of_partition(
    invoices: pd.DataFrame,
    payments: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    as_of: pd.Timestamp,
    mode: Mode,
    grace_days: int,
    feature_columns: tuple[str, ...],
    snapshots: tuple[int, ...] = (),
) -> pd.DataFrame:
    ledger = partition_ledger(invoices, payments, customers, feature_columns)
    if mode == "training":
        return training_set(ledger, as_of, grace_days=grace_days, snapshots=snapshots)
    return scoring_set(ledger, as_of, grace_days=grace_days)


def features_on_dask(
    invoices: dd.DataFrame,
    *,
    as_of: pd.Timestamp,
    mode: Mode = "training",
    payments: dd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    n_buckets: int = 8,
    grace_days: int = 0,
    feature_columns: tuple[str, ...] = (),
    snapshots: tuple[int, ...] = (),
) -> dd.DataFrame:
    """Features of a validated ledger held as Dask frames, partitioned by customer
    (``snapshots``: the training set's days-before-due rows, see ``training_set``).

    Returns:
        A lazy Dask frame with the same rows and columns as the in-memory call (row order
        differs: sort by ``invoice_id`` to compare).
    """
    as_of = pd.Timestamp(as_of).normalize()
    inv, pay = customer_partitions(invoices, payments, n_buckets)
    meta = _features_of_partition(
        invoices._meta.reset_index(drop=True),
        None if payments is None else payments._meta,
        customers,
        as_of,
        mode,
        grace_days,
        feature_columns,
        snapshots,
    )
    args = [inv] if pay is None else [inv, pay]

    def run(inv_part: pd.DataFrame, pay_part: pd.DataFrame | None = None) -> pd.DataFrame:
        return _features_of_partition(
            inv_part, pay_part, customers, as_of, mode, grace_days, feature_columns, snapshots
        )

    return dd.map_partitions(run, *args, meta=meta, align_dataframes=False)


BUCKETS_PER_WORKER = 2
INVOICES_PER_BUCKET = 200_000


def default_buckets(workers: int, invoices: int) -> int:
    """How many customer partitions to score or train on: two per worker, more when a partition
    would hold over :data:`INVOICES_PER_BUCKET` invoices.

    Two per worker, not one, so that a worker finishing early takes another partition instead
    of waiting for the largest (customers are of very different sizes); not many more, because
    each partition indexes its history and walks the trees once, a fixed cost per task. The cap
    keeps a partition's history and explanations well within one worker's memory.
    """
    return max(BUCKETS_PER_WORKER * max(workers, 1), math.ceil(invoices / INVOICES_PER_BUCKET))


def cluster_buckets(client: Any, invoices: int) -> int:
    """:func:`default_buckets` for the workers of ``client``'s cluster."""
    return default_buckets(len(client.scheduler_info()["workers"]), invoices)


def ledger_frames(ledger: Ledger, pieces: int) -> tuple[dd.DataFrame, dd.DataFrame | None]:
    """An in-memory ledger's invoices and payments as Dask frames of ``pieces`` partitions
    (not yet by customer: see :func:`customer_partitions`)."""
    invoices = dd.from_pandas(ledger.invoices, npartitions=pieces)
    payments = (
        None if ledger.payments is None else dd.from_pandas(ledger.payments, npartitions=pieces)
    )
    return invoices, payments


def ledger_features_on_dask(
    ledger: Ledger,
    as_of: pd.Timestamp,
    *,
    n_buckets: int,
    mode: Mode = "training",
    grace_days: int = 0,
    snapshots: tuple[int, ...] = (),
) -> dd.DataFrame:
    """:func:`features_on_dask` of an in-memory ledger."""
    invoices, payments = ledger_frames(ledger, n_buckets)
    return features_on_dask(
        invoices,
        as_of=as_of,
        mode=mode,
        payments=payments,
        customers=ledger.customers,
        n_buckets=n_buckets,
        grace_days=grace_days,
        feature_columns=ledger.feature_columns,
        snapshots=snapshots,
    )
