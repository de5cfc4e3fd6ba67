"""The scoring core on a trained model: one path for frames and columns, accounts that sum the
invoices up, overdue handling in one place, and invariance to ids and row order."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.build import History, open_amounts, scoring_set
from features.ledger.ingest import load_ledger
from features.ledger.ledger import Ledger
from models.calibration import Calibrator
from models.decisions.accounts import account_view
from models.decisions.frames import AccountScores, Reasons, ScoredInvoices
from models.decisions.scoring import score_batch, score_ledger, score_rows
from models.explain.effects import explain
from models.training.train import TrainingResult


@pytest.fixture(scope="module")
def ledger(small_synthetic: Path) -> Ledger:
    return load_ledger(small_synthetic)


def test_account_view_is_the_invoices_summed_up(trained: TrainingResult) -> None:
    frame = trained.test.reset_index(drop=True)
    exp = explain(trained.model, frame)
    owed = open_amounts(frame)
    accounts = account_view(exp, frame["customer_id"].to_numpy(), owed)
    effects = accounts.filter(like="effect.").sum(axis=1)
    np.testing.assert_allclose(exp.p_base + effects, accounts["risk"], atol=1e-9)
    one = accounts.index[0]
    mine = (frame["customer_id"] == one).to_numpy()
    expected = (exp.p[mine] * owed[mine]).sum() / owed[mine].sum()
    assert accounts.loc[one, "risk"] == pytest.approx(expected)
    assert accounts["amount_at_risk_not_yet_due"].sum() == pytest.approx((exp.p * owed).sum())


def test_a_batch_matches_its_frame_models(trained: TrainingResult, ledger: Ledger) -> None:
    batch = score_ledger(ledger, ledger.last_date(), trained.model, "3")
    assert len(batch.invoices) > 50 and (batch.invoices["risk_band"] == "overdue").any()
    ScoredInvoices.validate(batch.invoices, lazy=True)
    AccountScores.validate(batch.accounts, lazy=True)
    Reasons.validate(batch.reasons, lazy=True)
    # every amount of an account is its invoices' amount summed: one definition per field
    invoices = batch.invoices.assign(overdue=batch.invoices["risk_band"] == "overdue")
    by = invoices.groupby("customer_id")
    accounts = batch.accounts.set_index("customer_id").loc[list(by.groups)]
    np.testing.assert_allclose(accounts["amount_at_risk"], by["amount_at_risk"].sum(), rtol=1e-9)
    np.testing.assert_allclose(accounts["open_amount"], by["open_amount"].sum(), rtol=1e-9)
    overdue = (
        invoices["open_amount"].where(invoices["overdue"], 0.0).groupby(invoices["customer_id"])
    )
    np.testing.assert_allclose(accounts["overdue_amount"], overdue.sum(), rtol=1e-9)
    np.testing.assert_allclose(
        accounts["not_yet_due_amount"] + accounts["overdue_amount"], accounts["open_amount"]
    )
    assert (accounts["open_invoices"] == by.size()).all()
    assert (accounts["overdue_amount"] > 0).any() and (accounts["not_yet_due_amount"] > 0).any()


def test_frames_and_numpy_columns_score_alike(trained: TrainingResult, ledger: Ledger) -> None:
    features = scoring_set(ledger, ledger.last_date())
    history = History.from_ledger(ledger)
    targets = ledger.invoices.iloc[:300].assign(as_of=ledger.last_date())
    columns = history.columns({c: targets[c].to_numpy() for c in targets.columns})
    from_frame = score_rows(trained.model, history.features(targets), 3)
    from_columns = score_rows(trained.model, columns, 3)
    np.testing.assert_array_equal(from_frame.p_late, from_columns.p_late)
    np.testing.assert_array_equal(from_frame.risk_band, from_columns.risk_band)
    assert list(from_frame.reasons["text"]) == list(from_columns.reasons["text"])
    assert len(features) > 0


def test_overdue_invoices_are_late_by_definition(trained: TrainingResult, ledger: Ledger) -> None:
    features = scoring_set(ledger, ledger.last_date()).reset_index(drop=True)
    scores = score_rows(trained.model, features, 3)
    overdue = features["days_until_due"].to_numpy() < -trained.model.grace_days
    assert overdue.any() and (~overdue).any()
    np.testing.assert_array_equal(scores.overdue, overdue)
    assert (scores.p_late[overdue] == 1).all() and (scores.risk_band[overdue] == "overdue").all()
    assert np.isnan(scores.raw_score[overdue]).all()
    first = pd.DataFrame(scores.reasons).query("rank == 1").set_index("row")
    days = features.loc[overdue, "days_until_due"]
    assert [first.loc[i, "text"] for i in days.index] == [
        f"already {-int(d)} days past due" for d in days
    ]
    assert (first.loc[np.flatnonzero(~overdue), "group"] != "overdue").all()


def test_an_empty_batch_scores_to_empty_frames(trained: TrainingResult, ledger: Ledger) -> None:
    before_any = ledger.invoices["issue_date"].min() - pd.Timedelta(days=1)
    batch = score_ledger(ledger, before_any, trained.model, "3")
    assert batch.invoices.empty and batch.accounts.empty and batch.reasons.empty
    assert 0 < batch.p_base < 1


def _renamed_and_shuffled(ledger: Ledger, seed: int) -> tuple[Ledger, dict[str, str]]:
    """The same ledger with every id replaced and every table's rows shuffled."""
    rng = np.random.default_rng(seed)
    customers = ledger.invoices["customer_id"].unique()
    invoices = ledger.invoices["invoice_id"].unique()
    new_customer = dict(
        zip(customers, [f"K-{i}" for i in rng.permutation(len(customers))], strict=True)
    )
    new_invoice = dict(
        zip(invoices, [f"N-{i}" for i in rng.permutation(len(invoices))], strict=True)
    )

    def shuffled(frame: pd.DataFrame | None, **columns: dict[str, str]) -> pd.DataFrame | None:
        if frame is None:
            return None
        out = frame.assign(**{c: frame[c].map(m).astype("string") for c, m in columns.items()})
        return out.iloc[rng.permutation(len(out))].reset_index(drop=True)

    renamed = dataclasses.replace(
        ledger,
        invoices=shuffled(ledger.invoices, customer_id=new_customer, invoice_id=new_invoice),
        customers=shuffled(ledger.customers, customer_id=new_customer),
        payments=shuffled(ledger.payments, invoice_id=new_invoice),
    )
    return renamed, new_invoice


