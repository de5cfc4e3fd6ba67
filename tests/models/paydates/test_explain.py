"""Pay-date reasons in days: exact per-bin TreeSHAP carried to the expected pay date."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.build import scoring_set
from features.ledger.ingest import load_ledger
from models.explain.treeshap import grouped_contrib
from models.paydates.distribution import EDGES, cdf_from_hazards, mean_days
from models.paydates.explain import (
    DUE_FEATURE,
    EARLIER,
    LATER,
    explain_days,
    mean_days_and_gradient,
    pay_date_reasons,
)
from models.paydates.fit import fit_pay_dates_on_ledger
from models.paydates.hazard import PayDateModel, bin_rows, bin_tails, invoice_rows

BINS = len(EDGES) - 1


def test_expected_days_match_the_distribution_and_the_gradient_its_finite_differences() -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(-1.5, 2.0, size=(40, BINS))
    logits[0] = -40.0  # almost nothing paid within the horizon
    logits[1, 3] = 35.0  # certainly paid in the fourth week if not before
    expected, gradient = mean_days_and_gradient(logits)
    hazards = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(expected, mean_days(cdf_from_hazards(hazards)), rtol=1e-9)
    step = 1e-6
    for k in range(BINS):
        up, down = logits.copy(), logits.copy()
        up[:, k] += step
        down[:, k] -= step
        numeric = (mean_days_and_gradient(up)[0] - mean_days_and_gradient(down)[0]) / (2 * step)
        np.testing.assert_allclose(gradient[:, k], numeric, rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def fitted(small_synthetic: Path) -> tuple[PayDateModel, pd.DataFrame]:
    ledger = load_ledger(small_synthetic)
    cutoff = pd.Timestamp(ledger.invoices["issue_date"].quantile(0.8)).normalize()
    return fit_pay_dates_on_ledger(ledger, cutoff), scoring_set(ledger, cutoff)


def test_per_bin_treeshap_from_invoice_rows_and_tails_equals_lightgbm_on_the_bin_rows(
    fitted: tuple[PayDateModel, pd.DataFrame],
) -> None:
    """The hazard's rows are never built whole for its SHAP values: grouped per invoice row,
    then per bin, they must equal LightGBM's own ``pred_contrib`` on the rows the booster sees."""
    model, features = fitted
    mix, until_due = invoice_rows(model, features)
    rows = mix.rows.copy()
    rng = np.random.default_rng(7)
    rows[rng.random(rows.shape) < 0.05] = np.nan  # missing and zero cells on the invoice part
    rows[rng.random(rows.shape) < 0.05] = 0.0
    until_due = until_due.copy()
    until_due[:5] = [0.0, -7.0, 7.0, np.nan, 1e-36]  # bins' days past due at and near zero
    (_, _, block), *more = list(bin_rows(rows, until_due))
    assert not more  # one block: the whole expanded matrix
    expected = np.asarray(model.booster.predict(block, pred_contrib=True))
    found = grouped_contrib(model.booster, rows, bin_tails(until_due))
    np.testing.assert_allclose(found, expected, rtol=0, atol=1e-12)
    # with no tails it is the plain grouped TreeSHAP of the rows as given
    np.testing.assert_allclose(
        grouped_contrib(model.booster, block[:50]), expected[:50], rtol=0, atol=1e-12
    )


def test_days_add_up_to_the_expected_pay_date_less_the_reference(
    fitted: tuple[PayDateModel, pd.DataFrame],
) -> None:
    model, features = fitted
    found = explain_days(model, features)
    cdf = model.cdf(features)
    np.testing.assert_allclose(found.cdf, cdf, rtol=0, atol=1e-12)  # the same booster pass
    known = np.isfinite(found.expected_days)
    assert known.mean() > 0.9
    # the expected days explained are the model's own (the widening moves only the interval)
    np.testing.assert_allclose(found.expected_days[known], mean_days(cdf)[known], rtol=1e-6)
    total = found.contributions.sum(axis=1)
    np.testing.assert_allclose(
        total[known], (found.expected_days - found.base_days)[known], atol=1e-8
    )
    assert (found.contributions[~known] == 0).all()
    # the invoices differ, so the reasons do: not one constant shift
    assert np.abs(total[known]).max() > 1.0 and np.std(total[known]) > 0.5


