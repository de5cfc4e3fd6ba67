"""The ``precollect`` command line. Each command is a thin wrapper over package functions."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from features.errors import ContractViolation, LedgerError
from precollect.settings import get_settings

if TYPE_CHECKING:
    import pandas as pd

    from features.ledger import Ledger

app = typer.Typer(
    help="precollect: predict late invoices before they fall due, explain why, rank whom to contact.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

LedgerOpt = Annotated[
    str, typer.Option("--ledger", help="ledger folder (CSV/Parquet) or SQLAlchemy URL")
]
MappingOpt = Annotated[
    Path | None, typer.Option("--mapping", help="TOML mapping of your export to the ledger")
]


def fail(message: str) -> typer.Exit:
    """Print a one-line error and return the exit to raise."""
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=1)


def parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


def print_ingest_summary(report: dict) -> None:
    table = Table(title="ledger contract")
    for column in ("table", "rows in", "valid", "quarantined"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for name, counts in report["tables"].items():
        table.add_row(
            name,
            f"{counts['rows_in']:,}",
            f"{counts['rows_valid']:,}",
            f"{counts['rows_quarantined']:,}",
        )
    console.print(table)
    if report["failures"]:
        rules = Table(title="broken rules")
        for column in ("rule", "rows", "first rows (0 = first data row)"):
            rules.add_column(column)
        for f in report["failures"]:
            rules.add_row(f["rule"], f"{f['rows']:,}", ", ".join(map(str, f["example_rows"])))
        console.print(rules)


@app.command()
def ingest(
    ledger: LedgerOpt,
    out: Annotated[Path, typer.Option(help="folder for the clean ledger and the quarantine")],
    mapping: MappingOpt = None,
    report_json: Annotated[Path | None, typer.Option(help="also write the report here")] = None,
    max_bad_fraction: Annotated[
        float | None, typer.Option(help="fail above this share of bad rows [default: 0.05]")
    ] = None,
) -> None:
    """Validate a ledger, write it clean (Parquet) with a quarantine of bad rows and a report."""
    from features.ingest import ingest as run_ingest
    from features.ingest import write_outputs

    limit = get_settings().max_bad_fraction if max_bad_fraction is None else max_bad_fraction
    try:
        with console.status("reading and validating the ledger"):
            result = run_ingest(ledger, mapping)
        write_outputs(result, out, report_json)
        print_ingest_summary(result.report())
        console.print(f"clean ledger and quarantine written to {out}")
        result.check_bad_fraction(limit)
    except (LedgerError, ContractViolation) as exc:
        raise fail(str(exc)) from None


def write_frame(frame: pd.DataFrame, out: Path) -> None:
    """Write a frame as Parquet, or CSV when the name ends in .csv."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        frame.to_csv(out, index=False)
    else:
        frame.to_parquet(out, index=False)


def load_or_fail(ledger: str, mapping: Path | None) -> Ledger:
    from features.ingest import load_ledger

    try:
        with console.status("reading and validating the ledger"):
            return load_ledger(ledger, mapping, max_bad_fraction=get_settings().max_bad_fraction)
    except (LedgerError, ContractViolation) as exc:
        raise fail(str(exc)) from None


@app.command()
def features(
    ledger: LedgerOpt,
    out: Annotated[Path, typer.Option(help="output file (.parquet or .csv)")],
    as_of: Annotated[
        str | None, typer.Option(help="as-of date YYYY-MM-DD [default: the ledger's last date]")
    ] = None,
    mapping: MappingOpt = None,
    training: Annotated[
        bool, typer.Option("--training", help="write the training set (matured labels) instead")
    ] = False,
    grace_days: Annotated[
        int | None, typer.Option(min=0, help="days past due before late [default: 0]")
    ] = None,
) -> None:
    """Write point-in-time features of the invoices open at a date (or the training set)."""
    import pandas as pd

    from features.build import scoring_set, training_set

    book = load_or_fail(ledger, mapping)
    day = pd.Timestamp(parse_day(as_of) or book.last_date())
    grace = get_settings().grace_days if grace_days is None else grace_days
    with console.status("computing features"):
        build = training_set if training else scoring_set
        frame = build(book, day, grace_days=grace)
    write_frame(frame, out)
    kind = "training rows (matured labels)" if training else f"invoices open at {day.date()}"
    console.print(f"{len(frame):,} {kind}, {frame.shape[1] - 3} columns, written to {out}")


def _day_or_none(value: str | None) -> pd.Timestamp | None:
    import pandas as pd

    day = parse_day(value)
    return None if day is None else pd.Timestamp(day)


