"""The monitor flow's wiring that a test can reach without a server: which alerts retrain."""

from __future__ import annotations

from pipelines.monitor import retrain_kinds


def test_only_the_configured_alert_kinds_start_a_retrain() -> None:
    report = {
        "alerts": [{"kind": "feature_drift"}, {"kind": "quarantine"}, {"kind": "feature_drift"}]
    }
    assert retrain_kinds(report, []) == []  # the default: never
    assert retrain_kinds(report, ["performance_drop"]) == []
    assert retrain_kinds(report, ["feature_drift", "performance_drop"]) == ["feature_drift"]
