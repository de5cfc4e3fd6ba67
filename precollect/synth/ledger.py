"""Write a synthetic canonical ledger folder, chunk by chunk, with bounded memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from precollect.synth import calendar
from precollect.synth.customers import (
    CHANNELS,
    CURRENCIES,
    SegmentShift,
    customer_width,
    customers_table,
    invoice_counts,
    make_customers,
    shift_segment,
)
from precollect.synth.effects import contact_effects as make_effects
from precollect.synth.faults import RULES, inject
from precollect.synth.ids import format_ids, id_width, pick_strings
from precollect.synth.invoices import (
    Invoices,
    make_invoices,
    make_monthly_invoices,
    monthly_counts,
)
from precollect.synth.payments import MAX_PARTS, Payments, make_payments

_CUSTOMER_STREAM, _CHUNK_STREAM, _EFFECT_STREAM = 0, 1, 2
_PAYMENT_SCHEMA = pa.schema(
    [
        ("payment_id", pa.string()),
        ("invoice_id", pa.string()),
        ("payment_date", pa.timestamp("us")),
        ("amount", pa.float64()),
    ]
)


@dataclass(frozen=True)
class SynthSummary:
    """What ``generate_ledger`` wrote."""

    out_dir: Path
    extracted_at: date
    n_customers: int
    n_invoices: int
    """Rows in invoices.parquet, injected faults included."""
    n_payments: int
    n_injected: int

    @property
    def rows(self) -> dict[str, int]:
        """Rows per table."""
        return {
            "customers": self.n_customers,
            "invoices": self.n_invoices,
            "payments": self.n_payments,
        }


def _invoice_schema(dirty: bool) -> pa.Schema:
    day = pa.string() if dirty else pa.timestamp("us")
    return pa.schema(
        [
            ("invoice_id", pa.string()),
            ("customer_id", pa.string()),
            ("issue_date", day),
            ("due_date", day),
            ("amount", pa.float64()),
            ("currency", pa.string()),
            ("paid_date", day),
            ("disputed", pa.bool_()),
            ("channel", pa.string()),
        ]
    )


def _days(days: np.ndarray, missing: np.ndarray | None, as_text: bool) -> pa.Array:
    """Days as a timestamp column, or as ISO text for dirty ledgers."""
    if as_text:
        dates = pa.array(days.astype("datetime64[D]"), mask=missing, type=pa.date32())
        return pc.cast(dates, pa.string())
    stamps = days.astype("datetime64[D]").astype("datetime64[us]")
    return pa.array(stamps, mask=missing, type=pa.timestamp("us"))


def _chunk_edges(counts: np.ndarray, chunk_invoices: int) -> np.ndarray:
    """Customer boundaries such that each chunk holds about ``chunk_invoices`` invoices."""
    cum = np.cumsum(counts)
    total = int(cum[-1]) if len(cum) else 0
    targets = np.arange(1, -(-total // chunk_invoices)) * chunk_invoices
    cuts = np.searchsorted(cum, targets, side="left") + 1
    return np.unique(np.concatenate([[0], cuts, [len(counts)]]))


def _bad_per_chunk(valid: np.ndarray, dirty: float) -> np.ndarray:
    """Injected rows per chunk: ``dirty`` times the valid rows, rounded on the running total."""
    running = np.floor(dirty * np.concatenate([[0], np.cumsum(valid)]) + 0.5).astype(np.int64)
    return np.diff(running)


@dataclass(frozen=True)
class _Widths:
    customer: int
    invoice: int
    payment: int


def _invoice_table(
    rows: Invoices, number: np.ndarray, garbage: np.ndarray | None, widths: _Widths, dirty: bool
) -> pa.Table:
    issue = _days(rows.issue, None, dirty)
    if garbage is not None and (garbage != "").any():
        bad = garbage != ""
        issue = pc.replace_with_mask(issue, pa.array(bad), pa.array(garbage[bad], pa.string()))
    columns = [
        format_ids("INV", number, widths.invoice),
        format_ids("C", rows.customer, widths.customer),
        issue,
        _days(rows.due, None, dirty),
        pa.array(rows.cents / 100.0, type=pa.float64()),
        pick_strings(CURRENCIES, rows.currency),
        _days(rows.paid, rows.is_open, dirty),
        pa.array(rows.disputed, type=pa.bool_()),
        pick_strings(CHANNELS, rows.paper.astype(np.int64)),
    ]
    return pa.Table.from_arrays(columns, schema=_invoice_schema(dirty))


def _payments_table(
    pays: Payments, first_number: int, invoice_number: np.ndarray, widths: _Widths
) -> pa.Table:
    columns = [
        format_ids("PAY", np.arange(first_number, first_number + len(pays)), widths.payment),
        format_ids("INV", invoice_number, widths.invoice),
        _days(pays.day, None, False),
        pa.array(pays.cents / 100.0, type=pa.float64()),
    ]
    return pa.Table.from_arrays(columns, schema=_PAYMENT_SCHEMA)


def _source(
    n_customers: int,
    n_invoices: int,
    seed: int,
    start: date,
    end: date,
    dirty: float,
    monthly: bool = False,
) -> str:
    return (
        f"precollect synth --customers {n_customers} --invoices {n_invoices} --seed {seed} "
        f"--start {start.isoformat()} --end {end.isoformat()} --dirty {dirty:g}"
        + (" --monthly" if monthly else "")
    )


def _check(
    n_customers: int,
    n_invoices: int,
    seed: int,
    start: date,
    end: date,
    dirty: float,
    chunk_invoices: int,
) -> None:
    if n_customers < 1 or n_invoices < 0 or chunk_invoices < 1:
        raise ValueError("need n_customers >= 1, n_invoices >= 0 and chunk_invoices >= 1")
    if seed < 0:
        raise ValueError("seed must be >= 0")
    if (end - start).days < 60:
        raise ValueError("end must be at least 60 days after start")
    if not 0.0 <= dirty <= 1.0:
        raise ValueError("dirty must be a fraction in [0, 1]")


def generate_ledger(
    out_dir: Path,
    *,
    n_customers: int = 500,
    n_invoices: int = 50_000,
    seed: int = 0,
    start: date = date(2022, 1, 1),
    end: date = date(2025, 12, 31),
    dirty: float = 0.0,
    chunk_invoices: int = 1_000_000,
    progress: Callable[[int], None] | None = None,
    monthly: bool = False,
    segment_shift: SegmentShift | None = None,
    contact_effects: bool = False,
) -> SynthSummary:
    """Write a synthetic ledger (customers, invoices, payments, ``ledger.toml``) to ``out_dir``.

    Invoices are issued between ``start`` and ``end``; ``end`` is the extraction date. With
    ``dirty`` > 0, about ``dirty * n_invoices`` extra invoice rows each break one contract rule
    and are listed in ``injected_faults.csv``. The same seed (and chunk size) gives the same files.

    With ``monthly``, each customer instead gets one statement a month on its own cycle day, due
    25 days later, as consumer and utility receivables do (``n_invoices`` is then ignored).

    With ``contact_effects``, each customer's true response to a pre-due reminder or call is
    written to ``true_effects.csv`` (:mod:`precollect.synth.effects`); the ledger is the same.

    Args:
        progress: called with the number of valid invoices written after each chunk.
        segment_shift: from a day on, a segment pays much later (the simulated month's shift).
    """
    _check(n_customers, n_invoices, seed, start, end, dirty, chunk_invoices)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    first, last = calendar.to_day(start), calendar.to_day(end)
    cum = calendar.cumulative(calendar.issue_weights(first, last))
    rng = np.random.default_rng([seed, _CUSTOMER_STREAM])
    customers = make_customers(rng, n_customers, first, last)
    if segment_shift is not None:
        customers = shift_segment(customers, segment_shift)
    counts = (
        monthly_counts(customers, first, last)
        if monthly
        else invoice_counts(rng, customers, n_invoices, cum, first)
    )
    written = customers_table(customers)
    pq.write_table(written, out_dir / "customers.parquet")
    effects_path = out_dir / "true_effects.csv"
    if contact_effects:
        effect_rng = np.random.default_rng([seed, _EFFECT_STREAM])
        ids = [str(v) for v in written.column("customer_id").to_pylist()]
        make_effects(effect_rng, customers, ids).to_csv(effects_path, index=False)
    else:
        effects_path.unlink(missing_ok=True)
    n_invoices = int(counts.sum())

    edges = _chunk_edges(counts, chunk_invoices)
    valid_per_chunk = np.add.reduceat(counts, edges[:-1]) if len(edges) > 1 else np.zeros(0)
    bad_per_chunk = _bad_per_chunk(valid_per_chunk, dirty)
    widths = _Widths(
        customer=customer_width(n_customers),
        invoice=id_width(n_invoices + int(bad_per_chunk.sum()), 8),
        payment=id_width(MAX_PARTS * n_invoices, 8),
    )
    as_text = dirty > 0
    n_rows = n_payments = 0
    fault_rows: list[np.ndarray] = []
    fault_kinds: list[np.ndarray] = []
    with (
        pq.ParquetWriter(out_dir / "invoices.parquet", _invoice_schema(as_text)) as inv_writer,
        pq.ParquetWriter(out_dir / "payments.parquet", _PAYMENT_SCHEMA) as pay_writer,
    ):
        invoice_base = 0
        for index in range(len(edges) - 1):
            chunk_rng = np.random.default_rng([seed, _CHUNK_STREAM, index])
            cust = np.repeat(
                np.arange(edges[index], edges[index + 1]), counts[edges[index] : edges[index + 1]]
            )
            valid, plan = (
                make_monthly_invoices(chunk_rng, customers, cust, first, last)
                if monthly
                else make_invoices(chunk_rng, customers, cust, first, last, cum)
            )
            pays = make_payments(chunk_rng, valid, plan, last)
            done = inject(chunk_rng, valid, int(bad_per_chunk[index]), last, n_customers)
            garbage = done.garbage if as_text and len(done.kind) else None
            table = _invoice_table(
                done.rows, invoice_base + 1 + done.number, garbage, widths, as_text
            )
            inv_writer.write_table(table)
            invoice_of = invoice_base + 1 + done.valid_number[pays.row]
            pay_writer.write_table(_payments_table(pays, n_payments + 1, invoice_of, widths))
            fault_rows.append(n_rows + done.position)
            fault_kinds.append(done.kind)
            invoice_base += int(done.number.max()) + 1 if len(done.number) else 0
            n_rows += len(done.rows)
            n_payments += len(pays)
            if progress is not None:
                progress(len(valid))
    n_injected = _write_faults(out_dir, fault_rows, fault_kinds, as_text)
    (out_dir / "ledger.toml").write_text(
        f'[ledger]\nextracted_at = "{end.isoformat()}"\n'
        f'source = "{_source(n_customers, n_invoices, seed, start, end, dirty, monthly)}"\n'
    )
    return SynthSummary(
        out_dir=out_dir,
        extracted_at=end,
        n_customers=n_customers,
        n_invoices=n_rows,
        n_payments=n_payments,
        n_injected=n_injected,
    )


def _write_faults(
    out_dir: Path, rows: list[np.ndarray], kinds: list[np.ndarray], dirty: bool
) -> int:
    """Write ``injected_faults.csv`` (dirty mode) or remove a stale one; return the fault count."""
    path = out_dir / "injected_faults.csv"
    if not dirty:
        path.unlink(missing_ok=True)
        return 0
    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    kind = np.concatenate(kinds) if kinds else np.zeros(0, np.int64)
    order = np.argsort(row, kind="stable")
    lines = ["table,row,rule"] + [
        f"invoices,{r},{RULES[k]}" for r, k in zip(row[order], kind[order], strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return len(row)
