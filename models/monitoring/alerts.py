"""The alert list: ``{"kind": "feature_drift", "feature": ..., "psi": ...}``."""

from __future__ import annotations

from typing import Any

from models.monitoring.limits import Thresholds


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and value == value


def alert_list(report: dict[str, Any], limits: Thresholds) -> list[dict[str, Any]]:
    """Every threshold the report crosses, in the order of the report's sections."""
    alerts: list[dict[str, Any]] = []
    drift = report.get("drift") or {}
    if drift.get("available") and drift.get("rows", 0) >= limits.min_rows:
        for row in drift["features"]:
            if row["psi"] >= limits.feature_psi and not row.get("seasonal"):
                named = {k: row[k] for k in ("feature", "group", "psi")}
                alerts.append({"kind": "feature_drift", **named})
        for row in drift["groups"]:
            if row["psi"] >= limits.group_psi:
                alerts.append({"kind": "group_drift", "group": row["group"], "psi": row["psi"]})
        if drift["score"]["psi"] >= limits.score_psi:
            alerts.append({"kind": "score_drift", "psi": drift["score"]["psi"]})
    quality = report.get("quality") or {}
    for name, table in (quality.get("quarantine") or {}).get("tables", {}).items():
        if table["rate"] > limits.quarantine_rate:
            alerts.append({"kind": "quarantine", "table": name, "rate": table["rate"]})
    if quality.get("missing_columns"):
        alerts.append({"kind": "missing_columns", "columns": quality["missing_columns"]})
    performance = report.get("performance") or {}
    expected = performance.get("reference") or {}
    cohorts = performance.get("cohorts") or []
    matured = [c for c in cohorts if c.get("realised")]
    if matured and _finite(expected.get("roc_auc")):
        last = matured[-1]
        auc, ece = last["realised"]["roc_auc"], last["realised"]["ece"]
        if _finite(auc) and auc < expected["roc_auc"] - limits.auc_drop:
            alerts.append(
                {
                    "kind": "performance_drop",
                    "as_of": last["as_of"],
                    "roc_auc": auc,
                    "expected": expected["roc_auc"],
                }
            )
        if _finite(ece) and ece > expected["ece"] + limits.ece_rise:
            alerts.append({"kind": "calibration", "as_of": last["as_of"], "ece": ece})
    today = performance.get("today") or {}
    if (
        _finite(today.get("roc_auc"))
        and _finite(expected.get("roc_auc"))
        and today["roc_auc"] < expected["roc_auc"] - limits.auc_drop
    ):
        alerts.append(
            {
                "kind": "estimated_performance_drop",
                "roc_auc": today["roc_auc"],
                "expected": expected["roc_auc"],
            }
        )
    for row in report.get("just_due") or []:
        if (
            row["invoices"] >= limits.lateness_min
            and row["observed"] - row["expected"] >= limits.lateness_gap
            and _finite(row["z"])
            and row["z"] >= limits.lateness_z
        ):
            alerts.append({"kind": "segment_lateness", **row})
    for row in report.get("paydates") or []:
        if row["coverage"] is not None and row["coverage"] < limits.min_coverage:
            alerts.append(
                {"kind": "paydate_coverage", "origin": row["origin"], "coverage": row["coverage"]}
            )
        if _finite(row["wape"]) and row["wape"] > limits.max_wape:
            alerts.append({"kind": "forecast_error", "origin": row["origin"], "wape": row["wape"]})
    accounts = report.get("accounts") or []
    if accounts:
        alerts.append(
            {
                "kind": "deteriorating_accounts",
                "accounts": len({a["customer_id"] for a in accounts}),
            }
        )
    return alerts
