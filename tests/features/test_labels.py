"""Every maturity case of the point-in-time label."""

from __future__ import annotations

import pandas as pd
import pytest

from features.labels import label_at

DUE = pd.Timestamp("2024-03-31")


def one(paid: str | None, as_of: str, grace: int = 0) -> tuple[str, object, float]:
    invoices = pd.DataFrame({"due_date": [DUE], "paid_date": pd.to_datetime([paid])})
    row = label_at(invoices, pd.Timestamp(as_of), grace).iloc[0]
    return str(row["status"]), row["late"], row["days_late"]


@pytest.mark.parametrize(
    ("paid", "as_of", "grace", "expected"),
    [
        ("2024-03-20", "2024-04-30", 0, ("on_time", False, 0.0)),  # paid early, known
        ("2024-03-31", "2024-04-30", 0, ("on_time", False, 0.0)),  # paid on the due date
        ("2024-04-05", "2024-04-30", 0, ("late", True, 5.0)),  # paid late, known
        ("2024-04-05", "2024-04-30", 5, ("on_time", False, 5.0)),  # within grace: not late
        ("2024-04-06", "2024-04-30", 5, ("late", True, 6.0)),  # beyond grace: late
        ("2024-04-05", "2024-04-05", 0, ("late", True, 5.0)),  # paid on the as-of date counts
        ("2024-04-05", "2024-04-04", 0, ("late", True, 4.0)),  # open at T, already past due
        ("2024-03-20", "2024-03-19", 0, ("unknown", pd.NA, float("nan"))),  # open, not due yet
        (None, "2024-03-31", 0, ("unknown", pd.NA, float("nan"))),  # open, due today: not late yet
        (None, "2024-04-01", 0, ("late", True, 1.0)),  # open, one day past due
        (None, "2024-04-03", 3, ("unknown", pd.NA, float("nan"))),  # open, inside grace
        (None, "2024-04-04", 3, ("late", True, 4.0)),  # open, past due + grace
    ],
)
def test_label_maturity(paid: str | None, as_of: str, grace: int, expected: tuple) -> None:
    status, late, days_late = one(paid, as_of, grace)
    assert status == expected[0]
    if expected[1] is pd.NA:
        assert late is pd.NA and pd.isna(days_late)
    else:
        assert late == expected[1] and days_late == expected[2]


def test_future_payment_does_not_reveal_the_label() -> None:
    """Paid after T: at T the invoice is open and, before its due date, unknown."""
    on_time_later = one("2024-03-30", "2024-03-15")
    late_later = one("2024-05-30", "2024-03-15")
    assert on_time_later[0] == late_later[0] == "unknown"
