"""ERP-style exports of a canonical ledger, as a new user brings them (European formats)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

EUROPEAN_MAPPING = """\
[ledger]
extracted_at = "{extracted_at}"

[invoices]
delimiter = ";"
decimal = ","
thousands = "."
encoding = "latin-1"
date_format = "%d.%m.%Y"
true_values = ["ja"]
false_values = ["nein"]
constants = {{ currency = "EUR" }}

[invoices.columns]
invoice_id = "Belegnummer"
customer_id = "Kundennummer"
issue_date = "Belegdatum"
due_date = "Fälligkeit"
amount = "Betrag"
paid_date = "Ausgeglichen am"
disputed = "Strittig"
"""
COLUMNS = {
    "invoice_id": "Belegnummer",
    "customer_id": "Kundennummer",
    "issue_date": "Belegdatum",
    "due_date": "Fälligkeit",
    "amount": "Betrag",
    "paid_date": "Ausgeglichen am",
    "disputed": "Strittig",
}


def european_amount(value: float) -> str:
    """``1955.16`` as ``1.955,16``."""
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def write_european_export(
    invoices: pd.DataFrame, path: Path, *, mapping: Path | None = None, extracted_at: str = ""
) -> None:
    """Write canonical ``invoices`` as one ``;``-separated latin-1 CSV with ``1.955,16`` amounts,
    DD.MM.YYYY dates, ja/nein flags and a customer-name column with accents; and its mapping."""
    out = pd.DataFrame(
        {
            COLUMNS["invoice_id"]: invoices["invoice_id"],
            COLUMNS["customer_id"]: invoices["customer_id"],
            "Kundenname": "Müller & Söhne GmbH",
            COLUMNS["issue_date"]: invoices["issue_date"].dt.strftime("%d.%m.%Y"),
            COLUMNS["due_date"]: invoices["due_date"].dt.strftime("%d.%m.%Y"),
            COLUMNS["amount"]: invoices["amount"].map(european_amount),
            COLUMNS["paid_date"]: invoices["paid_date"].dt.strftime("%d.%m.%Y").fillna(""),
            COLUMNS["disputed"]: invoices["disputed"].map({True: "ja", False: "nein"}),
        }
    )
    out.to_csv(path, sep=";", index=False, encoding="latin-1")
    if mapping is not None:
        mapping.write_text(EUROPEAN_MAPPING.format(extracted_at=extracted_at), encoding="utf-8")
