"""Customers with short histories: how much history there is, is a feature, and a customer
with no payment history is scored near the rate at which such first invoices were late."""

from __future__ import annotations

from pathlib import Path

from features.build import History
from features.ledger.ingest import load_ledger
from features.ledger.ledger import Ledger
from models.training.train import TrainingResult


def test_a_customer_without_history_is_scored_near_the_first_invoices_late_rate(
    trained: TrainingResult, small_synthetic: Path
) -> None:
    model = trained.model
    for feature in ("settled_count_all", "is_new_customer", "tenure_days"):
        assert feature in model.features
    frame = trained.frame
    first = frame[(frame["settled_count_all"] == 0) & (frame["as_of"] == frame["issue_date"])]
    assert len(first) >= 30
    prior = float(first["late"].mean())
    # The same invoices and customer records, but no invoice history at all: every history
    # feature is empty, so only the invoice, the customer record and the calendar speak.
    ledger = load_ledger(small_synthetic)
    nobody = Ledger(invoices=ledger.invoices.iloc[:0], customers=ledger.customers)
    targets = first[["invoice_id", "customer_id", "issue_date", "due_date", "amount", "as_of"]]
    for column in ("terms_days", "channel", "currency"):
        if column in ledger.invoices:
            targets = targets.merge(
                ledger.invoices[["invoice_id", column]], on="invoice_id", how="left"
            )
    p = model.predict_proba(History.from_ledger(nobody).features(targets))
    assert abs(float(p.mean()) - prior) < 0.1, (float(p.mean()), prior)
    assert p.std() > 0  # the invoice itself still counts: amount, terms, calendar
