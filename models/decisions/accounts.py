"""Accounts: the invoices' scores and explanations summed up per customer.

An account's risk is the mean of its not-yet-due invoices' probabilities weighted by what is
still owed on each; its effects are the same weighted means of the invoices' effects, so
``p_base + sum(effects) == risk`` and the account view can never contradict its invoices.

The amounts mean what they mean for an invoice, summed: ``open_amount`` is all that is
still owed, ``not_yet_due_amount`` and ``overdue_amount`` split it, and
``amount_at_risk`` is the sum of the invoices' ``p_late x open_amount``, in which an overdue
invoice counts in full (its ``p_late`` is 1); see ``models.decisions.frames.AMOUNT_FIELDS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.catalogue import GROUPS
from models.decisions.bands import OVERDUE, risk_band
from models.explain.effects import Explanation

if TYPE_CHECKING:
    from models.decisions.scoring import RowScores


def account_view(explanation: Explanation, customers: np.ndarray, owed: np.ndarray) -> pd.DataFrame:
    """One row per customer of the explained (not-yet-due) invoices: risk, what they owe and
    its amount at risk, grouped effects.

    Args:
        customers, owed: each explained invoice's customer and open amount.
    """
    effects = explanation.grouped(explanation.effects)
    keyed = pd.DataFrame(
        {"customer_id": customers, "owed": owed, "weighted_p": explanation.p * owed}
    )
    weighted_effects = effects.mul(owed, axis=0)
    weighted_effects["customer_id"] = customers
    sums = keyed.groupby("customer_id", sort=False).agg(
        owed=("owed", "sum"), weighted_p=("weighted_p", "sum"), invoices=("owed", "size")
    )
    group_sums = weighted_effects.groupby("customer_id", sort=False).sum()
    denominator = sums["owed"].where(sums["owed"] > 0)
    accounts = pd.DataFrame(
        {
            "not_yet_due_amount": sums["owed"],
            "open_invoices": sums["invoices"],
            "risk": sums["weighted_p"] / denominator,
            "amount_at_risk_not_yet_due": sums["weighted_p"],
        }
    )
    return accounts.join(group_sums.div(denominator, axis=0).add_prefix("effect."))


def account_contributions(
    explanation: Explanation, customers: np.ndarray, owed: np.ndarray
) -> pd.DataFrame:
    """Per customer and business group: the open-amount-weighted mean log-odds contribution.

    Ranks account reasons where the probability effects are all 0 (a flat calibrator step).
    """
    weighted = explanation.grouped(explanation.contributions).mul(owed, axis=0)
    sums = weighted.groupby(customers, sort=False).sum()
    total = pd.Series(owed).groupby(customers, sort=False).sum()
    return sums.div(total.where(total > 0), axis=0).rename_axis("customer_id")


def account_scores(
    frame: pd.DataFrame, scores: RowScores, invoice_reasons: pd.DataFrame, top: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Account scores and account reasons of a scored batch.

    Args:
        frame: the feature rows; ``scores``: the core's result for them.
        invoice_reasons: the invoices' reasons in long form (``row``, ``key`` = invoice_id).

    Returns:
        (accounts, reasons in long form with ``key`` = customer_id)
    """
    customers = frame["customer_id"].to_numpy()
    ahead = scores.ahead
    owed = scores.open_amount
    explanation = scores.explanation
    assert explanation is not None, "a batch is always explained"
    accounts = account_view(explanation, customers[ahead], owed[ahead]).reset_index()
    late = pd.Series(owed[scores.overdue]).groupby(customers[scores.overdue])
    overdue = pd.DataFrame({"overdue_amount": late.sum(), "overdue_invoices": late.size()})
    accounts = accounts.merge(
        overdue.rename_axis("customer_id").reset_index(), on="customer_id", how="outer"
    )
    accounts = accounts.fillna(
        {
            "overdue_amount": 0.0,
            "not_yet_due_amount": 0.0,
            "amount_at_risk_not_yet_due": 0.0,
            "open_invoices": 0,
            "overdue_invoices": 0,
        }
    ).astype({"open_invoices": "int64", "overdue_invoices": "int64"})
    accounts["open_invoices"] += accounts.pop("overdue_invoices")  # every open invoice
    accounts["open_amount"] = accounts["not_yet_due_amount"] + accounts["overdue_amount"]
    accounts["amount_at_risk"] = accounts["amount_at_risk_not_yet_due"] + accounts["overdue_amount"]
    accounts["risk_band"] = np.where(
        accounts["risk"].notna(), risk_band(accounts["risk"].fillna(0).to_numpy()), OVERDUE
    )
    weights = pd.DataFrame({"customer_id": customers[ahead], "open_amount": owed[ahead]})
    reasons = _account_reasons(
        accounts,
        account_contributions(explanation, customers[ahead], owed[ahead]),
        _with_weights(invoice_reasons, ahead, weights),
        top,
    )
    summary = reasons[reasons["rank"] == 1].set_index("customer_id")["text"]
    accounts["top_reason"] = accounts["customer_id"].map(summary)
    return accounts, reasons.rename(columns={"customer_id": "key"})


