"""Tests of the synthetic ledger generator: consistency, realism and dirty mode."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from precollect.synth import SynthSummary, generate_ledger

END = pd.Timestamp("2025-12-31")


def _read(folder: Path) -> dict[str, pd.DataFrame]:
    return {
        t: pd.read_parquet(folder / f"{t}.parquet") for t in ("customers", "invoices", "payments")
    }


def _cents(values: pd.Series) -> pd.Series:
    return (values * 100).round().astype("int64")


def _late(invoices: pd.DataFrame) -> pd.Series:
    """Late: paid after the due date, or still open past it at the end."""
    return (invoices["paid_date"] > invoices["due_date"]) | invoices["paid_date"].isna()


@pytest.fixture(scope="module")
def ledger(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[SynthSummary, dict[str, pd.DataFrame]]:
    """The default ledger, written in several chunks."""
    folder = tmp_path_factory.mktemp("clean")
    calls: list[int] = []
    summary = generate_ledger(folder, chunk_invoices=12_000, progress=calls.append)
    assert sum(calls) == 50_000 and len(calls) > 1
    return summary, _read(folder)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthSummary, Path]:
    folder = tmp_path_factory.mktemp("dirty")
    return generate_ledger(folder, n_invoices=20_000, dirty=0.05, chunk_invoices=6_000), folder


def test_same_seed_same_ledger(tmp_path: Path) -> None:
    runs = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        generate_ledger(tmp_path / name, n_customers=80, n_invoices=4_000, seed=seed, dirty=0.03)
        runs.append(_read(tmp_path / name))
    for table in runs[0]:
        pd.testing.assert_frame_equal(runs[0][table], runs[1][table])
    faults = [(tmp_path / n / "injected_faults.csv").read_text() for n in "ab"]
    assert faults[0] == faults[1]
    assert not runs[0]["invoices"].equals(runs[2]["invoices"])


def test_summary_matches_files(ledger: tuple[SynthSummary, dict[str, pd.DataFrame]]) -> None:
    summary, tables = ledger
    assert summary.rows == {name: len(frame) for name, frame in tables.items()}
    assert summary.n_invoices == 50_000 and summary.n_customers == 500
    assert summary.n_injected == 0
    manifest = tomllib.loads((summary.out_dir / "ledger.toml").read_text())
    assert manifest["ledger"]["extracted_at"] == "2025-12-31"
    assert manifest["ledger"]["source"].startswith("precollect synth")
    assert not (summary.out_dir / "injected_faults.csv").exists()


def test_columns_and_types(ledger: tuple[SynthSummary, dict[str, pd.DataFrame]]) -> None:
    summary, tables = ledger
    schema = pq.read_schema(summary.out_dir / "invoices.parquet")
    for column in ("issue_date", "due_date", "paid_date"):
        assert schema.field(column).type == pa.timestamp("us")
    invoices = tables["invoices"]
    assert invoices["invoice_id"].str.fullmatch(r"INV\d{8}").all()
    assert invoices["invoice_id"].is_unique
    assert tables["payments"]["payment_id"].is_unique
    assert (invoices["amount"] > 0).all()
    assert np.allclose(invoices["amount"] * 100, _cents(invoices["amount"]), rtol=0, atol=1e-6)
    assert set(invoices["channel"]) == {"electronic", "paper"}
    assert set(invoices["currency"]) == {"USD", "EUR", "GBP"}
    customers = tables["customers"]
    assert set(customers["segment"]) == {"enterprise", "mid-market", "smb"}
    assert customers["country"].str.fullmatch(r"[A-Z]{2}").all()
    assert (customers["customer_since"] < pd.Timestamp("2022-01-01")).any()


def test_tables_join_up(ledger: tuple[SynthSummary, dict[str, pd.DataFrame]]) -> None:
    _, tables = ledger
    invoices, payments = tables["invoices"], tables["payments"]
    assert payments["invoice_id"].isin(invoices["invoice_id"]).all()
    assert invoices["customer_id"].isin(tables["customers"]["customer_id"]).all()


def test_payments_reconcile_with_paid_date(
    ledger: tuple[SynthSummary, dict[str, pd.DataFrame]],
) -> None:
    _, tables = ledger
    invoices = tables["invoices"].set_index("invoice_id")
    payments = tables["payments"].sort_values(["invoice_id", "payment_date"], kind="stable")
    payments = payments.assign(cents=_cents(payments["amount"]))
    assert (payments["cents"] > 0).all()
    per_invoice = payments.groupby("invoice_id").agg(
        cents=("cents", "sum"), last=("payment_date", "max"), n=("cents", "size")
    )
    joined = invoices.join(per_invoice, how="left")
    paid = joined[joined["paid_date"].notna()]
    assert (paid["cents"] == _cents(paid["amount"])).all()
    assert (paid["last"] == paid["paid_date"]).all()
    assert paid["n"].isin([1, 2, 3]).all() and (paid["n"] > 1).mean() > 0.03
    # The payments first cover the amount on the paid date, not before.
    before = payments["payment_date"] < payments["invoice_id"].map(invoices["paid_date"])
    covered_early = payments[before].groupby("invoice_id")["cents"].sum()
    assert (covered_early < _cents(invoices.loc[covered_early.index, "amount"])).all()
    still_open = joined[joined["paid_date"].isna()]
    partly = still_open[still_open["cents"].notna()]
    assert len(partly) > 0
    assert (partly["cents"] < _cents(partly["amount"])).all()


def test_dates_are_coherent(ledger: tuple[SynthSummary, dict[str, pd.DataFrame]]) -> None:
    _, tables = ledger
    invoices, payments = tables["invoices"], tables["payments"]
    assert invoices["issue_date"].max() <= END
    assert invoices["paid_date"].max() <= END
    assert payments["payment_date"].max() <= END
    assert invoices["issue_date"].min() >= pd.Timestamp("2022-01-01")
    assert (invoices["due_date"] >= invoices["issue_date"]).all()
    paid = invoices.dropna(subset=["paid_date"])
    assert (paid["paid_date"] >= paid["issue_date"]).all()
    terms = (invoices["due_date"] - invoices["issue_date"]).dt.days
    assert set(terms) == {15, 30, 45, 60}
    weekend = invoices["issue_date"].dt.day_of_week >= 5
    assert weekend.mean() < 0.05


def test_late_and_open_shares_are_realistic(
    ledger: tuple[SynthSummary, dict[str, pd.DataFrame]],
) -> None:
    _, tables = ledger
    invoices = tables["invoices"]
    matured = invoices[invoices["due_date"] <= END]
    assert 0.25 <= _late(matured).mean() <= 0.40
    open_share = invoices["paid_date"].isna().mean()
    assert 0.01 <= open_share <= 0.10
    long_overdue = invoices["paid_date"].isna() & (
        invoices["due_date"] < END - pd.Timedelta(days=90)
    )
    assert long_overdue.sum() > 10
    assert (invoices["paid_date"] < invoices["due_date"]).mean() > 0.2
    assert 0.01 <= invoices["disputed"].mean() <= 0.06
    disputed = matured[matured["disputed"]]
    assert _late(disputed).mean() > _late(matured).mean() + 0.3


def test_payment_history_beats_amount(ledger: tuple[SynthSummary, dict[str, pd.DataFrame]]) -> None:
    """A customer's late share among invoices settled before issue ranks lateness far better."""
    _, tables = ledger
    invoices = tables["invoices"]
    invoices = invoices[invoices["due_date"] <= END].assign(late=_late)
    settled = invoices.dropna(subset=["paid_date"]).sort_values("paid_date")
    history = settled.assign(
        seen=settled.groupby("customer_id").cumcount() + 1,
        late_seen=settled.groupby("customer_id")["late"].cumsum(),
    )[["customer_id", "paid_date", "seen", "late_seen"]]
    asof = pd.merge_asof(
        invoices.sort_values("issue_date"),
        history,
        left_on="issue_date",
        right_on="paid_date",
        by="customer_id",
        allow_exact_matches=False,
        suffixes=("", "_hist"),
    )
    asof = asof[asof["issue_date"] >= pd.Timestamp("2023-01-01")]
    prior = (asof["late_seen"].fillna(0) + 1) / (asof["seen"].fillna(0) + 3)
    history_auc = roc_auc_score(asof["late"], prior)
    amount_auc = roc_auc_score(asof["late"], asof["amount"])
    assert history_auc > 0.8
    assert history_auc > amount_auc + 0.3


