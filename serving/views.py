"""The latest stored batch, held in memory for the account reads and the managers' pages.

Reloaded only when the store's latest batch changes; each account's JSON response is
serialised once per batch, so a read is a dictionary lookup.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
import pandas as pd

from models.decisions.frames import AccountScores, columns
from models.paydates.accounts import ACCOUNT_PAY_FIELDS, account_pay_dates
from serving.store import codec
from serving.store.store import ScoreStore

ACCOUNT_FIELDS = tuple(columns(AccountScores))
"""What ``GET /v1/accounts/{id}`` answers, besides the reasons."""


def _plain(value: Any) -> Any:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):
        return value.item()
    return value


def account_record(row: dict[str, Any], pay: dict[str, Any] | None = None) -> dict[str, Any]:
    """A stored account row as the API's ``StoredAccount``; ``reasons`` as stored (JSON) or
    already decoded; ``pay``: its row of :func:`models.paydates.accounts.account_pay_dates`."""
    out = {name: _plain(row.get(name)) for name in ACCOUNT_FIELDS}
    out["model_version"] = str(out["model_version"])
    out["open_invoices"] = int(out["open_invoices"] or 0)
    stored = row.get("reasons")
    out["reasons"] = stored if isinstance(stored, list) else codec.decode_reasons(stored)
    out["pay_dates"] = None if pay is None else {k: _plain(pay.get(k)) for k in ACCOUNT_PAY_FIELDS}
    return out


def account_pay_rows(pay_dates: pd.DataFrame | None, invoices: pd.DataFrame) -> dict[str, dict]:
    """Each account's pay-date summary by customer id; empty without stored pay dates."""
    if pay_dates is None or not len(pay_dates):
        return {}
    summary = account_pay_dates(pay_dates, invoices)
    return {str(k): v for k, v in summary.to_dict("index").items()}


@dataclass(frozen=True)
class BatchView:
    """One batch's frames, with each account's treatment and segment, and its responses."""

    key: tuple[Any, ...]
    as_of: date
    model_version: str
    p_base: float
    accounts: pd.DataFrame
    invoices: pd.DataFrame
    reasons: pd.DataFrame
    account_json: dict[str, bytes] = field(repr=False)

    @staticmethod
    def key_of(batch: dict[str, Any]) -> tuple[Any, ...]:
        """What identifies a loaded view: the batch, and the erasures applied when it loaded."""
        return (
            batch["as_of"],
            str(batch["model_version"]),
            batch["created_at"],
            batch.get("erasure"),
        )

    @classmethod
    def load(cls, store: ScoreStore, batch: dict[str, Any]) -> BatchView:
        frames = store.batch_frames(batch["as_of"], batch["model_version"])
        accounts = frames["account_scores"]
        invoices = frames["invoice_scores"]
        work = store.worklist(pd.Timestamp(batch["as_of"]))
        work = work[work["model_version"].astype(str) == str(batch["model_version"])]
        treatment = (
            work.sort_values("rank")
            .drop_duplicates("customer_id")
            .set_index("customer_id")["treatment"]
        )
        segment = invoices.dropna(subset=["segment"]).drop_duplicates("customer_id")
        accounts = accounts.assign(
            treatment=accounts["customer_id"].map(treatment).fillna("none"),
            segment=accounts["customer_id"].map(segment.set_index("customer_id")["segment"]),
        )
        pay = account_pay_rows(frames.get("pay_dates"), invoices)
        responses = {
            str(row["customer_id"]): orjson.dumps(
                account_record(row, pay.get(str(row["customer_id"])))
            )
            for row in accounts.to_dict("records")
        }
        return cls(
            key=cls.key_of(batch),
            as_of=batch["as_of"],
            model_version=str(batch["model_version"]),
            p_base=float(batch["p_base"]),
            accounts=accounts,
            invoices=invoices,
            reasons=frames["reasons"],
            account_json=responses,
        )


class StoreView:
    """Follows the store's latest batch; :meth:`refresh` is called at start and by the poller."""

    def __init__(self, store: ScoreStore) -> None:
        self.store = store
        self._view: BatchView | None = None
        self._lock = threading.Lock()
        self.error: str | None = None

    @property
    def current(self) -> BatchView | None:
        return self._view

    def refresh(self) -> bool:
        """Reload when the latest batch changed. Returns True when it did."""
        with self._lock:
            try:
                batch = self.store.latest_batch()
                if batch is None:
                    return False
                # an erasure changes the batch's rows in place: it reloads the view too
                batch = {**batch, "erasure": self.store.last_erasure()}
                key = BatchView.key_of(batch)
                if self._view is not None and self._view.key == key:
                    return False
                self._view = BatchView.load(self.store, batch)
                self.error = None
                return True
            except Exception as exc:  # store down: keep what we have, say so in /readyz
                self.error = type(exc).__name__
                return False
