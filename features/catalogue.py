"""The feature catalogue: every feature declared once, with its meaning and its reason sentence.

Reason templates are ``str.format`` strings over the feature row, used by the explanations to say
in words why an invoice was scored as it was. ``group`` bundles related features into one
business reason; ``monotone`` is +1 where more of the feature can only mean more risk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CATALOGUE_VERSION = "3"
WINDOWS: tuple[int | None, ...] = (90, 180, 365, None)
"""History windows in days (by settlement date); ``None`` is all time."""


@dataclass(frozen=True)
class Feature:
    name: str
    description: str
    unit: str
    group: str
    template: str
    kind: Literal["numeric", "categorical"] = "numeric"
    monotone: int = 0
    absent: str = ""
    """Sentence when the value is 0 or missing (flags, empty history); default: the template."""
    negative: str = ""
    """Sentence when the value is negative, formatted with the template's fields negated (a
    ``days_until_due`` of -8: "8 days past due"); default: the template."""
    needs: str = ""
    """The optional ledger column (``table.column``) or table it is computed from: a ledger
    without it trains a model without this feature, instead of one that reads "not known"."""
    seasonal: bool = False
    """Follows the calendar (month or quarter end, weekday of issue): the share of open
    invoices it marks moves with the day of the year, not with how customers pay, so the
    monitor shows its drift but raises no alert on it."""


GROUPS: dict[str, str] = {
    "late_history": "late-payment history",
    "payment_speed": "speed of payment",
    "history_depth": "length of payment history",
    "exposure": "open balance",
    "overdue": "overdue balance",
    "invoice_size": "size of the invoice",
    "terms": "payment terms and timing",
    "dispute": "dispute",
    "billing": "billing details",
    "relationship": "customer relationship",
    "profile": "customer profile",
    "ledger": "extra ledger fields",
}


def window_suffix(window: int | None) -> str:
    return "all" if window is None else f"{window}d"


def _window_phrase(window: int | None) -> str:
    return "ever" if window is None else f"in the last {window} days"


def _history_features() -> list[Feature]:
    out: list[Feature] = []
    for w in WINDOWS:
        s, when = window_suffix(w), _window_phrase(w)
        out += [
            Feature(
                f"settled_count_{s}",
                f"invoices settled {when}",
                "invoices",
                "history_depth",
                f"{{settled_count_{s}:.0f}} invoices settled {when}",
            ),
            Feature(
                f"late_count_{s}",
                f"invoices settled late {when}",
                "invoices",
                "late_history",
                f"paid {{late_count_{s}:.0f}} of {{settled_count_{s}:.0f}} invoices late {when}",
                monotone=1,
            ),
            Feature(
                f"late_share_{s}",
                f"share of invoices settled {when} that were late",
                "share",
                "late_history",
                f"paid {{late_share_{s}:.0%}} of invoices late {when}",
                monotone=1,
            ),
            Feature(
                f"mean_days_late_{s}",
                f"mean days late of invoices settled {when}",
                "days",
                "late_history",
                f"paid {{mean_days_late_{s}:.1f}} days late on average {when}",
                monotone=1,
            ),
            Feature(
                f"max_days_late_{s}",
                f"most days late of an invoice settled {when}",
                "days",
                "late_history",
                f"paid up to {{max_days_late_{s}:.0f}} days late {when}",
                monotone=1,
            ),
            Feature(
                f"amount_late_share_{s}",
                f"share of the amount settled {when} that was late",
                "share",
                "late_history",
                f"{{amount_late_share_{s}:.0%}} of the amount settled {when} was paid late",
                monotone=1,
            ),
            Feature(
                f"mean_days_to_pay_{s}",
                f"mean days from issue to payment {when}",
                "days",
                "payment_speed",
                f"took {{mean_days_to_pay_{s}:.0f}} days to pay on average {when}",
            ),
        ]
        if w in (365, None):
            out.append(
                Feature(
                    f"std_days_to_pay_{s}",
                    f"spread (std) of days to pay {when}",
                    "days",
                    "payment_speed",
                    f"days to pay varied by {{std_days_to_pay_{s}:.0f}} days {when}",
                )
            )
    return out


_OTHER_FEATURES: list[Feature] = [
    Feature(
        "late_share_trend",
        "late share in the last 90 days minus the last 365 days",
        "share",
        "late_history",
        "late share moved {late_share_trend:+.0%} in the last 90 days vs the year",
    ),
    Feature(
        "days_late_trend",
        "mean days late in the last 90 days minus the last 365 days",
        "days",
        "late_history",
        "days late moved {days_late_trend:+.1f} in the last 90 days vs the year",
    ),
    Feature(
        "days_since_last_late",
        "days since the customer last paid an invoice late",
        "days",
        "late_history",
        "last paid late {days_since_last_late:.0f} days ago",
        absent="never paid late",
    ),
    Feature(
        "on_time_streak",
        "invoices paid on time since the last late one",
        "invoices",
        "late_history",
        "paid the last {on_time_streak:.0f} invoices on time",
    ),
    Feature(
        "days_since_last_payment",
        "days since the customer last settled an invoice",
        "days",
        "payment_speed",
        "last settled an invoice {days_since_last_payment:.0f} days ago",
    ),
    Feature(
        "days_late_last",
        "days late of the customer's most recently settled invoice (the slowest, when several "
        "settled that day)",
        "days",
        "late_history",
        "paid the last settled invoice {days_late_last:.0f} days after its due date",
        monotone=1,
    ),
    Feature(
        "days_to_pay_last",
        "days from issue to payment of the customer's most recently settled invoice",
        "days",
        "payment_speed",
        "took {days_to_pay_last:.0f} days to pay the last settled invoice",
    ),
    Feature(
        "late_share_undisputed",
        "share of the customer's settled undisputed invoices that were paid late (all time)",
        "share",
        "late_history",
        "paid {late_share_undisputed:.0%} of undisputed invoices late",
        monotone=1,
        needs="invoices.disputed",
    ),
    Feature(
        "mean_days_to_pay_undisputed",
        "mean days from issue to payment of the customer's settled undisputed invoices (all time)",
        "days",
        "payment_speed",
        "took {mean_days_to_pay_undisputed:.0f} days on average to pay undisputed invoices",
        monotone=1,
        needs="invoices.disputed",
    ),
    Feature(
        "mean_days_to_pay_same_channel",
        "mean days from issue to payment of settled invoices sent by the same channel as this one",
        "days",
        "payment_speed",
        "took {mean_days_to_pay_same_channel:.0f} days on average to pay invoices sent the same way "
        "({channel})",
        needs="invoices.channel",
    ),
    Feature(
        "is_new_customer",
        "1 when the customer has settled no invoice yet",
        "flag",
        "history_depth",
        "a new customer with no payment history",
        absent="an established customer with a payment history",
    ),
    Feature(
        "open_count",
        "other invoices of the customer open at the as-of date",
        "invoices",
        "exposure",
        "{open_count:.0f} other invoices open",
        absent="no other invoice open",
    ),
    Feature(
        "open_amount",
        "outstanding amount of the customer's other open invoices",
        "amount",
        "exposure",
        "{open_amount:,.0f} outstanding on other invoices",
    ),
    Feature(
        "partial_open_count",
        "open invoices already partly paid",
        "invoices",
        "exposure",
        "{partial_open_count:.0f} open invoices only partly paid",
        absent="no partly paid invoices",
        needs="payments",
    ),
    Feature(
        "open_to_credit_limit",
        "outstanding amount (other open invoices) over credit limit",
        "ratio",
        "exposure",
        "open balance at {open_to_credit_limit:.0%} of the credit limit",
        needs="customers.credit_limit",
    ),
    Feature(
        "overdue_count",
        "other invoices open past their due date",
        "invoices",
        "overdue",
        "{overdue_count:.0f} invoices already overdue",
        absent="no other invoice overdue",
        monotone=1,
    ),
    Feature(
        "overdue_amount",
        "outstanding amount past its due date",
        "amount",
        "overdue",
        "{overdue_amount:,.0f} already overdue",
        absent="nothing overdue",
    ),
    Feature(
        "oldest_overdue_days",
        "days past due of the oldest overdue invoice",
        "days",
        "overdue",
        "oldest overdue invoice is {oldest_overdue_days:.0f} days past due",
        absent="no other invoice overdue",
    ),
    Feature("amount", "invoice amount", "amount", "invoice_size", "invoice of {amount:,.2f}"),
    Feature(
        "amount_vs_usual",
        "invoice amount over the customer's mean invoice amount",
        "ratio",
        "invoice_size",
        "invoice {amount_vs_usual:.1f}x the customer's usual amount",
    ),
    Feature(
        "terms_days",
        "days between issue and due date",
        "days",
        "terms",
        "payment terms of {terms_days:.0f} days",
    ),
    Feature(
        "days_until_due",
        "days from the as-of date to the due date",
        "days",
        "terms",
        "due in {days_until_due:.0f} days",
        negative="{days_until_due:.0f} days past due",
    ),
    Feature(
        "paid_share",
        "share of this invoice already paid at the as-of date",
        "share",
        "terms",
        "{paid_share:.0%} of the invoice already paid",
        needs="payments",
    ),
    Feature(
        "disputed",
        "1 when the invoice is disputed",
        "flag",
        "dispute",
        "the invoice is disputed",
        absent="the invoice is not disputed",
        needs="invoices.disputed",
    ),
    Feature(
        "dispute_rate",
        "share of the customer's other invoices issued so far that are disputed",
        "share",
        "dispute",
        "disputed {dispute_rate:.0%} of earlier invoices",
        absent="disputed none of the earlier invoices",
        needs="invoices.disputed",
    ),
    Feature(
        "channel",
        "how the invoice was sent",
        "category",
        "billing",
        "billing channel: {channel}",
        kind="categorical",
        absent="sending channel not given",
        needs="invoices.channel",
    ),
    Feature(
        "currency",
        "invoice currency",
        "category",
        "billing",
        "billed in {currency}",
        kind="categorical",
        absent="currency not given",
        needs="invoices.currency",
    ),
    Feature(
        "issue_month_end",
        "1 when issued in the last 3 days of a month",
        "flag",
        "billing",
        "issued at month end",
        absent="not issued at month end",
        seasonal=True,
    ),
    Feature(
        "issue_quarter_end",
        "1 when issued in the last 7 days of a quarter",
        "flag",
        "billing",
        "issued at quarter end",
        absent="not issued at quarter end",
        seasonal=True,
    ),
    Feature(
        "issue_weekday",
        "weekday of issue (0 = Monday)",
        "weekday",
        "billing",
        "issued on weekday {issue_weekday:.0f}",
        seasonal=True,
    ),
    Feature(
        "tenure_days",
        "days since the relationship started",
        "days",
        "relationship",
        "a customer for {tenure_days:.0f} days",
    ),
    Feature(
        "invoices_30d",
        "other invoices issued to the customer in the last 30 days",
        "invoices",
        "relationship",
        "{invoices_30d:.0f} invoices issued in the last 30 days",
    ),
    Feature(
        "velocity_ratio",
        "invoices in the last 30 days over the usual monthly number (last year, or tenure if shorter)",
        "ratio",
        "relationship",
        "invoicing at {velocity_ratio:.1f}x the usual monthly pace",
    ),
    Feature(
        "credit_limit",
        "the customer's credit limit",
        "amount",
        "relationship",
        "credit limit of {credit_limit:,.0f}",
        needs="customers.credit_limit",
    ),
    Feature(
        "segment",
        "customer segment",
        "category",
        "profile",
        "a {segment} customer",
        kind="categorical",
        absent="customer segment not given",
        needs="customers.segment",
    ),
    Feature(
        "country",
        "customer country",
        "category",
        "profile",
        "based in {country}",
        kind="categorical",
        absent="customer country not given",
        needs="customers.country",
    ),
]

FEATURES: tuple[Feature, ...] = (*_history_features(), *_OTHER_FEATURES)
BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}


def feature_names(extra: tuple[str, ...] = (), present: frozenset[str] | None = None) -> list[str]:
    """Every catalogue feature, then the ledger's extra feature columns.

    Args:
        present: the optional columns and tables a ledger has (``Ledger.present()``); features
            that need one it lacks are left out. ``None``: all features.
    """
    return [
        f.name for f in FEATURES if present is None or not f.needs or f.needs in present
    ] + list(extra)


def describe(name: str) -> Feature:
    """The catalogue entry of ``name``; extra ledger columns get a generic one."""
    if name in BY_NAME:
        return BY_NAME[name]
    return Feature(name, f"ledger column {name}", "value", "ledger", f"{name} is {{{name}}}")
