"""Exact SHAP explanations of the served model, and plain-language reasons.

Contributions are TreeSHAP values of the booster on the **log-odds** scale (LightGBM's
``pred_contrib``, identical to ``shap.TreeExplainer`` on the same booster; large batches run it
once per distinct case of each tree, see :mod:`models.treeshap`): for every invoice,
``base + sum(contributions) == raw score``.

Effects in **probability points** are derived so that they add up exactly to the calibrated
score: with ``p = calibrated(raw)`` and ``p0 = calibrated(base)``, each feature gets
``effect_i = contribution_i / sum(contributions) * (p - p0)``. The calibrator is monotone, so an
effect has the sign of its contribution (but see *cancelling contributions* below), and
``p0 + sum(effects) == p``.

Two degenerate cases, both possible with an **isotonic** calibrator (a step function):

- *Flat step*: ``p == p0`` although the contributions do not sum to 0 (raw and base fall on the
  same step). Every effect is then exactly 0 -- the calibrated score did not move -- but the
  reasons are still listed: invoice reasons rank by contribution, and account reasons rank by
  effect and then by the amount-weighted contribution, so an account whose invoices have any
  non-zero contribution always gets reasons.
- *Cancelling contributions*: ``|sum(contributions)| <= 1e-12`` while ``p != p0`` (raw and base
  straddle a step). The ratio above is undefined, so ``p - p0`` is split by shares of
  ``|contribution_i|``; the effects still add up to ``p - p0``.

An **account**'s risk is the mean of its open invoices' probabilities weighted by their open
amounts; its effects are the same weighted mean of the invoices' effects, so the account view is
the invoices' views summed up and can never contradict them.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass, replace
from functools import cache

import numpy as np
import pandas as pd

from features.build import row_count
from features.catalogue import GROUPS, Feature, describe
from models.encoding import FeatureTable
from models.model import LatePaymentModel
from models.treeshap import grouped_contrib

TOP_REASONS = 5
CANCELLED = 1e-12
"""Contributions summing to less than this (in log-odds) are taken to cancel out."""
SERIAL_ROWS = 256
"""Up to this many rows LightGBM explains the batch directly, on one thread; larger batches go
through :func:`models.treeshap.grouped_contrib` (same values, ~10x faster at 100,000 rows)."""


@dataclass(frozen=True)
class Explanation:
    """Per-invoice SHAP values (log-odds) and probability-point effects, features in model order."""

    features: list[str]
    base_raw: float
    contributions: np.ndarray  # (n, f) log-odds
    raw: np.ndarray  # (n,)
    p_base: float
    p: np.ndarray  # (n,) calibrated
    effects: np.ndarray  # (n, f) probability points

    def take(self, rows: list[int] | np.ndarray) -> Explanation:
        """The explanation of some rows only (by position)."""
        return replace(
            self,
            contributions=self.contributions[rows],
            raw=self.raw[rows],
            p=self.p[rows],
            effects=self.effects[rows],
        )

    def grouped(self, values: np.ndarray) -> pd.DataFrame:
        """Sum columns of ``values`` by business reason group."""
        groups = [describe(f).group for f in self.features]
        return pd.DataFrame(values, columns=self.features).T.groupby(groups, sort=False).sum().T


def contributions(model: LatePaymentModel, frame: FeatureTable) -> tuple[np.ndarray, float]:
    """Exact TreeSHAP values (n, f) on the log-odds scale and the base value."""
    matrix = model.encoder.transform(frame)
    if not len(matrix):  # still report the base value for an empty batch
        matrix = np.full((1, len(model.features)), np.nan)
        return np.zeros((0, len(model.features))), float(_contrib(model, matrix)[0, -1])
    values = _contrib(model, matrix)
    base = float(values[0, -1])
    return values[:, :-1], base


def _contrib(model: LatePaymentModel, matrix: np.ndarray) -> np.ndarray:
    if len(matrix) > SERIAL_ROWS:
        return grouped_contrib(model.booster, matrix)
    # OpenMP start-up dwarfs TreeSHAP on a few rows (10 ms vs 0.4 ms for one): one thread
    return np.asarray(model.booster.predict(matrix, pred_contrib=True, num_threads=1))


def explain(model: LatePaymentModel, frame: FeatureTable) -> Explanation:
    """Contributions and probability effects of every row of a feature frame."""
    values, base = contributions(model, frame)
    raw = base + values.sum(axis=1)
    # one calibrator call for the rows and the base: its fixed cost exceeds a small batch's
    calibrated = model.calibrator.predict(np.append(raw, base))
    p, p_base = calibrated[:-1], float(calibrated[-1])
    effects = probability_effects(values, p - p_base)
    return Explanation(model.features, base, values, raw, p_base, p, effects)


def probability_effects(values: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Split each row's change in probability ``delta`` over its log-odds contributions.

    Proportional to the contributions; by shares of ``|contribution|`` where they cancel out
    (see the module docstring). Each row of the result sums to its ``delta``.
    """
    total = values.sum(axis=1)
    absolute = np.abs(values).sum(axis=1)
    cancelled = np.abs(total) <= CANCELLED
    with np.errstate(divide="ignore", invalid="ignore"):
        proportional = values * np.where(cancelled, 0.0, delta / total)[:, None]
        by_share = np.abs(values) * np.where(absolute > 0, delta / absolute, 0.0)[:, None]
    return np.where(cancelled[:, None], by_share, proportional)


