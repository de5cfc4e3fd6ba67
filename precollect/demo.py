"""The main job on embedded defaults: ``make demo`` runs ``python -m precollect.demo``.

It works under ``data/generated/`` (ignored by git) and reuses nothing from earlier runs except
what it wrote itself, so it can be re-run at will.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.console import Console

from features.ingest import ingest, write_outputs
from precollect.cli import print_ingest_summary
from precollect.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
IBM_SAMPLE = ROOT / "data" / "samples" / "ibm-ar"
DEMO_CUSTOMERS = 400
DEMO_INVOICES = 40_000

console = Console()


def run(workdir: Path) -> None:
    """Ingest the real sample and a generated ledger, printing what the contract found."""
    from precollect.synth import generate_ledger

    console.rule("[bold]1. the IBM accounts-receivable sample")
    sample = ingest(IBM_SAMPLE, IBM_SAMPLE / "mapping.toml")
    write_outputs(sample, workdir / "ibm-ar")
    print_ingest_summary(sample.report())

    console.rule("[bold]2. a synthetic ledger (seed 7, with 1 % injected bad rows)")
    raw = workdir / "synthetic-raw"
    generate_ledger(
        raw,
        n_customers=DEMO_CUSTOMERS,
        n_invoices=DEMO_INVOICES,
        seed=7,
        start=date(2022, 1, 1),
        end=date(2025, 12, 31),
        dirty=0.01,
    )
    synthetic = ingest(raw)
    write_outputs(synthetic, workdir / "synthetic")
    print_ingest_summary(synthetic.report())
    console.print(
        f"\nclean ledgers in {workdir}/ibm-ar and {workdir}/synthetic; "
        f"quarantined rows with their reasons in */quarantine/*.csv"
    )


def main() -> None:
    run(get_settings().generated_dir)


if __name__ == "__main__":
    main()
