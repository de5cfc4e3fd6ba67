"""The API's response models say what the frame models of a scoring run hold: same names, same
types, optional exactly where the frame allows missing values."""

from __future__ import annotations

import types
import typing
from datetime import date

import pytest
from pydantic import BaseModel

from models.decisions.frames import (
    CONTEXT_FEATURES,
    AccountScores,
    ForecastWeeks,
    Frame,
    PayDates,
    ScoredInvoices,
    WorklistRows,
    columns,
)
from serving.schemas import ForecastWeek, PayDate, StoredAccount, StoredInvoice, WorklistItem

PYTHON_TYPE = {"str": str, "float64": float, "int64": int, "bool": bool, "datetime64": date}


def _frame_type(dtype: object) -> type:
    text = str(dtype)
    return next(t for prefix, t in PYTHON_TYPE.items() if text.startswith(prefix))


def _api_type(annotation: object) -> tuple[type, bool]:
    """The plain type of a field and whether it may be None."""
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        plain = [a for a in args if a is not type(None)]
        return plain[0], type(None) in args
    return annotation, False  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("response", "frame", "every_column"),
    [
        (StoredInvoice, ScoredInvoices, False),
        (StoredAccount, AccountScores, True),
        (WorklistItem, WorklistRows, True),
        (PayDate, PayDates, False),
        (ForecastWeek, ForecastWeeks, False),
    ],
)
def test_responses_match_the_frames(
    response: type[BaseModel], frame: type[Frame], every_column: bool
) -> None:
    schema = frame.to_schema().columns
    # nested, or not from the scoring run (computed when read, from the served ledger)
    beside = {"reasons", "pay_dates", "collected", "forecast_dso"}
    fields = {n: f for n, f in response.model_fields.items() if n not in beside}
    assert set(fields) <= set(columns(frame))
    if every_column:
        assert set(fields) == set(columns(frame))
    for name, field in fields.items():
        plain, optional = _api_type(field.annotation)
        assert plain is _frame_type(schema[name].dtype), name
        assert optional == schema[name].nullable, name


def test_context_features_are_catalogue_features() -> None:
    from features.catalogue import BY_NAME

    assert CONTEXT_FEATURES and all(name in BY_NAME for name in CONTEXT_FEATURES)


def test_a_contact_outcome_and_its_promise_are_checked() -> None:
    from pydantic import ValidationError

    from serving.schemas import ContactIn

    base = {"customer_id": "C1", "channel": "phone", "contacted_at": "2025-06-30T14:05:00+02:00"}
    promise = {"outcome": "promise_to_pay", "promised_date": "2025-07-04", "promised_amount": 10}
    ok = ContactIn.model_validate({**base, **promise, "idempotency_key": "crm-1"})
    assert ok.promised_amount == 10.0 and ok.outcome == "promise_to_pay"
    for bad, words in (
        ({**base, "outcome": "promised"}, "promise_to_pay"),
        ({**base, "outcome": "promise_to_pay"}, "needs promised_date"),
        ({**base, **promise, "outcome": "reached"}, "only with promise_to_pay"),
        ({**base, **promise, "promised_date": "2025-06-29"}, "before the contact"),
        ({"customer_id": "C1", "channel": "phone", **promise}, "before the contact"),  # now
        ({**base, **promise, "promised_amount": "10"}, "JSON number"),
        ({**base, "idempotency_key": "has space"}, "pattern"),
        ({**base, "idempotency_key": "k" * 129}, "at most 128"),
    ):
        with pytest.raises(ValidationError) as raised:
            ContactIn.model_validate(bad)
        assert words in str(raised.value), (bad, str(raised.value))
