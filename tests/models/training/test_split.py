"""Time splits: nothing from the test window or after the as-of date reaches training."""

from __future__ import annotations

import pandas as pd
import pytest

from features.ledger.ledger import Ledger
from models.training.split import make_split, split_frame
from models.training.train import prepare_training_frame


@pytest.fixture(scope="module")
def frame(ibm_ledger: Ledger) -> pd.DataFrame:
    return prepare_training_frame(ibm_ledger, pd.Timestamp("2013-10-31"))


def test_windows_are_ordered_and_disjoint(frame: pd.DataFrame) -> None:
    as_of = pd.Timestamp("2013-10-31")
    split = make_split(frame, as_of, test_from=pd.Timestamp("2013-07-01"))
    train, valid, test = split_frame(frame, split)
    assert train["issue_date"].max() < split.valid_from <= valid["issue_date"].min()
    assert valid["issue_date"].max() < split.test_from <= test["issue_date"].min()
    ids = [set(part["invoice_id"]) for part in (train, valid, test)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert len(train) + len(valid) + len(test) == len(frame)


def test_training_uses_nothing_after_as_of(ibm_ledger: Ledger, frame: pd.DataFrame) -> None:
    as_of = pd.Timestamp("2013-10-31")
    assert (frame["issue_date"] <= as_of).all()
    assert (frame["as_of"] <= as_of).all()
    assert (frame["due_date"] < as_of).all()  # every label final by as_of
    paid = ibm_ledger.invoices.set_index("invoice_id").loc[frame["invoice_id"], "paid_date"]
    late_from_paid = (paid > frame["due_date"].to_numpy()) & (paid <= as_of)
    open_late = paid > as_of  # still open at as_of and past due: late, known then
    expected_late = (late_from_paid | open_late).to_numpy()
    assert (frame["late"].to_numpy() == expected_late).all()


def test_training_labels_ignore_payments_after_as_of(ibm_ledger: Ledger) -> None:
    """Cutting the ledger at as_of (dropping every later event) gives the same training frame."""
    as_of = pd.Timestamp("2013-04-30")
    full = prepare_training_frame(ibm_ledger, as_of)
    inv = ibm_ledger.invoices
    cut = inv[inv["issue_date"] <= as_of].assign(
        paid_date=lambda f: f["paid_date"].where(f["paid_date"] <= as_of)
    )
    truncated = prepare_training_frame(Ledger(cut, ibm_ledger.customers), as_of)
    pd.testing.assert_frame_equal(
        full.sort_values("invoice_id").reset_index(drop=True),
        truncated.sort_values("invoice_id").reset_index(drop=True),
    )


def test_default_test_window_is_last_fifth(frame: pd.DataFrame) -> None:
    split = make_split(frame, pd.Timestamp("2013-10-31"))
    first, last = frame["issue_date"].min(), frame["issue_date"].max()
    assert abs((split.test_from - first) / (last - first) - 0.8) < 0.01
    assert split.valid_from < split.test_from


def test_bad_dates_are_refused(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="valid-from"):
        make_split(
            frame,
            pd.Timestamp("2013-10-31"),
            test_from=pd.Timestamp("2012-03-01"),
            valid_from=pd.Timestamp("2012-06-01"),
        )
