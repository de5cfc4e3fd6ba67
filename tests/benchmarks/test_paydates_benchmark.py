"""Figures for pay dates and the cash forecast: rolling backtests against the naive forecasts,
and the time to forecast 1,000,000 open invoices.

Run with ``pytest -s -m benchmark tests/benchmarks/test_paydates_benchmark.py``. Targets (issue
17): pay-date MAE at least 25 % below the customer-mean baseline, P10-P90 coverage 77-83 %,
13-week weekly WAPE at least 30 % below the due-date baseline; 1M invoices under 60 s.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.build import open_amounts, scoring_set
from features.ledger.ingest import load_ledger
from models.paydates.backtest import backtest, backtest_dates
from models.paydates.explain import pay_date_reasons
from models.paydates.fit import fit_pay_dates_on_ledger
from models.paydates.forecast import cash_forecast
from models.paydates.predict import pay_dates

ROOT = Path(__file__).resolve().parents[2]


def _print(name: str, figures: pd.DataFrame) -> None:
    mean = figures.drop(columns="as_of").mean()
    print(
        f"\n{name}: {len(figures)} as-of dates, {mean['paid_in_horizon']:.0f} open invoices then "
        f"paid per date\n"
        f"  pay-date MAE: model {mean['mae_model']:.2f} d, customer mean "
        f"{mean['mae_customer_mean']:.2f} d ({1 - mean['mae_model'] / mean['mae_customer_mean']:.0%}"
        f" lower), due date {mean['mae_due_date']:.2f} d\n"
        f"  P10-P90 coverage {mean['coverage']:.1%} (raw quantiles {mean['coverage_raw']:.1%}); "
        f"weekly actuals inside the band {mean['band_coverage']:.0%}"
    )
    for name_ in ("model", "due_date", "customer_mean"):
        print(
            f"  weekly WAPE {name_:>13}: weeks 1-4 {mean[f'wape_1_4_{name_}']:.1%}, "
            f"5-13 {mean[f'wape_5_13_{name_}']:.1%}, 1-13 {mean[f'wape_{name_}']:.1%}"
        )
    print(f"  13-week WAPE {1 - mean['wape_model'] / mean['wape_due_date']:.0%} below due date")


@pytest.mark.benchmark
def test_backtests(tmp_path: Path) -> None:
    from precollect.synth import generate_ledger

    for seed in (1, 2, 3):
        folder = tmp_path / f"synthetic-{seed}"
        generate_ledger(folder, n_customers=200, n_invoices=12_000, seed=seed)
        ledger = load_ledger(folder)
        _print(f"synthetic seed {seed}", backtest(ledger, backtest_dates(ledger, 45, 4)))
    ibm = ROOT / "data/samples/ibm-ar"
    ledger = load_ledger(ibm, ibm / "mapping.toml")
    _print("IBM sample", backtest(ledger, backtest_dates(ledger, 30, 6)))


@pytest.mark.benchmark
def test_one_million_open_invoices(tmp_path: Path) -> None:
    from precollect.synth import generate_ledger

    n = int(os.environ.get("PRECOLLECT_BENCH_INVOICES", "1000000"))
    generate_ledger(tmp_path / "train", n_customers=300, n_invoices=30_000, seed=5)
    ledger = load_ledger(tmp_path / "train")
    model = fit_pay_dates_on_ledger(ledger)
    features = scoring_set(ledger, ledger.last_date())
    rows = features.iloc[np.resize(np.arange(len(features)), n)].reset_index(drop=True)
    customers = rows["customer_id"].astype(str) + "~" + (np.arange(n) // len(features)).astype(str)
    start = time.perf_counter()
    cdf = model.cdf(rows)
    distribution = time.perf_counter() - start
    dates = pay_dates(model, rows, cdf)
    with_dates = time.perf_counter() - start
    result = cash_forecast(cdf, open_amounts(rows), customers.to_numpy(), ledger.last_date())
    total = time.perf_counter() - start
    print(
        f"\n{n:,} open invoices: distributions {distribution:.1f} s, pay dates "
        f"{with_dates - distribution:.1f} s, forecast with 1,000 simulations "
        f"{total - with_dates:.1f} s; total {total:.1f} s"
    )
    assert len(dates) == n and len(result.weekly) == 13
    explained = min(n, int(os.environ.get("PRECOLLECT_BENCH_REASONS", "100000")))
    start = time.perf_counter()
    reasons = pay_date_reasons(model, rows.iloc[:explained])
    seconds = time.perf_counter() - start
    print(
        f"pay-date reasons in days (per-bin TreeSHAP + path integral) for {explained:,} open "
        f"invoices: {seconds:.1f} s ({seconds / explained * 1e6:.0f} us per invoice)"
    )
    assert reasons["row"].nunique() > 0.9 * explained
