"""Point-in-time features: the fast path equals the reference, and the future never leaks in."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_strategies import big_ledgers, ledgers, targets

from features import kernel
from features.build import History, scoring_set, training_set
from features.catalogue import FEATURES, feature_names
from features.ledger.ledger import Ledger, resolve_paid_dates
from features.reference import reference_features
from models.encoding import FeatureEncoder

PROPERTY = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_same_features(fast: pd.DataFrame, slow: pd.DataFrame) -> None:
    assert list(fast.columns) == list(slow.columns)
    assert fast["invoice_id"].tolist() == slow["invoice_id"].tolist()
    assert fast["as_of"].tolist() == slow["as_of"].tolist()
    for feature in FEATURES:
        a, b = fast[feature.name], slow[feature.name]
        if feature.kind == "categorical":
            assert (
                a.astype("object").fillna("<NA>").tolist()
                == b.astype("object").fillna("<NA>").tolist()
            ), feature.name
        else:
            np.testing.assert_allclose(
                a.to_numpy("float64"),
                b.to_numpy("float64"),
                rtol=1e-9,
                atol=1e-6,
                err_msg=feature.name,
            )


@PROPERTY
@given(st.data(), ledgers(), st.integers(0, 5))
def test_fast_features_equal_the_reference(data: st.DataObject, ledger: Ledger, grace: int) -> None:
    chosen = data.draw(targets(ledger))
    fast = History.from_ledger(ledger, grace).features(chosen)
    slow = reference_features(ledger, chosen, grace)
    assert_same_features(fast, slow)
    with _sweep_always():
        assert_same_features(History.from_ledger(ledger, grace).features(chosen), slow)


@contextlib.contextmanager
def _sweep_always() -> Iterator[None]:
    """A customer's only target also takes the sweep (it takes the direct walk by default)."""
    kernel.ALONE_WALKS = False
    try:
        yield
    finally:
        kernel.ALONE_WALKS = True


def _direct_walk(history: History) -> History:
    """The same history with every customer on the direct walk (the sweep's own oracle)."""
    arrays = history.arrays._replace(regular=np.zeros_like(history.arrays.regular))
    return dataclasses.replace(history, arrays=arrays)


@settings(PROPERTY, max_examples=6)
@given(st.data(), big_ledgers(), st.integers(0, 5))
def test_customers_with_thousands_of_invoices_equal_the_reference(
    data: st.DataObject, ledger: Ledger, grace: int
) -> None:
    """The sweep on long histories: every snapshot of every invoice equals the direct walk,
    and a sample of them the reference."""
    history = History.from_ledger(ledger, grace)
    assert history.arrays.regular.all()  # the sweep, not the walk, is under test
    rows = training_set(ledger, ledger.last_date(), history=history, snapshots=(14, 0))
    every = rows[["invoice_id", "customer_id", "issue_date", "due_date", "amount"]]
    every = every.assign(
        as_of=rows["as_of"] + pd.to_timedelta(data.draw(st.sampled_from([0, 1, 45])), unit="D")
    )
    every = every.merge(
        ledger.invoices[["invoice_id", "currency", "disputed", "channel", "paid_date"]],
        on="invoice_id",
    )
    fast = history.features(every)
    pd.testing.assert_frame_equal(fast, _direct_walk(history).features(every))
    sample = every.sample(25, random_state=data.draw(st.integers(0, 1000))).reset_index(drop=True)
    assert_same_features(history.features(sample), reference_features(ledger, sample, grace))


@PROPERTY
@given(st.data(), ledgers(), st.integers(0, 5))
def test_numpy_columns_give_the_same_features_and_matrix(
    data: st.DataObject, ledger: Ledger, grace: int
) -> None:
    """The API's path (numpy columns in and out, no frames) is the training path."""
    chosen = data.draw(targets(ledger)).reset_index(drop=True)
    history = History.from_ledger(ledger, grace)
    columns = {
        name: values.to_numpy(dtype=object if values.dtype.kind not in "biufM" else None)
        for name, values in chosen.items()
    }
    frame = history.features(chosen)
    pd.testing.assert_frame_equal(pd.DataFrame(history.columns(columns)), frame)
    encoder = FeatureEncoder(feature_names()).fit(frame)
    np.testing.assert_array_equal(
        encoder.transform(history.columns(columns)), encoder.transform(frame)
    )


def _future_edit(ledger: Ledger, as_of: pd.Timestamp, data: st.DataObject) -> Ledger:
    """Add, remove or change events dated after ``as_of``; nothing on or before it changes."""
    inv = ledger.invoices.copy()
    after_issue = inv["issue_date"] > as_of
    action = data.draw(
        st.sampled_from(
            [
                "drop_future_invoices",
                "move_future_payments",
                "add_future_invoice",
                "change_future_amounts",
            ]
        )
    )
    if action == "drop_future_invoices":
        inv = inv[~after_issue]
    elif action == "move_future_payments":
        paid_later = inv["paid_date"] > as_of
        shift = pd.Timedelta(days=data.draw(st.integers(1, 60)))
        inv.loc[paid_later, "paid_date"] = inv.loc[paid_later, "paid_date"] + shift
        unpaid = data.draw(st.booleans())
        if unpaid:
            inv.loc[paid_later, "paid_date"] = pd.NaT
    elif action == "add_future_invoice":
        issue = as_of + pd.Timedelta(days=data.draw(st.integers(1, 30)))
        new = pd.DataFrame(
            {
                "invoice_id": ["FUT"],
                "customer_id": ["C0"],
                "issue_date": [issue],
                "due_date": [issue],
                "amount": [1e6],
                "currency": ["USD"],
                "paid_date": [issue + pd.Timedelta(days=90)],
                "disputed": [True],
                "channel": ["paper"],
            }
        ).astype(inv.dtypes.to_dict())
        inv = pd.concat([inv, new], ignore_index=True)
    else:
        inv.loc[after_issue, "amount"] = inv.loc[after_issue, "amount"] * 7
    payments = ledger.payments
    if payments is not None:
        # drop every later payment; paid dates on or before as_of stand, later ones become open
        payments = payments[payments["payment_date"] <= as_of]
        inv = inv.assign(paid_date=inv["paid_date"].where(inv["paid_date"] <= as_of))
    return Ledger(
        invoices=inv.reset_index(drop=True), customers=ledger.customers, payments=payments
    )


