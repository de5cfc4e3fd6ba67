"""Score batches built directly (no model), for store tests and the kill-mid-write subprocess."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd


def fake_batch(n_invoices: int, seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    customers = np.array(
        [f"C{i:05d}" for i in rng.integers(0, max(1, n_invoices // 10), n_invoices)]
    )
    p = rng.random(n_invoices)
    amount = rng.lognormal(7, 1, n_invoices)
    invoices = pd.DataFrame(
        {
            "invoice_id": [f"I{i:08d}" for i in range(n_invoices)],
            "customer_id": customers,
            "p_late": p,
            "risk_band": np.where(p > 0.6, "high", "low"),
            "open_amount": amount,
            "amount_at_risk": p * amount,
            "raw_score": np.log(p / (1 - p)),
            "amount": amount,
            "days_until_due": 10.0,
            "disputed": 0.0,
            "segment": "smb",
            "top_reason": f"seed {seed}",
            "reasons": "[]",
        }
    )
    accounts = (
        invoices.groupby("customer_id")
        .agg(
            open_amount=("open_amount", "sum"),
            amount_at_risk=("amount_at_risk", "sum"),
            open_invoices=("invoice_id", "size"),
        )
        .reset_index()
    )
    accounts = accounts.assign(
        risk=accounts["amount_at_risk"] / accounts["open_amount"],
        risk_band="low",
        not_yet_due_amount=accounts["open_amount"],
        overdue_amount=0.0,
        amount_at_risk_not_yet_due=accounts["amount_at_risk"],
        top_reason=f"seed {seed}",
        reasons="[]",
        **{"effect.dispute": 0.01},
    )
    reasons = pd.DataFrame(
        {
            "level": "invoice",
            "key": invoices["invoice_id"],
            "rank": 1,
            "group": "dispute",
            "reason": "dispute",
            "feature": "disputed",
            "value": 0.0,
            "contribution": 0.1,
            "effect": 0.01,
            "direction": "raises risk",
            "text": f"seed {seed}",
        }
    )
    return {"invoices": invoices, "accounts": accounts, "reasons": reasons}


def main() -> None:
    """Write a large batch slowly, touching a marker once writing has begun (to be killed)."""
    import time
    from pathlib import Path

    from serving.store.store import ScoreStore

    url, marker, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    batch = fake_batch(n, seed=2)
    store = ScoreStore(url)

    def progress(_rows: int) -> None:
        marker.touch()
        time.sleep(0.05)

    store.write_batch(
        as_of=pd.Timestamp("2025-01-31"), model_version="1", p_base=0.3, progress=progress, **batch
    )
    print("finished")  # never reached when the test kills us


if __name__ == "__main__":
    main()