@cache
def _fields(template: str) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(name for _, name, _, _ in string.Formatter().parse(template) if name)
    )


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _sentence(entry: Feature, value: object, fields: dict[str, object]) -> str:
    """The sentence of one feature given its value and the values its template names."""
    if entry.absent and (_missing(value) or value == 0):
        return entry.absent
    if any(_missing(v) for v in fields.values()):
        return f"{entry.description}: not known yet"
    try:
        return entry.template.format(**fields)
    except (ValueError, TypeError):
        return f"{entry.description}: {value}"


def sentence(feature: str, row: pd.Series) -> str:
    """The catalogue's plain-language sentence for one feature of one invoice."""
    entry = describe(feature)
    fields = {name: row.get(name) for name in _fields(entry.template)}
    return _sentence(entry, row.get(feature), fields)


def top_reasons(
    explanation: Explanation, frame: FeatureTable, top: int = TOP_REASONS
) -> pd.DataFrame:
    """The top reasons of every row, one per business group, largest |contribution| first.

    Returns:
        Long form: ``row, rank, group, reason, feature, value, contribution, effect, direction,
        text``; ``feature`` is the group's leading feature (largest contribution of the group's
        sign), ``contribution`` and ``effect`` are the group's totals.
    """
    return pd.DataFrame(reason_columns(explanation, frame, top))


def reason_columns(
    explanation: Explanation, frame: FeatureTable, top: int = TOP_REASONS
) -> dict[str, np.ndarray | list[object]]:
    """:func:`top_reasons` as columns, without the frame (for a few online invoices)."""
    names, members = _group_members(tuple(explanation.features))
    contrib = explanation.contributions
    g_contrib = np.column_stack([contrib[:, m].sum(axis=1) for m in members])
    g_effect = np.column_stack([explanation.effects[:, m].sum(axis=1) for m in members])
    leads = np.column_stack(
        [
            m[
                np.argmax(
                    np.abs(contrib[:, m]) * (np.sign(contrib[:, m]) == np.sign(g_contrib[:, [k]])),
                    axis=1,
                )
            ]
            for k, m in enumerate(members)
        ]
    )
    order = np.argsort(-np.abs(g_contrib), axis=1, kind="stable")[:, :top]
    rows = np.repeat(np.arange(len(contrib)), order.shape[1])
    chosen = order.ravel()
    keep = g_contrib[rows, chosen] != 0
    rows, chosen = rows[keep], chosen[keep]
    features = np.array(explanation.features, dtype=object)[leads[rows, chosen]]
    contribution = g_contrib[rows, chosen]
    values, texts = _values_and_sentences(frame, rows, features)
    return {
        "row": rows,
        "rank": _ranks(rows),
        "group": np.array(names, dtype=object)[chosen],
        "feature": features,
        "contribution": contribution,
        "effect": g_effect[rows, chosen],
        "reason": np.array([GROUPS.get(g, g) for g in names], dtype=object)[chosen],
        "direction": np.where(contribution > 0, "raises risk", "lowers risk"),
        "value": values,
        "text": texts,
    }