def test_renaming_ids_or_shuffling_rows_changes_no_score(
    trained: TrainingResult, ledger: Ledger
) -> None:
    as_of = ledger.last_date() - pd.Timedelta(days=20)
    original = score_ledger(ledger, as_of, trained.model, "3").invoices
    renamed_ledger, new_invoice = _renamed_and_shuffled(ledger, seed=5)
    renamed = score_ledger(renamed_ledger, as_of, trained.model, "3").invoices
    back = {v: k for k, v in new_invoice.items()}
    renamed = renamed.assign(invoice_id=renamed["invoice_id"].map(back))
    a = original.set_index("invoice_id").sort_index()
    b = renamed.set_index("invoice_id").loc[a.index]
    assert len(a) > 50
    np.testing.assert_allclose(a["p_late"], b["p_late"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(a["amount_at_risk"], b["amount_at_risk"], rtol=0, atol=1e-9)
    assert (a["risk_band"] == b["risk_band"]).all()
    assert (a["top_reason"].fillna("") == b["top_reason"].fillna("")).all()


def test_flat_isotonic_step_still_gives_every_account_reasons(trained: TrainingResult) -> None:
    flat = Calibrator("isotonic").fit(np.array([-50.0, 50.0]), np.array([0.3, 0.3]))
    model = dataclasses.replace(trained.model, calibrator=flat)
    frame = trained.test.drop(columns=["label_status"], errors="ignore").reset_index(drop=True)
    exp = explain(model, frame)
    assert (exp.p == exp.p_base).all() and (exp.effects == 0).all()
    assert (np.abs(exp.contributions).sum(axis=1) > 0).all()

    batch = score_batch(frame, model, "flat")
    accounts = batch.accounts
    assert accounts["top_reason"].notna().all()
    account_reasons = batch.reasons[batch.reasons["level"] == "account"]
    assert set(account_reasons["key"]) == set(accounts["customer_id"])
    assert (account_reasons["effect"] == 0).all()
    first = account_reasons[account_reasons["rank"] == 1]
    assert first["contribution"].abs().gt(0).all()
    raises = first["direction"] == "raises risk"
    assert (raises == (first["contribution"] > 0)).all()
    ordered = account_reasons.groupby("key")["contribution"].apply(
        lambda c: bool((np.diff(c.abs().to_numpy()) <= 1e-12).all())
    )
    assert ordered.all()  # ranked by |contribution| when every effect is 0
