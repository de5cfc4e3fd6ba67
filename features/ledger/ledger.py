"""The validated, canonical ledger that every later stage reads."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from features.ledger.errors import LedgerError
from features.ledger.schema import DATE_DTYPE

PAID_TOLERANCE = 0.005
"""Payments within half a cent of the amount settle the invoice."""


@dataclass(frozen=True)
class Ledger:
    """Typed, valid rows of each table. ``customers`` and ``payments`` are optional."""

    invoices: pd.DataFrame
    customers: pd.DataFrame | None = None
    payments: pd.DataFrame | None = None
    extracted_at: pd.Timestamp | None = None
    feature_columns: tuple[str, ...] = field(default=())
    name: str | None = None
    """What the ledger is called (the mapping's ``[ledger] name``, else its folder): one
    registered model per ledger name."""

    def present(self) -> frozenset[str]:
        """The optional columns (``table.column``) and tables holding at least one value."""
        found: set[str] = set()
        for table in ("invoices", "customers", "payments"):
            frame = getattr(self, table)
            if frame is None or frame.empty:
                continue
            found.add(table)
            found.update(f"{table}.{c}" for c in frame.columns if frame[c].notna().any())
        return frozenset(found)

    def last_date(self) -> pd.Timestamp:
        """The latest event date in the ledger (issue, paid or payment date).

        Raises:
            LedgerError: the ledger holds no invoices.
        """
        dates = [self.invoices["issue_date"].max()]
        if "paid_date" in self.invoices:
            dates.append(self.invoices["paid_date"].max())
        if self.payments is not None and len(self.payments):
            dates.append(self.payments["payment_date"].max())
        known = [d for d in dates if pd.notna(d)]
        if not known:
            self.require_invoices()
        return pd.Timestamp(max(known))

    def require_invoices(self) -> None:
        """Raise :class:`LedgerError` when the ledger holds no valid invoice: no command can
        work on it."""
        if self.invoices.empty or self.invoices["issue_date"].isna().all():
            raise LedgerError("the ledger holds no valid invoices (its invoices table is empty)")

    def default_as_of(self) -> pd.Timestamp:
        """The day commands and the API work as of unless told otherwise: the extraction date
        (``[ledger] extracted_at``, else the day the ledger was ingested); the last event date
        only for a ledger that has none."""
        if self.extracted_at is not None:
            return pd.Timestamp(self.extracted_at).normalize()
        return self.last_date().normalize()

    def known_at(self, day: pd.Timestamp) -> Ledger:
        """The ledger as it stood at the end of ``day``: later invoices and payments unknown,
        invoices paid later still open (for backtests and tests; the features never need it)."""
        day = pd.Timestamp(day).normalize()
        invoices = self.invoices[self.invoices["issue_date"] <= day]
        paid = invoices["paid_date"]
        invoices = invoices.assign(paid_date=paid.where(paid <= day))
        payments = self.payments
        if payments is not None:
            payments = payments[payments["payment_date"] <= day]
        return replace(
            self, invoices=invoices.reset_index(drop=True), payments=payments, extracted_at=day
        )

    def fingerprint(self) -> str:
        """A short hash of the validated content, to tie a model run to its data."""
        digest = hashlib.sha256()
        for frame in (self.invoices, self.customers, self.payments):
            if frame is not None:
                hashed = pd.util.hash_pandas_object(frame.sort_index(axis=1), index=False)
                digest.update(hashed.to_numpy().tobytes())
        return digest.hexdigest()[:16]


def resolve_paid_dates(invoices: pd.DataFrame, payments: pd.DataFrame | None) -> pd.DataFrame:
    """Paid date = the first payment date at which an invoice's payments cover its amount.

    Invoices whose payments never cover the amount keep the ``paid_date`` of the invoices table
    (e.g. settled by a credit note), or stay open when it is empty.
    """
    base = invoices if "paid_date" in invoices else invoices.assign(paid_date=pd.NaT)
    base = base.assign(paid_date=base["paid_date"].astype(DATE_DTYPE))
    if payments is None or payments.empty:
        return base
    ordered = payments.sort_values(["invoice_id", "payment_date"], kind="stable")
    paid_so_far = ordered.groupby("invoice_id", sort=False)["amount"].cumsum()
    owed = ordered["invoice_id"].map(base.set_index("invoice_id")["amount"])
    covered = ordered[paid_so_far >= owed - PAID_TOLERANCE]
    settled = covered.groupby("invoice_id", sort=False)["payment_date"].min().astype(DATE_DTYPE)
    derived = pd.Series(settled.reindex(base["invoice_id"].to_numpy()).to_numpy(), index=base.index)
    return base.assign(paid_date=derived.fillna(base["paid_date"]))


def write_ledger(ledger: Ledger, folder: Path) -> None:
    """Write the canonical ledger as Parquet plus its ``ledger.toml`` manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    ledger.invoices.to_parquet(folder / "invoices.parquet", index=False)
    for name in ("customers", "payments"):
        frame = getattr(ledger, name)
        if frame is not None:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    lines = ["[ledger]"]
    if ledger.name is not None:
        lines.append(f"name = {json.dumps(ledger.name)}")
    if ledger.extracted_at is not None:
        lines.append(f'extracted_at = "{ledger.extracted_at.date().isoformat()}"')
    if ledger.feature_columns:
        names = ", ".join(f'"{c}"' for c in ledger.feature_columns)
        lines += ["", "[invoices]", f"features = [{names}]"]
    (folder / "ledger.toml").write_text("\n".join(lines) + "\n")
