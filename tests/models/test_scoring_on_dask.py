"""Scoring on a local Dask cluster of 2 workers gives the in-memory batch: the same invoices,
accounts, reasons and pay dates, the same expected cash-in, and a band within sampling error of
the in-memory one that is the same from run to run; publishing from it stores the whole batch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import Client

from features.distributed import customer_bucket, partition_ledger
from features.ledger.ingest import load_ledger
from features.ledger.ledger import Ledger
from models.decisions.distributed import gather_batches, score_on_dask
from models.decisions.playbook import WorklistConfig
from models.decisions.scoring import ScoredBatch, score_ledger, score_ledger_parts
from models.model import LatePaymentModel
from models.paydates.fit import fit_pay_dates_on_ledger
from models.paydates.hazard import PayDateModel
from models.training.fit import TrainParams
from models.training.train import train_on_ledger
from precollect.synth import generate_ledger
from serving.store.publish import score_and_store
from serving.store.store import ScoreStore

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Scoring:
    ledger: Ledger
    as_of: pd.Timestamp
    model: LatePaymentModel
    pay_model: PayDateModel
    in_memory: ScoredBatch


@pytest.fixture(scope="module")
def scoring(tmp_path_factory: pytest.TempPathFactory) -> Scoring:
    folder = tmp_path_factory.mktemp("ledger")
    generate_ledger(folder, n_customers=60, n_invoices=4000, seed=7)
    ledger = load_ledger(folder)
    model = train_on_ledger(ledger, params=TrainParams(n_estimators=60)).model  # cheap
    pay_model = fit_pay_dates_on_ledger(ledger)
    pay_model.info["version"] = "3"
    as_of = ledger.default_as_of()
    in_memory = score_ledger(ledger, as_of, model, "1", pay_model=pay_model)
    return Scoring(ledger, as_of, model, pay_model, in_memory)


def on_dask(scoring: Scoring, client: Client, n_buckets: int | None = None) -> ScoredBatch:
    return score_on_dask(
        scoring.ledger,
        scoring.as_of,
        scoring.model,
        "1",
        client=client,
        n_buckets=n_buckets,
        pay_model=scoring.pay_model,
    )


def sorted_by(frame: pd.DataFrame, *keys: str) -> pd.DataFrame:
    return frame.sort_values(list(keys)).reset_index(drop=True)


def assert_rows_equal(distributed: ScoredBatch, in_memory: ScoredBatch) -> None:
    """Every row of every frame equal, whichever way it is sorted (and in the same order)."""
    assert distributed.pay_dates is not None and in_memory.pay_dates is not None
    assert distributed.pay_date_reasons is not None and in_memory.pay_date_reasons is not None
    pairs = [
        (distributed.invoices, in_memory.invoices, ("invoice_id",)),
        (distributed.accounts, in_memory.accounts, ("customer_id",)),
        (distributed.reasons, in_memory.reasons, ("level", "key", "rank")),
        (distributed.pay_dates, in_memory.pay_dates, ("invoice_id",)),
        (distributed.pay_date_reasons, in_memory.pay_date_reasons, ("key", "rank")),
    ]
    for got, want, keys in pairs:
        pd.testing.assert_frame_equal(sorted_by(got, *keys), sorted_by(want, *keys), rtol=1e-12)
        pd.testing.assert_frame_equal(got, want, rtol=1e-12)  # the in-memory order, too
    assert (distributed.as_of, distributed.model_version) == (in_memory.as_of, "1")
    assert distributed.p_base == in_memory.p_base


def test_scores_on_dask_equal_the_in_memory_scores(scoring: Scoring, dask_client: Client) -> None:
    want = scoring.in_memory
    assert len(want.invoices) > 50 and (want.invoices["risk_band"] == "overdue").any()
    assert want.invoices["customer_id"].nunique() > 20
    got = on_dask(scoring, dask_client)  # two buckets per worker: 4
    assert_rows_equal(got, want)
    assert got.forecast is not None and want.forecast is not None
    np.testing.assert_allclose(got.forecast["expected"], want.forecast["expected"], rtol=1e-9)
    assert (got.forecast["week_start"] == want.forecast["week_start"]).all()
    # the band comes from other draws of the same distributions: close, not equal. Its
    # quantiles' sampling error is about 2 % of the band's width (1,000 draws): allow 15 %
    width = (want.forecast["p90"] - want.forecast["p10"]).to_numpy()
    for q in ("p10", "p50", "p90"):
        assert (np.abs(got.forecast[q] - want.forecast[q]).to_numpy() <= 0.15 * width).all()
    large = want.forecast["p50"] > 0.25 * want.forecast["p50"].max()
    np.testing.assert_allclose(got.forecast["p50"][large], want.forecast["p50"][large], rtol=0.05)
    assert (got.forecast["p10"] <= got.forecast["p50"]).all()
    assert (got.forecast["p50"] <= got.forecast["p90"]).all()
    # and the same draws on every run: each bucket is seeded with its number
    again = on_dask(scoring, dask_client, n_buckets=4)
    assert again.forecast is not None
    pd.testing.assert_frame_equal(again.forecast, got.forecast, check_exact=True)


def test_partitions_scored_apart_gather_into_the_in_memory_batch(scoring: Scoring) -> None:
    """The driver's half without a cluster, with partitions holding no customer at all."""
    ledger, buckets = scoring.ledger, 6
    bucket = customer_bucket(ledger.invoices["customer_id"], buckets).to_numpy()
    results = []
    for b in range(buckets + 2):  # the last two buckets are empty
        invoices = ledger.invoices[bucket == b]
        payments = ledger.payments[ledger.payments["invoice_id"].isin(invoices["invoice_id"])]
        part = partition_ledger(invoices, payments, ledger.customers, ledger.feature_columns)
        results.append(
            score_ledger_parts(
                part, scoring.as_of, scoring.model, "1", pay_model=scoring.pay_model, seed=b
            )
        )
    assert sum(len(batch.invoices) == 0 for batch, _ in results) >= 2
    got = gather_batches(ledger, results, scoring.as_of)
    assert_rows_equal(got, scoring.in_memory)
    assert got.forecast is not None and scoring.in_memory.forecast is not None
    np.testing.assert_allclose(
        got.forecast["expected"], scoring.in_memory.forecast["expected"], rtol=1e-9
    )


def test_a_batch_scored_on_dask_is_stored_whole(
    scoring: Scoring, dask_client: Client, tmp_path: Path
) -> None:
    store = ScoreStore(f"sqlite:///{tmp_path / 'store.db'}")
    published = score_and_store(
        scoring.ledger,
        scoring.as_of,
        scoring.model,
        "1",
        store,
        WorklistConfig(),
        pay_model=scoring.pay_model,
        client=dask_client,
    )
    frames = store.batch_frames(scoring.as_of, "1")
    assert len(frames["invoice_scores"]) == len(scoring.in_memory.invoices)
    assert sorted(frames["invoice_scores"]["invoice_id"]) == sorted(
        scoring.in_memory.invoices["invoice_id"]
    )
    assert len(frames["pay_dates"]) == len(scoring.in_memory.invoices)
    assert len(store.forecast(scoring.as_of)[1]) == 13
    assert not published.worklist.empty
