"""Publishing a scoring run: a date with nothing open is a clear error, and nothing is stored;
pay dates and the cash forecast are stored with the batch they came from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.ledger.errors import LedgerError
from features.ledger.ingest import load_ledger
from features.ledger.ledger import Ledger
from models.decisions.frames import PayDates, columns
from models.decisions.playbook import WorklistConfig
from models.paydates.fit import fit_pay_dates_on_ledger
from models.paydates.predict import PAY_DATE_COLUMNS
from models.training.train import TrainingResult, train_on_ledger
from serving.store.publish import score_and_store, scores_file
from serving.store.store import ScoreStore


@pytest.fixture(scope="module")
def ledger(small_synthetic: Path) -> Ledger:
    return load_ledger(small_synthetic)


@pytest.fixture(scope="module")
def trained(ledger: Ledger) -> TrainingResult:
    return train_on_ledger(ledger)


def test_a_date_with_no_open_invoice_is_refused_and_stores_nothing(
    ledger: Ledger, trained: TrainingResult, tmp_path: Path
) -> None:
    store = ScoreStore(f"sqlite:///{tmp_path / 'store.db'}")
    before_any = ledger.invoices["issue_date"].min() - pd.Timedelta(days=1)
    with pytest.raises(LedgerError, match="no invoice is open at"):
        score_and_store(ledger, before_any, trained.model, "1", store, WorklistConfig())
    store.migrate()
    assert store.latest_batch() is None


def test_pay_dates_and_the_forecast_are_stored_with_their_batch(
    ledger: Ledger, trained: TrainingResult, tmp_path: Path
) -> None:
    assert set(PAY_DATE_COLUMNS) <= set(columns(PayDates))  # one list of pay-date fields
    pay_model = fit_pay_dates_on_ledger(ledger)
    pay_model.info["version"] = "7"
    store = ScoreStore(f"sqlite:///{tmp_path / 'store.db'}")
    as_of = ledger.default_as_of()
    args = (ledger, as_of, trained.model, "1", store, WorklistConfig())
    published = score_and_store(*args, pay_model=pay_model)
    score_and_store(*args, pay_model=pay_model)  # the same batch again replaces it
    batch, weeks = store.forecast()
    assert batch["as_of"] == as_of.date() and batch["model_version"] == "1"
    assert len(weeks) == 13 and (weeks["p10"] <= weeks["p90"]).all()
    assert weeks["expected"].sum() == pytest.approx(published.batch.forecast["expected"].sum())
    assert weeks["expected"].sum() <= published.batch.invoices["open_amount"].sum()
    ids = published.batch.invoices["invoice_id"].tolist()
    dates = store.batch_frames(as_of, "1")["pay_dates"]
    assert sorted(dates["invoice_id"]) == sorted(ids)  # once each, after two writes
    assert set(dates["pay_model_version"]) == {"7"}
    assert (pd.to_datetime(dates["pay_date_p10"]).dropna() > as_of).all()
    one = store.pay_date(ids[0], as_of, "1")
    assert one is not None and one["customer_id"] == published.batch.invoices["customer_id"][0]
    why = published.batch.pay_date_reasons
    assert why is not None
    mine = why[why["key"] == ids[0]].sort_values("rank")
    assert [r["text"] for r in one["reasons"]] == mine["text"].tolist()
    assert [r["effect"] for r in one["reasons"]] == pytest.approx(mine["effect"].tolist())
    out = scores_file(published.batch)  # --out: the pay date's reasons beside the score's
    assert out["pay_date_reasons"].notna().mean() > 0.9 and out["reasons"].notna().mean() > 0.9
    # a batch scored without a pay-date model stores none, and the forecast stays the last one
    earlier = as_of - pd.Timedelta(days=7)
    score_and_store(ledger, earlier, trained.model, "1", store, WorklistConfig())
    assert store.forecast()[0]["as_of"] == as_of.date()
    assert store.forecast(earlier)[1].empty


def test_a_broken_promise_puts_its_account_in_the_promise_follow_up_queue(
    ledger: Ledger, trained: TrainingResult, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    store = ScoreStore(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate()
    as_of = ledger.default_as_of()
    args = (ledger, as_of, trained.model, "1", store, WorklistConfig())
    before = score_and_store(*args).worklist
    customer = str(before.loc[before["queue"] != "dispute", "customer_id"].iloc[0])
    made = (as_of - pd.Timedelta(days=10)).to_pydatetime().replace(tzinfo=UTC)
    store.record_contact(
        customer,
        made,
        "call",
        outcome="promise_to_pay",
        promised_date=(as_of - pd.Timedelta(days=3)).date(),
        promised_amount=10_000_000.0,  # more than any payment since could cover
    )
    assert made < datetime.now(UTC)
    work = score_and_store(*args).worklist
    follow_up = work[work["queue"] == "promise_follow_up"]
    assert customer in set(follow_up["customer_id"]), work[["customer_id", "queue"]].head()
    assert set(follow_up["customer_id"]) == {customer}  # nobody else promised anything
