"""PSI on hand-computed bins."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.monitoring.drift import (
    categorical_shares,
    column_psi,
    describe_column,
    feature_psi,
    numeric_edges,
    numeric_shares,
    psi,
)


def test_psi_by_hand() -> None:
    expected = 0.25 * math.log(2) + 0.25 * math.log(1.5)  # (a - e) ln(a / e), two bins
    assert psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(expected)
    assert psi(np.array([0.3, 0.7]), np.array([0.3, 0.7])) == 0.0


def test_an_empty_bin_counts_without_infinity() -> None:
    value = psi(np.array([0.5, 0.5, 0.0]), np.array([0.5, 0.4, 0.1]))
    assert math.isfinite(value) and value > 0.5  # 0.1 ln(0.1 / 1e-4) alone is 0.69


def test_deciles_and_the_missing_bin() -> None:
    assert numeric_edges(np.arange(101.0)) == pytest.approx([10, 20, 30, 40, 50, 60, 70, 80, 90])
    # deciles of 0, 0, 0, 1 (linear): 0 up to the 60th, then 0.1, 0.4, 0.7; ties collapse
    assert numeric_edges(np.array([0.0, 0.0, 0.0, 1.0])) == pytest.approx([0.0, 0.1, 0.4, 0.7])
    shares = numeric_shares([1, 2, 3, 4, np.nan], [2.5])
    assert shares.tolist() == pytest.approx([0.4, 0.4, 0.2])  # below, above, missing
    assert numeric_shares([-100, 1000], [0.0, 1.0]).tolist() == [0.5, 0, 0.5, 0]  # outer bins


def test_levels_other_and_missing() -> None:
    shares = categorical_shares(["a", "b", "c", None], ["a", "b"])
    assert shares.tolist() == [0.25, 0.25, 0.25, 0.25]  # a, b, (other), missing


def test_column_reference_round_trip_and_groups() -> None:
    reference = pd.DataFrame({"x": np.arange(100.0), "y": np.arange(100.0), "c": ["u", "v"] * 50})
    refs = {name: describe_column(reference[name]) for name in reference}
    assert refs["c"]["kind"] == "categorical" and refs["x"]["kind"] == "numeric"
    assert column_psi(refs["x"], reference["x"]) == pytest.approx(0.0)
    shifted = reference.assign(x=reference["x"] + 1000.0, c=["u"] * 100)
    features, groups = feature_psi(refs, shifted, {"x": "g", "y": "g", "c": "h"})
    assert features[0]["feature"] == "x"
    by_name = {f["feature"]: f["psi"] for f in features}
    assert by_name["y"] == pytest.approx(0.0)
    # every row in the top bin: (1 - 0.1) ln(1 / 0.1) + 9 bins of (1e-4 - 0.1) ln(1e-4 / 0.1)
    top = 0.9 * math.log(10) + 9 * (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    assert by_name["x"] == pytest.approx(top, rel=1e-3)
    g = {row["group"]: row for row in groups}
    assert g["g"]["psi"] == pytest.approx(by_name["x"] / 2)  # mean of its features
    assert g["g"]["worst_feature"] == "x"
    assert g["h"]["psi"] == pytest.approx(0.5 * math.log(2) + (1e-4 - 0.5) * math.log(2e-4))


def test_a_calendar_feature_drifts_without_an_alert_or_a_share_of_its_group() -> None:
    """The simulated month raised feature_drift in its first week, before any shift: the share
    of open invoices issued at a quarter end moves with the day of the year (PSI 0.32 on day 1,
    0.88 on day 7). Calendar features are listed and marked, never alerted on."""
    from models.monitoring.alerts import alert_list
    from models.monitoring.limits import Thresholds

    rng = np.random.default_rng(0)
    reference_rows = pd.DataFrame(
        {"issue_quarter_end": rng.random(2000) < 0.1, "tenure_days": rng.normal(500, 50, 2000)}
    )
    today = pd.DataFrame(  # half the open invoices issued at a quarter end, tenure shifted too
        {"issue_quarter_end": rng.random(500) < 0.5, "tenure_days": rng.normal(700, 50, 500)}
    )
    references = {name: describe_column(reference_rows[name]) for name in reference_rows}
    groups = {"issue_quarter_end": "billing", "tenure_days": "relationship"}
    features, by_group = feature_psi(references, today, groups)
    drift = {name["feature"]: name for name in features}
    assert drift["issue_quarter_end"]["seasonal"] and drift["issue_quarter_end"]["psi"] > 0.25
    assert not drift["tenure_days"]["seasonal"] and drift["tenure_days"]["psi"] > 0.25
    assert [g["group"] for g in by_group] == ["relationship"]  # billing had only the calendar
    report = {
        "drift": {
            "available": True,
            "rows": 500,
            "features": features,
            "groups": by_group,
            "score": {"psi": 0.0},
        }
    }
    alerts = [a for a in alert_list(report, Thresholds()) if a["kind"] == "feature_drift"]
    assert [a["feature"] for a in alerts] == ["tenure_days"]
    assert set(alerts[0]) == {"kind", "feature", "group", "psi"}  # what the page lists