@cache
def _group_members(features: tuple[str, ...]) -> tuple[list[str], list[np.ndarray]]:
    """Business groups in first-seen order and the feature positions of each."""
    groups = [describe(f).group for f in features]
    names = list(dict.fromkeys(groups))
    return names, [np.array([i for i, g in enumerate(groups) if g == name]) for name in names]


def _ranks(rows: np.ndarray) -> np.ndarray:
    """1, 2, ... within each run of equal (sorted) ``rows``."""
    if not len(rows):
        return np.zeros(0, dtype="int64")
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    lengths = np.diff(np.r_[starts, len(rows)])
    return np.arange(len(rows)) - np.repeat(starts, lengths) + 1


def _values_and_sentences(
    frame: FeatureTable, rows: np.ndarray, features: np.ndarray
) -> tuple[list[object], list[str]]:
    """Each (row, feature) pair's plain value and catalogue sentence.

    Every needed column is pulled out once as an object array; the sentences are then formatted
    in plain Python, feature by feature (a pandas row per sentence costs ~100 times more).
    """
    columns: dict[str, np.ndarray] = {}
    plain: dict[str, np.ndarray] = {}
    n = row_count(frame)

    def column(name: str) -> np.ndarray:
        if name not in columns:
            values = frame[name] if name in frame else np.full(n, None, dtype=object)
            columns[name] = (
                values.to_numpy(dtype=object)
                if isinstance(values, pd.Series)
                else np.asarray(values, dtype=object)
            )
        return columns[name]

    def plain_column(name: str) -> np.ndarray:
        if name not in plain:
            values = column(name)
            if name in frame and isinstance(frame[name].dtype, np.dtype):
                values = values.copy()  # numpy columns already give Python scalars
                values[pd.isna(values)] = None
            else:
                values = np.array([_plain(v) for v in values] + [None], dtype=object)[:-1]
            plain[name] = values
        return plain[name]

    values = np.empty(len(rows), dtype=object)
    texts = np.empty(len(rows), dtype=object)
    codes, uniques = pd.factorize(np.asarray(features, dtype=object))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    for i, feature in enumerate(uniques):
        positions = order[bounds[i] : bounds[i + 1]]
        picked = rows[positions]
        own = column(feature)[picked]
        values[positions] = plain_column(feature)[picked]
        texts[positions] = _feature_sentences(
            describe(feature),
            own,
            {n: column(n)[picked] for n in _fields(describe(feature).template)},
        )
    return values.tolist(), texts.tolist()


def _feature_sentences(
    entry: Feature, own: np.ndarray, fields: dict[str, np.ndarray]
) -> np.ndarray:
    """:func:`_sentence` for many values of one feature: the absent and not-known cases by
    masks, the template formatted positionally for the rest."""
    out = np.empty(len(own), dtype=object)
    done = np.zeros(len(own), dtype=bool)
    if entry.absent:
        missing = pd.isna(own)
        zero = np.zeros(len(own), dtype=bool)
        zero[~missing] = np.asarray(own[~missing] == 0, dtype=bool)
        done = missing | zero
        out[done] = entry.absent
    if fields:
        unknown = ~done & np.logical_or.reduce([pd.isna(v) for v in fields.values()])
        out[unknown] = f"{entry.description}: not known yet"
        done |= unknown
    rest = np.flatnonzero(~done)
    template = _positional(entry.template)
    columns = [v[rest] for v in fields.values()]
    formatted = []
    for value, *args in zip(own[rest], *columns, strict=True):
        try:
            formatted.append(template.format(*args))
        except (ValueError, TypeError):
            formatted.append(f"{entry.description}: {value}")
    out[rest] = formatted
    return out


