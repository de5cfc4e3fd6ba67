"""Contact-history features by hand, and point in time: later contacts change nothing."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from features.contacts import CONTACT_FEATURE_NAMES, contact_features

KEYS = pd.DataFrame(
    {
        "invoice_id": ["I1", "I2", "I3", "I4"],
        "customer_id": ["C1", "C1", "C2", "C3"],
        "as_of": pd.to_datetime(["2025-12-20", "2025-12-02", "2025-12-20", "2025-12-20"]),
    }
)
CONTACTS = pd.DataFrame(
    {
        "customer_id": ["C1", "C1", "C1", "C2", "C1"],
        "contacted_at": pd.to_datetime(
            [
                "2025-11-01T10:00:00Z",  # 49 days before the 20th: outside 30 days
                "2025-12-01T10:00:00Z",
                "2025-12-19T23:30:00-05:00",  # the 20th in UTC: not before the as-of day
                "2025-12-18T08:00:00Z",
                "2025-12-20T08:00:00Z",  # on the as-of day itself: not known yet
            ],
            utc=True,
        ),
    }
)
PROMISES = pd.DataFrame(
    {
        "customer_id": ["C1", "C1", "C2"],
        "contacted_at": pd.to_datetime(["2025-11-01", "2025-12-01", "2025-12-18"], utc=True),
        "promised_date": pd.to_datetime(["2025-11-10", "2025-12-19", "2025-12-30"]),
        "status": ["broken", "broken", "broken"],
    }
)


def test_contact_features_by_hand() -> None:
    out = contact_features(KEYS, CONTACTS, PROMISES).set_index("invoice_id")
    assert out.loc["I1", list(CONTACT_FEATURE_NAMES)].tolist() == [19.0, 1.0, 2.0]
    assert out.loc["I2", list(CONTACT_FEATURE_NAMES)].tolist() == [1.0, 1.0, 1.0]
    assert out.loc["I3", list(CONTACT_FEATURE_NAMES)].tolist() == [2.0, 1.0, 0.0]  # not due yet
    never = out.loc["I4", list(CONTACT_FEATURE_NAMES)]
    assert pd.isna(never.iloc[0]) and never.iloc[1:].tolist() == [0.0, 0.0]
    assert list(out.reset_index().columns[:3]) == ["invoice_id", "customer_id", "as_of"]


@settings(max_examples=40, deadline=None)
@given(
    later=st.lists(
        st.tuples(st.sampled_from(["C1", "C2", "C3"]), st.integers(0, 400 * 24 * 60)),
        min_size=1,
        max_size=6,
    )
)
def test_a_contact_dated_on_or_after_as_of_changes_nothing(later: list[tuple[str, int]]) -> None:
    before = contact_features(KEYS, CONTACTS, PROMISES)
    extra = pd.DataFrame(
        {
            "customer_id": [c for c, _ in later],
            "contacted_at": [
                pd.Timestamp("2025-12-20", tz="UTC") + pd.Timedelta(minutes=m) for _, m in later
            ],
        }
    )
    promised = extra.assign(
        promised_date=extra["contacted_at"].dt.tz_localize(None), status="broken"
    )
    after = contact_features(
        KEYS[KEYS["as_of"] == "2025-12-20"].reset_index(drop=True),
        pd.concat([CONTACTS, extra], ignore_index=True),
        pd.concat([PROMISES, promised], ignore_index=True),
    )
    expected = before[before["as_of"] == "2025-12-20"].reset_index(drop=True)
    pd.testing.assert_frame_equal(after, expected)


def test_no_contacts_at_all_gives_never_and_zeros() -> None:
    none = CONTACTS.iloc[:0]
    out = contact_features(KEYS, none, PROMISES.iloc[:0])
    assert out["days_since_last_contact"].isna().all()
    assert (out["contacts_30d"] == 0).all() and (out["broken_promises_to_date"] == 0).all()
