"""The feature code on a local Dask cluster of 2 workers gives the in-memory output exactly."""

from __future__ import annotations

from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import pytest
from distributed import Client

from features.build import scoring_set, training_set
from features.distributed import customer_bucket, features_on_dask, partition_by_bucket
from features.ledger.ingest import load_ledger
from precollect.synth import generate_ledger


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("invoice_id").reset_index(drop=True)


@pytest.mark.slow
def test_dask_training_and_scoring_equal_in_memory(dask_client: Client, tmp_path: Path) -> None:
    generate_ledger(tmp_path, n_customers=80, n_invoices=6000, seed=11)
    ledger = load_ledger(tmp_path)
    invoices = dd.from_pandas(ledger.invoices, npartitions=5)
    payments = dd.from_pandas(ledger.payments, npartitions=3)
    as_of = pd.Timestamp("2025-06-30")
    for mode, build in (("training", training_set), ("scoring", scoring_set)):
        lazy = features_on_dask(
            invoices,
            payments=payments,
            customers=ledger.customers,
            as_of=as_of,
            mode=mode,
            n_buckets=4,
        )
        assert lazy.npartitions == 4
        distributed = lazy.compute()
        in_memory = build(ledger, as_of)
        assert len(in_memory) > 100
        pd.testing.assert_frame_equal(by_id(distributed), by_id(in_memory), check_dtype=False)


def test_each_customer_lands_in_one_partition(dask_client: Client) -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i % 7}" for i in range(200)],
            "invoice_id": [f"I{i}" for i in range(200)],
        }
    )
    ddf = dd.from_pandas(frame, npartitions=6)
    bucket = ddf["customer_id"].map_partitions(customer_bucket, 3, meta=("bucket", "int64"))
    indexed = partition_by_bucket(ddf.assign(bucket=bucket), 3)
    parts = [indexed.get_partition(i).compute() for i in range(indexed.npartitions)]
    customer_sets = [set(p["customer_id"]) for p in parts]
    assert sum(len(p) for p in parts) == 200
    assert sum(len(s) for s in customer_sets) == 7  # no customer in two partitions