@cache
def _positional(template: str) -> str:
    """The template with its named fields numbered in :func:`_fields` order."""
    names = _fields(template)
    parts = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        parts.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is not None:
            field = str(names.index(name)) + (f"!{conversion}" if conversion else "")
            parts.append("{" + field + (f":{spec}" if spec else "") + "}")
    return "".join(parts)


def invoice_reasons(
    explanation: Explanation, frame: pd.DataFrame, row: int, top: int = TOP_REASONS
) -> list[dict[str, object]]:
    """Top reasons of one invoice (see :func:`top_reasons`); only that row is worked out."""
    reasons = top_reasons(explanation.take([row]), frame.iloc[[row]], top)
    return [dict(r) for r in reasons.drop(columns=["row"]).to_dict("records")]


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def open_amounts(frame: FeatureTable) -> np.ndarray:
    """What is still owed on each invoice at its as-of date."""
    paid_share = np.asarray(frame["paid_share"], dtype="float64")
    amount = np.asarray(frame["amount"], dtype="float64")
    return amount * (1 - np.where(np.isnan(paid_share), 0.0, paid_share))


def account_view(explanation: Explanation, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per customer: risk, expected amount at risk and grouped effects.

    Risk and effects are open-amount-weighted means over the customer's invoices, so
    ``p_base + sum(effects) == risk`` for every account.
    """
    owed = open_amounts(frame)
    effects = explanation.grouped(explanation.effects)
    keyed = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy(),
            "owed": owed,
            "weighted_p": explanation.p * owed,
        }
    )
    weighted_effects = effects.mul(owed, axis=0)
    weighted_effects["customer_id"] = frame["customer_id"].to_numpy()
    sums = keyed.groupby("customer_id", sort=False).agg(
        owed=("owed", "sum"), weighted_p=("weighted_p", "sum"), invoices=("owed", "size")
    )
    group_sums = weighted_effects.groupby("customer_id", sort=False).sum()
    denominator = sums["owed"].where(sums["owed"] > 0)
    accounts = pd.DataFrame(
        {
            "open_amount": sums["owed"],
            "open_invoices": sums["invoices"],
            "risk": sums["weighted_p"] / denominator,
            "amount_at_risk": sums["weighted_p"],
        }
    )
    return accounts.join(group_sums.div(denominator, axis=0).add_prefix("effect."))


def account_contributions(explanation: Explanation, frame: pd.DataFrame) -> pd.DataFrame:
    """Per customer and business group: the open-amount-weighted mean log-odds contribution.

    Ranks account reasons where the probability effects are all 0 (a flat calibrator step).
    """
    owed = open_amounts(frame)
    weighted = explanation.grouped(explanation.contributions).mul(owed, axis=0)
    customers = frame["customer_id"].to_numpy()
    sums = weighted.groupby(customers, sort=False).sum()
    total = pd.Series(owed).groupby(customers, sort=False).sum()
    return sums.div(total.where(total > 0), axis=0).rename_axis("customer_id")


def shap_figures(
    model: LatePaymentModel, frame: pd.DataFrame, max_rows: int = 1000, seed: int = 0
) -> dict[str, object]:
    """Global SHAP plots (beeswarm, mean |SHAP| bar), overall and per segment when known."""
    import matplotlib.pyplot as plt
    import shap

    sample = frame.sample(min(max_rows, len(frame)), random_state=seed) if len(frame) else frame
    figures: dict[str, object] = {}
    slices = {"all": sample}
    if "segment" in sample and sample["segment"].notna().any():
        for segment, part in sample.groupby("segment"):
            if len(part) >= 30:
                slices[f"segment-{segment}"] = part
    for name, part in slices.items():
        values, base = contributions(model, part)
        exp = shap.Explanation(
            values=values,
            base_values=np.full(len(part), base),
            data=model.encoder.transform(part),
            feature_names=model.features,
        )
        for kind, draw in (("beeswarm", shap.plots.beeswarm), ("bar", shap.plots.bar)):
            plt.figure()
            draw(exp, max_display=15, show=False)
            figure = plt.gcf()
            figure.suptitle(f"SHAP {kind} ({name}, log-odds of late)", fontsize=10)
            figures[f"shap/{kind}-{name}.png"] = figure
    return figures
