"""Population stability: the PSI of a feature (or the score) against a training reference.

Numeric values are binned at the reference's deciles (values beyond the outer edges fall in the
outer bins); text values by level, a level the reference never saw in one "other" bin. Missing
values are a bin of their own in both. ``PSI = sum((a - e) * ln(a / e))`` over the bins, the
proportions floored at :data:`FLOOR` so an empty bin counts without an infinite term.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.catalogue import describe

QUANTILES = np.linspace(0, 1, 11)[1:-1]
FLOOR = 1e-4
OTHER = "(other)"


def numeric_edges(values: np.ndarray) -> list[float]:
    """The distinct inner decile edges of the non-missing ``values``."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return []
    return sorted({float(v) for v in np.quantile(finite, QUANTILES)})


def _numeric(values: Any) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy("float64", na_value=np.nan)


def numeric_shares(values: Any, edges: list[float]) -> np.ndarray:
    """Shares of the bins ``(-inf, e1), [e1, e2), ..., [ek, inf)`` and, last, of the missing."""
    x = _numeric(values)
    missing = ~np.isfinite(x)
    which = np.searchsorted(np.asarray(edges, dtype="float64"), x[~missing], side="right")
    counts = np.bincount(which, minlength=len(edges) + 1).astype("float64")
    return _shares(np.append(counts, missing.sum()))


def categorical_shares(values: Any, levels: list[str]) -> np.ndarray:
    """Shares of each of ``levels``, of any other level, and, last, of the missing."""
    series = pd.Series(values, dtype="object")
    missing = series.isna().to_numpy()
    text = series[~missing].astype(str)
    known = pd.Categorical(text.where(text.isin(levels), OTHER), categories=[*levels, OTHER])
    counts = pd.Series(known).value_counts(sort=False).to_numpy("float64")
    return _shares(np.append(counts, missing.sum()))


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else counts


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of ``actual`` bin shares against ``expected`` ones."""
    e = np.maximum(np.asarray(expected, dtype="float64"), FLOOR)
    a = np.maximum(np.asarray(actual, dtype="float64"), FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def is_numeric(values: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values))


def describe_column(values: pd.Series) -> dict[str, Any]:
    """A column's reference: its bins and their shares (JSON-ready)."""
    if is_numeric(values):
        edges = numeric_edges(_numeric(values))
        return {
            "kind": "numeric",
            "edges": edges,
            "shares": numeric_shares(values, edges).tolist(),
        }
    counts = values.dropna().astype(str).value_counts()
    levels = sorted(counts.index.tolist())
    return {
        "kind": "categorical",
        "levels": levels,
        "shares": categorical_shares(values, levels).tolist(),
    }


def shares_like(reference: dict[str, Any], values: Any) -> np.ndarray:
    """``values`` binned as ``reference`` was."""
    if reference["kind"] == "numeric":
        return numeric_shares(values, reference["edges"])
    return categorical_shares(values, reference["levels"])


def column_psi(reference: dict[str, Any], values: Any) -> float:
    """The PSI of ``values`` against a column's reference (:func:`describe_column`)."""
    return psi(np.asarray(reference["shares"]), shares_like(reference, values))


def feature_psi(
    references: dict[str, dict[str, Any]], frame: pd.DataFrame, groups: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """PSI of every referenced feature in ``frame``, and per reason group.

    A group's PSI is the mean of its features' (its worst feature named beside it): the drift of
    the business reason as a whole, which one feature's noise does not decide alone. Calendar
    features (``seasonal`` in the catalogue) are listed, marked, and left out of their group:
    their shares move with the day of the year.

    Returns:
        (features, largest PSI first; groups, largest mean first)
    """
    rows: list[dict[str, Any]] = [
        {
            "feature": name,
            "group": groups.get(name, "ledger"),
            "psi": column_psi(ref, frame[name]),
            "seasonal": describe(name).seasonal,
        }
        for name, ref in references.items()
        if name in frame
    ]
    rows.sort(key=lambda r: -r["psi"])
    by_group: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if not row["seasonal"]:
            by_group.setdefault(row["group"], []).append(row)
    summary = [
        {
            "group": group,
            "psi": float(np.mean([m["psi"] for m in members])),
            "max_psi": members[0]["psi"],
            "worst_feature": members[0]["feature"],
            "features": len(members),
        }
        for group, members in by_group.items()
    ]
    summary.sort(key=lambda g: -g["psi"])
    return rows, summary