@PROPERTY
@given(st.data(), ledgers(), st.integers(0, 400))
def test_events_after_as_of_never_change_features(
    data: st.DataObject, ledger: Ledger, offset: int
) -> None:
    as_of = pd.Timestamp("2023-01-01") + pd.Timedelta(days=offset)
    known = ledger.invoices[ledger.invoices["issue_date"] <= as_of]
    chosen = known.assign(as_of=as_of)
    before = History.from_ledger(ledger).features(chosen)
    edited = _future_edit(ledger, as_of, data)
    after = History.from_ledger(edited).features(chosen)
    pd.testing.assert_frame_equal(before, after)


def test_catalogue_is_rich_and_every_feature_is_built(ibm_ledger: Ledger) -> None:
    assert len(FEATURES) >= 30
    assert len({f.name for f in FEATURES}) == len(FEATURES)
    frame = training_set(ibm_ledger, ibm_ledger.last_date())
    assert set(feature_names()) <= set(frame.columns)
    for feature in FEATURES:
        values = {k: frame[k].iloc[0] for k in frame.columns}
        if feature.kind == "numeric":
            feature.template.format(**{k: (0.0 if pd.isna(v) else v) for k, v in values.items()})


def test_feature_tables_match_their_schema(ibm_ledger: Ledger) -> None:
    from features.frames import feature_schema
    from features.ledger.schema import Context, Customers, Invoices, checking

    as_of = pd.Timestamp("2013-10-01")
    feature_schema(training=True).validate(training_set(ibm_ledger, as_of), lazy=True)
    scored = scoring_set(ibm_ledger, as_of)
    feature_schema().validate(scored, lazy=True)
    with pytest.raises(pa.errors.SchemaErrors):  # the schema can fail: a text amount
        feature_schema().validate(scored.assign(amount="12"), lazy=True)
    assert ibm_ledger.customers is not None and ibm_ledger.extracted_at is not None
    # the valid ledger is typed, and keeps every rule of the contract's own models
    known = ibm_ledger.customers["customer_id"]
    with checking(Context(ibm_ledger.extracted_at, known_customers=known)):
        Customers.validate(ibm_ledger.customers, lazy=True)
        Invoices.validate(ibm_ledger.invoices, lazy=True)


def test_training_set_uses_issue_date_as_of_and_matured_labels_only(ibm_ledger: Ledger) -> None:
    cutoff = pd.Timestamp("2013-06-30")
    frame = training_set(ibm_ledger, cutoff)
    assert (frame["as_of"] == frame["issue_date"]).all()
    assert (frame["issue_date"] <= cutoff).all()
    invoices = ibm_ledger.invoices.set_index("invoice_id").loc[frame["invoice_id"]]
    matured = (invoices["paid_date"] <= cutoff) | (invoices["due_date"] < cutoff)
    assert matured.all()
    assert frame["invoice_id"].is_unique


def test_new_customer_gets_missing_history_not_errors() -> None:
    ledger = Ledger(
        invoices=resolve_paid_dates(
            pd.DataFrame(
                {
                    "invoice_id": pd.array(["A"], dtype="string"),
                    "customer_id": pd.array(["X"], dtype="string"),
                    "issue_date": pd.to_datetime(["2024-01-01"]).astype("datetime64[us]"),
                    "due_date": pd.to_datetime(["2024-01-31"]).astype("datetime64[us]"),
                    "amount": [10.0],
                    "paid_date": pd.to_datetime([None]).astype("datetime64[us]"),
                }
            ),
            None,
        )
    )
    features = scoring_set(ledger, pd.Timestamp("2024-01-10"))
    row = features.iloc[0]
    assert row["is_new_customer"] == 1.0 and row["settled_count_all"] == 0
    assert np.isnan(row["late_share_all"]) and np.isnan(row["amount_vs_usual"])
    assert row["days_until_due"] == 21 and row["tenure_days"] == 9


def test_features_cli_on_the_sample_and_a_synthetic_ledger(
    ibm_dir,
    ibm_mapping,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    from typer.testing import CliRunner

    from precollect.cli import app
    from precollect.synth import generate_ledger

    runner = CliRunner()
    out = tmp_path / "open.parquet"
    result = runner.invoke(
        app,
        [
            "features",
            "--ledger",
            str(ibm_dir),
            "--mapping",
            str(ibm_mapping),
            "--as-of",
            "2013-06-30",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert frame["invoice_id"].is_unique and (frame["as_of"] == pd.Timestamp("2013-06-30")).all()
    assert len(frame) == 84  # issued by 2013-06-30 and settled after it

    generate_ledger(tmp_path / "synth", n_customers=30, n_invoices=2000, seed=5)
    result = runner.invoke(
        app,
        [
            "features",
            "--ledger",
            str(tmp_path / "synth"),
            "--training",
            "--out",
            str(tmp_path / "train.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    train = pd.read_csv(tmp_path / "train.csv")
    assert {"late", "days_late", *feature_names()} <= set(train.columns)
    assert 0.1 < train["late"].mean() < 0.6