def test_chronic_late_payers_are_a_minority(
    ledger: tuple[SynthSummary, dict[str, pd.DataFrame]],
) -> None:
    """Payment habits persist: most customers nearly always pay on time, a minority nearly never."""
    _, tables = ledger
    invoices = tables["invoices"]
    invoices = invoices[invoices["due_date"] <= END].assign(late=_late)
    per_customer = invoices.groupby("customer_id")["late"].agg(["mean", "size"])
    share = per_customer.loc[per_customer["size"] >= 20, "mean"]
    assert 0.1 <= (share >= 0.8).mean() <= 0.35
    assert (share <= 0.15).mean() >= 0.35


def test_amounts_are_moderately_skewed(
    ledger: tuple[SynthSummary, dict[str, pd.DataFrame]],
) -> None:
    _, tables = ledger
    invoices, customers = tables["invoices"], tables["customers"]
    amounts = np.sort(invoices["amount"].to_numpy())[::-1]
    top_decile = amounts[: len(amounts) // 10].sum() / amounts.sum()
    assert 0.15 <= top_decile <= 0.35
    segment = invoices["customer_id"].map(customers.set_index("customer_id")["segment"])
    median = invoices.groupby(segment)["amount"].median()
    assert median["enterprise"] > median["mid-market"] > median["smb"]
    assert 1.5 <= median["enterprise"] / median["smb"] <= 4.0


def test_unusually_large_invoices_are_later(
    ledger: tuple[SynthSummary, dict[str, pd.DataFrame]],
) -> None:
    """Among customers who usually pay on time, invoices well above their usual size slip."""
    _, tables = ledger
    invoices = tables["invoices"]
    invoices = invoices[invoices["due_date"] <= END].assign(late=_late)
    by_customer = invoices.groupby("customer_id")
    usually_on_time = by_customer["late"].transform("mean") < 0.8
    large = invoices["amount"] > 1.4 * by_customer["amount"].transform("median")
    late = invoices["late"]
    assert late[usually_on_time & large].mean() > late[usually_on_time & ~large].mean() + 0.04


def test_some_customers_deteriorate(ledger: tuple[SynthSummary, dict[str, pd.DataFrame]]) -> None:
    _, tables = ledger
    invoices = tables["invoices"]
    invoices = invoices[invoices["due_date"] <= END].assign(
        late=_late, year=invoices["issue_date"].dt.year
    )
    by_year = invoices.groupby(["customer_id", "year"])["late"].agg(["mean", "size"]).unstack()
    both = (by_year["size"][2022] >= 20) & (by_year["size"][2025] >= 20)
    change = (by_year["mean"][2025] - by_year["mean"][2022])[both]
    rises, drops = (change > 0.3).sum(), (change < -0.3).sum()
    assert rises >= 3
    assert rises > 2 * drops


def test_chunks_keep_each_customer_whole(
    ledger: tuple[SynthSummary, dict[str, pd.DataFrame]],
) -> None:
    summary, _ = ledger
    file = pq.ParquetFile(summary.out_dir / "invoices.parquet")
    assert file.num_row_groups > 1
    groups = [
        set(file.read_row_group(i, columns=["customer_id"]).column(0).to_pylist())
        for i in range(file.num_row_groups)
    ]
    assert sum(len(g) for g in groups) == len(set().union(*groups))


def _broken_rules(invoices: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """One column per contract rule: True where the row breaks it."""
    issue = pd.to_datetime(invoices["issue_date"], format="ISO8601", errors="coerce")
    due = pd.to_datetime(invoices["due_date"], format="ISO8601", errors="coerce")
    return pd.DataFrame(
        {
            "invoices.invoice_id.unique": invoices["invoice_id"].duplicated(keep="first"),
            "invoices.amount.positive": invoices["amount"] <= 0,
            "invoices.due_date.not_before_issue": due < issue,
            "invoices.customer_id.known": ~invoices["customer_id"].isin(customers["customer_id"]),
            "invoices.issue_date.valid": issue.isna(),
        }
    )


def test_dirty_faults_point_at_bad_rows(dirty: tuple[SynthSummary, Path]) -> None:
    summary, folder = dirty
    tables = _read(folder)
    invoices = tables["invoices"]
    faults = pd.read_csv(folder / "injected_faults.csv")
    assert list(faults.columns) == ["table", "row", "rule"]
    assert summary.n_injected == len(faults) == 1_000
    assert len(invoices) == 21_000 and faults["row"].is_unique
    assert set(faults["rule"]) == set(_broken_rules(invoices, tables["customers"]).columns)
    broken = _broken_rules(invoices, tables["customers"])
    flags = np.zeros(broken.shape, dtype=bool)
    flags[faults["row"], broken.columns.get_indexer(faults["rule"])] = True
    expected = pd.DataFrame(flags, index=broken.index, columns=broken.columns)
    pd.testing.assert_frame_equal(broken, expected)


def test_dirty_rows_are_otherwise_valid(dirty: tuple[SynthSummary, Path]) -> None:
    _, folder = dirty
    tables = _read(folder)
    invoices, payments = tables["invoices"], tables["payments"]
    faults = pd.read_csv(folder / "injected_faults.csv").set_index("row")["rule"]
    bad = invoices.loc[faults.index]
    dup = faults == "invoices.invoice_id.unique"
    fresh = bad[~dup.to_numpy()]
    assert fresh["paid_date"].isna().all()
    assert not fresh["invoice_id"].isin(payments["invoice_id"]).any()
    for row in faults.index[dup.to_numpy()][:50]:
        copy = invoices.loc[row]
        first = invoices[invoices["invoice_id"] == copy["invoice_id"]]
        assert first.index[0] < row and len(first) == 2
        assert first.iloc[0].equals(copy)
    garbage = invoices.loc[faults.index[(faults == "invoices.issue_date.valid").to_numpy()]]
    assert (garbage["issue_date"].str.strip() != "").all()
    assert (pd.to_datetime(garbage["due_date"], format="ISO8601") <= END).all()
    assert set(invoices["paid_date"].dropna().str.len()) == {10}


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dirty"):
        generate_ledger(tmp_path, dirty=1.5)
    with pytest.raises(ValueError, match="end"):
        generate_ledger(tmp_path, start=date(2025, 1, 1), end=date(2024, 1, 1))


def test_a_segment_shift_changes_that_segment_only(tmp_path: Path) -> None:
    from datetime import date

    from precollect.synth import SegmentShift

    def read(folder: Path, shift: SegmentShift | None) -> pd.DataFrame:
        generate_ledger(folder, n_customers=40, n_invoices=2000, seed=3, segment_shift=shift)
        invoices = pd.read_parquet(folder / "invoices.parquet")
        customers = pd.read_parquet(folder / "customers.parquet")
        return invoices.merge(customers[["customer_id", "segment"]], on="customer_id")

    calm = read(tmp_path / "calm", None)
    shifted = read(tmp_path / "shifted", SegmentShift("smb", date(2025, 1, 1)))
    # the same invoices; only when they are paid differs (settlement draws shift the stream)
    issued = ["invoice_id", "customer_id", "issue_date", "due_date", "amount"]
    pd.testing.assert_frame_equal(calm[issued], shifted[issued])

    def late_share(frame: pd.DataFrame, smb: bool) -> float:
        due = pd.to_datetime(frame["due_date"])
        paid = pd.to_datetime(frame["paid_date"])
        after = ((frame["segment"] == "smb") == smb) & (due >= "2025-01-01") & (due <= "2025-10-31")
        return float((paid[after].isna() | (paid[after] > due[after])).mean())

    assert late_share(shifted, smb=True) > late_share(calm, smb=True) + 0.3
    assert abs(late_share(shifted, smb=False) - late_share(calm, smb=False)) < 0.05


def test_contact_effects_are_written_beside_the_same_ledger(tmp_path: Path) -> None:
    from precollect.synth.effects import read_effects

    plain, treated = tmp_path / "plain", tmp_path / "treated"
    generate_ledger(plain, n_customers=40, n_invoices=400, seed=3)
    generate_ledger(treated, n_customers=40, n_invoices=400, seed=3, contact_effects=True)
    for name in ("invoices.parquet", "payments.parquet", "customers.parquet"):
        assert (plain / name).read_bytes() == (treated / name).read_bytes()
    assert not (plain / "true_effects.csv").exists()
    effects = read_effects(treated)
    customers = pd.read_parquet(treated / "customers.parquet")
    assert list(effects["customer_id"]) == list(customers["customer_id"])
    responders = effects[effects["responds"]]
    assert 0 < len(responders) < len(effects)  # some never respond
    assert (effects.loc[~effects["responds"], "days_earlier_call"] == 0).all()
    assert responders["days_earlier_call"].std() > 1  # heterogeneous
    assert (effects["days_earlier_reminder"] <= effects["days_earlier_call"]).all()
