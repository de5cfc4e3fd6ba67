"""Evaluate, then refit: what each fit saw, and a calibration that never sees its booster's rows."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.catalogue import BY_NAME
from features.ledger.ingest import load_ledger
from features.ledger.ledger import Ledger
from models.encoding import FeatureEncoder
from models.training import fit
from models.training.fit import TrainParams, cross_fit, time_blocks
from models.training.train import MODEL_KEY, prepare_training_frame, train_on_ledger

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ledger(small_synthetic: Path) -> Ledger:
    return load_ledger(small_synthetic)


def _keys(rows: pd.DataFrame) -> set[tuple[str, pd.Timestamp]]:
    return set(zip(rows["invoice_id"], rows["as_of"], strict=True))


def boosted_rows(monkeypatch: pytest.MonkeyPatch) -> list[pd.DataFrame]:
    """The rows of every booster grown from now on, in order."""
    seen: list[pd.DataFrame] = []
    real = fit.boost

    def recorded(rows: pd.DataFrame, *args: object, **kwargs: object) -> object:
        seen.append(rows)
        return real(rows, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fit, "boost", recorded)
    return seen


def test_the_refit_saw_every_matured_row_and_the_evaluation_model_none_after_valid_from(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = boosted_rows(monkeypatch)
    result = train_on_ledger(ledger)
    evaluation, refit, *cross = seen  # fit_model, then refit_model and its cross-fit
    assert len(cross) == fit.CALIBRATION_BLOCKS - 1
    assert (evaluation["issue_date"] < result.split.valid_from).all()
    matured = prepare_training_frame(ledger, result.split.as_of, snapshots=TrainParams().snapshots)
    assert _keys(refit) == _keys(matured) and len(refit) == result.model.info["rows"]
    assert refit["issue_date"].max() > result.split.test_from  # the newest invoices too
    info = result.evaluation.model.info
    assert info["calibration_window"]["first_issue"] >= str(result.split.valid_from.date())
    assert result.model.info["rounds"] > result.evaluation.model.info["rounds"]  # more rows


def test_calibration_never_sees_the_boosters_training_rows(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = prepare_training_frame(ledger, ledger.last_date()).reset_index(drop=True)
    encoder = FeatureEncoder([f for f in BY_NAME if f in rows]).fit(rows)
    seen = boosted_rows(monkeypatch)
    oof = cross_fit(rows, encoder, TrainParams(), trees=40, blocks=4)
    blocks = time_blocks(rows, 4)
    assert len(seen) == 3 and len(oof.raw) == sum(len(b) for b in blocks[1:])
    assert oof.late.tolist() == rows.iloc[np.concatenate(blocks[1:])]["late"].astype(int).tolist()
    for k, trained in enumerate(seen, start=1):
        held = rows.iloc[blocks[k]]
        assert oof.held[k - 1] == (held["issue_date"].min(), held["issue_date"].max())
        assert not _keys(held) & _keys(trained)  # scored by a booster that never saw them
        assert trained["issue_date"].max() == oof.trained_through[k - 1]
        assert trained["issue_date"].max() < held["issue_date"].min()  # no issue day split
    assert not _keys(rows.iloc[blocks[0]]) & _keys(rows.iloc[np.concatenate(blocks[1:])])


def test_time_blocks_weigh_about_the_same_and_cover_every_row(ledger: Ledger) -> None:
    rows = prepare_training_frame(
        ledger, ledger.last_date(), snapshots=TrainParams().snapshots
    ).reset_index(drop=True)
    blocks = time_blocks(rows, 4)
    assert sorted(np.concatenate(blocks).tolist()) == list(range(len(rows)))
    mass = [fit.weights(rows.iloc[b]).sum() for b in blocks]
    day_most = fit.LOCAL.day_weights(rows).max()
    assert max(mass) - min(mass) <= 2 * day_most + 1e-9


def test_text_columns_are_categories_and_absent_optional_columns_leave_the_model(
    ledger: Ledger,
) -> None:
    invoices = ledger.invoices.drop(columns=["channel", "disputed"])
    regions = np.array(["North", "South", "East", "West"], dtype=object)
    invoices = invoices.assign(region=regions[np.arange(len(invoices)) % 4])
    export = dataclasses.replace(ledger, invoices=invoices, feature_columns=("region",))
    result = train_on_ledger(export)
    model = result.model
    assert "region" in model.features and "region" in model.encoder.categorical
    for gone in ("channel", "mean_days_to_pay_same_channel", "disputed", "dispute_rate"):
        assert gone not in model.features
    assert set(result.metrics) == {
        MODEL_KEY,
        "amount_and_age",
        "prior_late_share",
        "logistic_regression",
    }
    from models.decisions.scoring import score_ledger

    batch = score_ledger(export, export.last_date(), model, "1")
    texts = " ".join(batch.reasons["text"].astype(str))
    assert "how the invoice was sent" not in texts and "disputed" not in texts
