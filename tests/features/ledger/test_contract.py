"""Each contract rule on tiny hand-built frames: the rule fires on the bad row and only there."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from features.ledger.errors import LedgerError
from features.ledger.ingest import validate_tables
from features.ledger.mapping import Mapping, parse_mapping

TODAY = date(2024, 6, 30)


def invoices(**overrides: list) -> pd.DataFrame:
    """Three valid invoices as text, as a CSV would give them; override columns to break rows."""
    base = {
        "invoice_id": ["A1", "A2", "A3"],
        "customer_id": ["C1", "C1", "C2"],
        "issue_date": ["2024-01-01", "2024-01-05", "2024-02-01"],
        "due_date": ["2024-01-31", "2024-02-04", "2024-03-02"],
        "amount": ["100.00", "250.50", "80"],
        "currency": ["USD", "EUR", "USD"],
        "paid_date": ["2024-01-30", None, "2024-03-10"],
        "disputed": ["no", "yes", "no"],
    }
    base.update(overrides)
    return pd.DataFrame(base, dtype="object")


def broken(tables: dict[str, pd.DataFrame], table: str = "invoices") -> dict[int, set[str]]:
    """Row position -> rules broken, for one table."""
    result = validate_tables(tables, Mapping(), today=TODAY)
    failures = result.tables[table].failures
    return {int(i): set(g) for i, g in failures.groupby("index")["rule"]}


def test_valid_ledger_has_no_failures() -> None:
    assert broken({"invoices": invoices()}) == {}


@pytest.mark.parametrize(
    ("column", "values", "row", "rule"),
    [
        ("invoice_id", ["A1", None, "A3"], 1, "invoices.invoice_id.present"),
        ("invoice_id", ["A1", "A1", "A3"], 1, "invoices.invoice_id.unique"),
        ("customer_id", ["C1", " ", "C2"], 1, "invoices.customer_id.present"),
        ("issue_date", ["2024-01-01", "2024-02-30", "2024-02-01"], 1, "invoices.issue_date.valid"),
        ("issue_date", ["2024-01-01", None, "2024-02-01"], 1, "invoices.issue_date.valid"),
        (
            "due_date",
            ["2023-12-01", "2024-02-04", "2024-03-02"],
            0,
            "invoices.due_date.not_before_issue",
        ),
        ("due_date", ["2024-01-31", "soon", "2024-03-02"], 1, "invoices.due_date.valid"),
        ("paid_date", ["2023-12-31", None, "2024-03-10"], 0, "invoices.paid_date.not_before_issue"),
        ("paid_date", ["2024-01-30", "n/a", "2024-03-10"], 1, "invoices.paid_date.valid"),
        (
            "paid_date",
            ["2024-01-30", None, "2024-07-10"],
            2,
            "invoices.paid_date.not_after_extraction",
        ),
        ("amount", ["100", "-5", "80"], 1, "invoices.amount.positive"),
        ("amount", ["100", "0", "80"], 1, "invoices.amount.positive"),
        ("amount", ["100", "abc", "80"], 1, "invoices.amount.valid"),
        ("amount", ["100", "inf", "80"], 1, "invoices.amount.valid"),
        ("currency", ["USD", "XXQ", "USD"], 1, "invoices.currency.known"),
        ("disputed", ["no", "maybe", "no"], 1, "invoices.disputed.valid"),
    ],
)
def test_each_invoice_rule_flags_only_the_bad_row(
    column: str, values: list, row: int, rule: str
) -> None:
    assert broken({"invoices": invoices(**{column: values})}) == {row: {rule}}


def test_issue_date_after_extraction() -> None:
    frame = invoices(
        issue_date=["2024-01-01", "2024-01-05", "2024-07-01"],
        due_date=["2024-01-31", "2024-02-04", "2024-07-31"],
        paid_date=["2024-01-30", None, None],
    )
    assert broken({"invoices": frame}) == {2: {"invoices.issue_date.not_after_extraction"}}


def test_due_date_in_the_future_is_fine() -> None:
    """Open invoices are often due after the extraction date."""
    frame = invoices(due_date=["2024-01-31", "2024-08-04", "2024-03-02"])
    assert broken({"invoices": frame}) == {}


def test_invoice_of_unknown_customer_is_quarantined() -> None:
    customers = pd.DataFrame({"customer_id": ["C1"], "credit_limit": ["1000"]})
    tables = {"invoices": invoices(), "customers": customers}
    assert broken(tables) == {2: {"invoices.customer_id.known"}}


def test_customer_rules() -> None:
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C2", None],
            "credit_limit": ["1000", "5", "-1", "3"],
            "customer_since": ["2020-01-01", "2020-01-01", "2030-01-01", "2020-01-01"],
        }
    )
    assert broken({"invoices": invoices(), "customers": customers}, "customers") == {
        1: {"customers.customer_id.unique"},
        2: {"customers.credit_limit.non_negative", "customers.customer_since.not_after_extraction"},
        3: {"customers.customer_id.present"},
    }


def test_payment_rules_refer_to_valid_invoices_only() -> None:
    bad_invoice = invoices(amount=["100", "-1", "80"])  # A2 is quarantined
    payments = pd.DataFrame(
        {
            "payment_id": ["P1", "P2", "P2", "P4", "P5"],
            "invoice_id": ["A1", "A2", "A3", "ZZ", "A3"],
            "payment_date": ["2024-01-30", "2024-02-01", "2024-03-10", "2024-03-01", "2024-09-01"],
            "amount": ["100", "10", "80", "5", "1"],
        }
    )
    assert broken({"invoices": bad_invoice, "payments": payments}, "payments") == {
        1: {"payments.invoice_id.known"},
        2: {"payments.payment_id.unique"},
        3: {"payments.invoice_id.known"},
        4: {"payments.payment_date.not_after_extraction"},
    }


def test_all_broken_rules_are_reported_at_once() -> None:
    frame = invoices(amount=["-1", "100", "80"], currency=["USD", "USD", "ABC"])
    assert broken({"invoices": frame}) == {
        0: {"invoices.amount.positive"},
        2: {"invoices.currency.known"},
    }


def test_counts_reconcile_and_quarantine_keeps_raw_rows_with_reasons() -> None:
    frame = invoices(amount=["-1", "100", "80"], issue_date=["2024-01-01", "x", "2024-02-01"])
    result = validate_tables({"invoices": frame}, Mapping(), today=TODAY)
    t = result.tables["invoices"]
    assert t.rows_in == len(t.valid) + t.rows_quarantined == 3
    assert list(t.quarantine["_row"]) == [0, 1]
    assert list(t.quarantine["amount"]) == ["-1", "100"]  # raw text, as read
    assert list(t.quarantine["_rules"]) == ["invoices.amount.positive", "invoices.issue_date.valid"]
    assert list(result.ledger.invoices["invoice_id"]) == ["A3"]


def test_mostly_unparseable_date_column_is_a_one_line_error() -> None:
    frame = invoices(issue_date=["01/02/2024", "01/05/2024", "02/01/2024"])
    with pytest.raises(LedgerError, match=r"invoices.issue_date: 3 of 3 values cannot be parsed"):
        validate_tables({"invoices": frame}, Mapping(), today=TODAY)


def test_mapping_date_format_and_flags() -> None:
    frame = invoices(
        issue_date=["01/01/2024", "01/05/2024", "02/01/2024"],
        due_date=["01/31/2024", "02/04/2024", "03/02/2024"],
        paid_date=["01/30/2024", "", "03/10/2024"],
        disputed=["Nein", "Ja", "Nein"],
    )
    mapping = parse_mapping(
        {"invoices": {"date_format": "%m/%d/%Y", "true_values": ["Ja"], "false_values": ["Nein"]}}
    )
    result = validate_tables({"invoices": frame}, mapping, today=TODAY)
    ledger = result.ledger.invoices
    assert result.tables["invoices"].rows_quarantined == 0
    assert list(ledger["disputed"]) == [False, True, False]
    assert ledger["paid_date"].isna().tolist() == [False, True, False]


def test_too_many_bad_rows_fails_naming_the_worst_rule() -> None:
    from features.ledger.errors import ContractViolation

    frame = invoices(amount=["-1", "100", "80"])
    result = validate_tables({"invoices": frame}, Mapping(), today=TODAY)
    with pytest.raises(ContractViolation, match=r"1 of 3 rows.*invoices.amount.positive"):
        result.check_bad_fraction(0.05)
    result.check_bad_fraction(0.5)
