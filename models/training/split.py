"""Time-based splits: train on the past, pick the model on the window before the test window.

Only invoices whose label is final at the as-of date are used (due date + grace before it), so
the most recent windows do not over-represent early payers whose labels matured first.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from models.training.fit import LOCAL, Engine, Rows

TEST_SHARE = 0.2


class TrainingDataError(ValueError):
    """The ledger cannot train a model at this as-of date: no labels, or one class only."""


def check_labels(
    frame: Rows, as_of: pd.Timestamp, first_issue: pd.Timestamp, engine: Engine | None = None
) -> None:
    """Refuse a training frame that no split could learn from, saying why in the ledger's terms.

    Args:
        frame: the matured training rows (with ``late``).
        first_issue: the ledger's first issue date.

    Raises:
        TrainingDataError: the as-of date is before any invoice, no label is final at it, or no
            invoice (or every invoice) was late.
    """
    day = pd.Timestamp(as_of).date()
    if pd.Timestamp(as_of) <= first_issue:
        raise TrainingDataError(
            f"as of {day} no invoice had been issued yet (the first is of {first_issue.date()}); "
            "choose a later --as-of"
        )
    engine = engine or LOCAL
    rows = engine.count(frame)
    if rows == 0:
        raise TrainingDataError(
            f"no invoice has a final label as of {day}: none was due (plus the grace days) "
            "before it; choose a later --as-of"
        )
    late = int(engine.column(frame, "late").astype(bool).sum())
    if late == 0:
        raise TrainingDataError(
            f"no invoice was ever paid late: 0 of the {rows:,} invoice rows with a final "
            f"label as of {day}; a late-payment model needs late invoices to learn from"
        )
    if late == rows:
        raise TrainingDataError(
            f"every one of the {rows:,} invoice rows with a final label as of {day} was "
            "paid late; a late-payment model needs invoices paid on time to learn from"
        )


@dataclass(frozen=True)
class TimeSplit:
    """Train: issued before ``valid_from``; validation: up to ``test_from``; test: from it."""

    as_of: pd.Timestamp
    valid_from: pd.Timestamp
    test_from: pd.Timestamp

    def as_dict(self) -> dict[str, str]:
        return {k: str(getattr(self, k).date()) for k in ("as_of", "valid_from", "test_from")}


def fully_matured(frame: pd.DataFrame, as_of: pd.Timestamp, grace_days: int = 0) -> pd.DataFrame:
    """Rows whose final label is known at ``as_of``: due date + grace before it."""
    return frame[frame["due_date"] + pd.Timedelta(days=grace_days) < as_of]


def make_split(
    frame: Rows,
    as_of: pd.Timestamp,
    test_from: pd.Timestamp | None = None,
    valid_from: pd.Timestamp | None = None,
    engine: Engine | None = None,
) -> TimeSplit:
    """Default test window: the last 20 % of the issue-date range; validation: as long, before it.

    Raises:
        TrainingDataError: the frame has no rows or one class only (see :func:`check_labels`).
        ValueError: the windows are out of order or a window is empty.
    """
    first, last = (engine or LOCAL).issue_range(frame)
    if test_from is None:
        test_from = (first + (last - first) * (1 - TEST_SHARE)).normalize()
    if valid_from is None:
        valid_from = (test_from - (last - test_from)).normalize()
    split = TimeSplit(pd.Timestamp(as_of), pd.Timestamp(valid_from), pd.Timestamp(test_from))
    if not first < split.valid_from < split.test_from <= last:
        raise ValueError(
            f"need first issue {first.date()} < valid-from {split.valid_from.date()} < "
            f"test-from {split.test_from.date()} <= last issue {last.date()}"
        )
    return split


def split_frame(
    frame: Rows, split: TimeSplit, engine: Engine | None = None
) -> tuple[Rows, pd.DataFrame, pd.DataFrame]:
    """(train, validation, test) rows by issue date; the validation and test windows in memory
    (on Dask the train window stays on the cluster)."""
    engine = engine or LOCAL
    issue = frame["issue_date"]
    parts = (
        frame[issue < split.valid_from],
        engine.in_memory(frame[(issue >= split.valid_from) & (issue < split.test_from)]),
        engine.in_memory(frame[(issue >= split.test_from) & (issue <= split.as_of)]),
    )
    for name, part in zip(("train", "validation", "test"), parts, strict=True):
        late = engine.column(part, "late").astype(bool)
        if late.size == 0 or late.all() or not late.any():
            raise ValueError(f"the {name} window has no rows or only one class; move the dates")
    return parts