def test_days_until_due_carries_the_bins_days_past_due(
    fitted: tuple[PayDateModel, pd.DataFrame],
) -> None:
    model, features = fitted
    found = explain_days(model, features)
    due = found.features.index(DUE_FEATURE)
    # an invoice not yet due is paid later the later it falls due: its days until due take a
    # share of the date that grows with them (overdue ones are another matter: long overdue
    # invoices stay unpaid)
    until = features["days_until_due"].to_numpy("float64")
    ahead = until >= 0
    assert ahead.sum() > 30
    assert np.corrcoef(found.contributions[ahead, due], until[ahead])[0, 1] > 0.5


def test_reasons_name_directions_in_days_largest_first(
    fitted: tuple[PayDateModel, pd.DataFrame],
) -> None:
    model, features = fitted
    reasons = pay_date_reasons(model, features, top=3)
    assert set(reasons["direction"]) <= {LATER, EARLIER} and len(set(reasons["direction"])) == 2
    assert (reasons["direction"].eq(LATER) == (reasons["effect"] > 0)).all()
    assert reasons.groupby("row")["rank"].max().max() <= 3
    size = reasons.assign(size=reasons["effect"].abs()).groupby("row")["size"]
    assert (size.apply(lambda s: bool((np.diff(s.to_numpy()) <= 1e-12).all()))).all()
    assert reasons["text"].map(lambda t: isinstance(t, str) and len(t) > 5).all()


def test_an_overdue_invoice_reads_days_past_due_the_same_on_both_paths(
    fitted: tuple[PayDateModel, pd.DataFrame],
) -> None:
    from models.explain.reasons import sentence

    model, features = fitted
    frame = features.reset_index(drop=True)
    reasons = pay_date_reasons(model, frame)
    due = reasons[reasons["feature"] == DUE_FEATURE]
    overdue = due[frame["days_until_due"].to_numpy()[due["row"].to_numpy()] < 0]
    assert len(overdue) > 0
    for r in overdue.itertuples():
        row = frame.iloc[int(r.row)]
        assert r.text == f"{-row['days_until_due']:.0f} days past due"
        assert r.text == sentence(DUE_FEATURE, row)  # the one-invoice path says the same


def test_an_absent_channel_gives_the_mixture_of_the_channels_distributions(
    fitted: tuple[PayDateModel, pd.DataFrame],
) -> None:
    """As for the late-payment score (tests/models/test_absent_values.py): a pay date does not
    move because an invoice leaves out a value training always knew."""
    model, features = fitted
    encoder = model.encoder
    assert "channel" in model.features and sum(encoder.shares_["channel"]) > 0.99
    rows = features.head(20).reset_index(drop=True)
    shares = dict(zip(encoder.categories_["channel"], encoder.shares_["channel"], strict=True))
    total = sum(shares.values())
    each = {c: rows.assign(channel=pd.array([c] * len(rows), dtype="string")) for c in shares}
    absent = rows.assign(channel=pd.array([None] * len(rows), dtype="string"))
    mixed = sum(s / total * model.cdf(each[c]) for c, s in shares.items())
    np.testing.assert_allclose(model.cdf(absent), mixed, rtol=0, atol=1e-12)
    found = explain_days(model, absent)
    np.testing.assert_allclose(found.cdf, mixed, rtol=0, atol=1e-12)
    explained = {c: explain_days(model, each[c]) for c in shares}
    by_mix = sum(s / total * explained[c].contributions for c, s in shares.items())
    np.testing.assert_allclose(found.contributions, by_mix, atol=1e-9)