@app.command()
def train(
    ledger: LedgerOpt,
    mapping: MappingOpt = None,
    as_of: Annotated[
        str | None, typer.Option(help="train on what was known then [default: last ledger date]")
    ] = None,
    test_from: Annotated[
        str | None, typer.Option(help="first issue date of the test window [default: last 20 %]")
    ] = None,
    valid_from: Annotated[
        str | None, typer.Option(help="first issue date of the validation window")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    tune: Annotated[int, typer.Option(min=0, help="Optuna trials (0 = no tuning)")] = 0,
    metrics_out: Annotated[
        Path | None, typer.Option(help="write every metric as JSON here")
    ] = None,
    auc_margin: Annotated[float, typer.Option(help="promotion: AUC gain needed")] = 0.0,
    ece_tolerance: Annotated[float, typer.Option(help="promotion: ECE loss allowed")] = 0.02,
) -> None:
    """Train, evaluate against baselines, log to MLflow, register and maybe promote a model."""
    from pipelines.runtime import use_local_defaults

    use_local_defaults()
    from models.model import TrainParams
    from models.promotion import PromotionPolicy
    from pipelines.train import TrainRequest, train_flow

    settings = get_settings()
    request = TrainRequest(
        ledger=ledger,
        home=settings.home,
        mapping=mapping,
        as_of=_day_or_none(as_of),
        test_from=_day_or_none(test_from),
        valid_from=_day_or_none(valid_from),
        params=TrainParams(seed=seed),
        tune_trials=tune,
        grace_days=settings.grace_days,
        max_bad_fraction=settings.max_bad_fraction,
        policy=PromotionPolicy(auc_margin=auc_margin, ece_tolerance=ece_tolerance),
    )
    try:
        with console.status("training (Prefect flow 'train')"):
            summary = train_flow(request)
    except (LedgerError, ContractViolation, ValueError) as exc:
        raise fail(str(exc)) from None
    print_metrics(summary["metrics"])
    console.print(
        f"MLflow run {summary['run_id']}, model version {summary['model_version']}: "
        f"{'champion' if summary['promoted'] else 'challenger'} ({summary['promotion_reason']})"
    )
    if metrics_out is not None:
        metrics_out.parent.mkdir(parents=True, exist_ok=True)
        metrics_out.write_text(json.dumps(summary, indent=2, default=str))


def print_metrics(metrics: dict[str, dict[str, float]]) -> None:
    table = Table(title="test window: model vs baselines")
    names = [
        "roc_auc",
        "pr_auc",
        "brier",
        "ece",
        "ks",
        "lift_top_decile",
        "late_amount_top10",
        "late_amount_top10_by_amount",
    ]
    table.add_column("scorer")
    for name in names:
        table.add_column(name.replace("_", " "), justify="right")
    for scorer, values in metrics.items():
        table.add_row(scorer, *(f"{values[n]:.3f}" for n in names))
    console.print(table)


@app.command()
def promote(
    version: Annotated[str, typer.Option(help="model version to make champion")],
    reason: Annotated[str, typer.Option(help="why (recorded on the model version)")],
) -> None:
    """Make a model version the champion by hand, recording the reason."""
    from mlflow.exceptions import MlflowException

    from models import registry, tracking

    tracking.configure(get_settings().home)
    try:
        registry.promote_by_hand(version, reason)
    except MlflowException as exc:
        raise fail(f"cannot promote version {version}: {exc.message}") from None
    console.print(f"version {version} is now the champion ({reason})")


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="folder to write the ledger to")],
    customers: Annotated[int, typer.Option(min=1, help="number of customers")] = 500,
    invoices: Annotated[int, typer.Option(min=1, help="number of invoices")] = 50_000,
    seed: Annotated[int, typer.Option(help="random seed; same seed, same ledger")] = 0,
    start: Annotated[str, typer.Option(help="first issue date (YYYY-MM-DD)")] = "2022-01-01",
    end: Annotated[str, typer.Option(help="extraction date (YYYY-MM-DD)")] = "2025-12-31",
    dirty: Annotated[
        float, typer.Option(min=0, max=0.5, help="share of extra bad rows to inject")
    ] = 0.0,
) -> None:
    """Generate a realistic synthetic ledger (seeded, scalable to millions of invoices)."""
    from rich.progress import Progress

    from precollect.synth import generate_ledger

    first, last = parse_day(start), parse_day(end)
    assert first is not None and last is not None
    if last <= first:
        raise fail("--end must be after --start")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("generating invoices", total=invoices)
        summary = generate_ledger(
            out,
            n_customers=customers,
            n_invoices=invoices,
            seed=seed,
            start=first,
            end=last,
            dirty=dirty,
            progress=lambda n: progress.advance(task, n),
        )
    console.print(f"synthetic ledger written to {out}")
    typer.echo(json.dumps(_jsonable(summary), default=str))


def _jsonable(obj: object) -> dict:
    from dataclasses import asdict, is_dataclass

    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else {"result": obj}


def main() -> None:
    app()


if __name__ == "__main__":
    main()