def _with_weights(reasons: pd.DataFrame, ahead: np.ndarray, weights: pd.DataFrame) -> pd.DataFrame:
    """The invoice reasons with their invoice's customer and open amount (not-yet-due only)."""
    position = pd.Series(np.arange(len(ahead)), index=ahead)
    at = position.reindex(reasons["row"].to_numpy()).to_numpy()
    known = ~np.isnan(at)
    out = reasons.assign(customer_id=None, open_amount=np.nan)
    rows = at[known].astype("int64")
    out.loc[known, "customer_id"] = weights["customer_id"].to_numpy()[rows]
    out.loc[known, "open_amount"] = weights["open_amount"].to_numpy()[rows]
    return out


def _account_reasons(
    accounts: pd.DataFrame, contributions: pd.DataFrame, invoice_reasons: pd.DataFrame, top: int
) -> pd.DataFrame:
    """Account reasons: the groups with the largest amount-weighted effects, each told with the
    sentence of the account's invoice where that group weighs most.

    Ties in effect -- all of them when a flat isotonic step leaves every effect at 0 -- are
    ranked by the amount-weighted log-odds contribution (``contributions``, customers x groups),
    which is also what the reason's ``contribution`` and, for a zero effect, direction report.
    """
    effects = accounts.set_index("customer_id").filter(like="effect.")
    long = effects.stack().rename("effect").reset_index()
    long.columns = ["customer_id", "group", "effect"]
    long["group"] = long["group"].str.removeprefix("effect.")
    contrib = contributions.stack().rename("contribution").reset_index()
    contrib.columns = ["customer_id", "group", "contribution"]
    long = long.merge(contrib, on=["customer_id", "group"], how="left")
    long = long[(long["effect"] != 0) | (long["contribution"].fillna(0) != 0)]
    long = long.assign(
        magnitude=long["effect"].abs(), weight=long["contribution"].abs()
    ).sort_values(["customer_id", "magnitude", "weight"], ascending=[True, False, False])
    long["rank"] = long.groupby("customer_id").cumcount() + 1
    long = long[long["rank"] <= top].drop(columns=["magnitude", "weight"])
    long["reason"] = long["group"].map(lambda g: GROUPS.get(g, g))
    raises = np.where(long["effect"] != 0, long["effect"] > 0, long["contribution"] > 0)
    long["direction"] = np.where(raises, "raises risk", "lowers risk")
    weighed = invoice_reasons.dropna(subset=["customer_id"]).assign(
        weight=lambda f: (f["effect"] * f["open_amount"]).abs(),
        tie=lambda f: (f["contribution"] * f["open_amount"]).abs(),
    )
    strongest = weighed.sort_values(["weight", "tie"], ascending=False).drop_duplicates(
        ["customer_id", "group"]
    )
    long = long.merge(
        strongest[["customer_id", "group", "text", "feature", "value"]],
        on=["customer_id", "group"],
        how="left",
    )
    long["text"] = long["text"].fillna(long["reason"])
    return long.reset_index(drop=True)
