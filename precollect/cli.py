"""The ``precollect`` command line. Each command is a thin wrapper over package functions."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from features.ledger.errors import ContractViolation, LedgerError, LedgerMismatch

if TYPE_CHECKING:
    import pandas as pd

    from features.ledger.ledger import Ledger
    from serving.settings import Settings

app = typer.Typer(
    help="precollect: predict late invoices before they fall due, explain why, rank whom to contact.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: "[default: ...]" is text, not Rich markup, and flags are flags
    context_settings={"show_default": True, "max_content_width": 100},
)
console = Console(stderr=True, width=None if sys.stderr.isatty() else 130)

LedgerOpt = Annotated[
    str, typer.Option("--ledger", help="ledger folder (CSV/Parquet) or SQLAlchemy URL")
]
MappingOpt = Annotated[
    Path | None, typer.Option("--mapping", help="TOML mapping of your export to the ledger")
]
ModelAliasOpt = Annotated[
    str | None,
    typer.Option(help="registry alias or version [default: PRECOLLECT_MODEL_ALIAS, else champion]"),
]
DaskOpt = Annotated[
    str | None,
    typer.Option(
        "--dask",
        metavar="ADDRESS",
        help="run on Dask: a scheduler address (tcp://host:8786), or 'local' for a LocalCluster "
        "of this machine's cores [default: PRECOLLECT_DASK_ADDRESS, else in memory]",
    ),
]
CapacityOpt = Annotated[
    int | None,
    typer.Option(
        help="human contacts per day [default: PRECOLLECT_WORKLIST_CAPACITY, else the "
        "playbook's, else 50]"
    ),
]
PlaybookOpt = Annotated[
    Path | None,
    typer.Option(help="TOML worklist rules and limits [default: PRECOLLECT_WORKLIST_PLAYBOOK]"),
]


def settings() -> Settings:
    """The settings, read from the environment when a command runs."""
    from serving.settings import Settings

    return Settings()


def fail(message: str) -> typer.Exit:
    """Print a one-line error and return the exit to raise."""
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
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
    from features.ledger.ingest import ingest as run_ingest
    from features.ledger.ingest import write_outputs

    limit = settings().max_bad_fraction if max_bad_fraction is None else max_bad_fraction
    try:
        with console.status("reading and validating the ledger"):
            result = run_ingest(ledger, mapping)
        print_ingest_summary(result.report())
        write_outputs(result, out, report_json, max_bad_fraction=limit)
        console.print(f"clean ledger and quarantine written to {out}", highlight=False)
    except (LedgerError, ContractViolation) as exc:
        raise fail(str(exc)) from None


def write_frame(frame: pd.DataFrame, out: Path) -> None:
    from serving.store.publish import write_frame as write

    write(frame, out)


def load_or_fail(ledger: str, mapping: Path | None) -> Ledger:
    from features.ledger.ingest import load_ledger

    try:
        with console.status("reading and validating the ledger"):
            return load_ledger(ledger, mapping, max_bad_fraction=settings().max_bad_fraction)
    except (LedgerError, ContractViolation) as exc:
        raise fail(str(exc)) from None


@app.command()
def features(
    ledger: LedgerOpt,
    out: Annotated[Path, typer.Option(help="output file (.parquet or .csv)")],
    as_of: Annotated[
        str | None,
        typer.Option(help="as-of date YYYY-MM-DD [default: the ledger's extraction date]"),
    ] = None,
    mapping: MappingOpt = None,
    training: Annotated[
        bool, typer.Option("--training", help="write the training set (matured labels) instead")
    ] = False,
    grace_days: Annotated[
        int | None, typer.Option(min=0, help="days past due before late [default: 0]")
    ] = None,
    dask: DaskOpt = None,
) -> None:
    """Write point-in-time features of the invoices open at a date (or the training set)."""
    import pandas as pd

    from features.build import scoring_set, training_set
    from pipelines.cluster import dask_client

    book = load_or_fail(ledger, mapping)
    day = pd.Timestamp(parse_day(as_of) or book.default_as_of())
    grace = settings().grace_days if grace_days is None else grace_days
    address = dask or settings().dask_address
    with console.status("computing features"), dask_client(address) as client:
        if client is None:
            build = training_set if training else scoring_set
            frame = build(book, day, grace_days=grace)
        else:
            from features.distributed import cluster_buckets, ledger_features_on_dask

            buckets = cluster_buckets(client, len(book.invoices))
            lazy = ledger_features_on_dask(
                book,
                day,
                n_buckets=buckets,
                mode="training" if training else "scoring",
                grace_days=grace,
            )
            frame = lazy.compute().sort_values(["invoice_id", "as_of"], ignore_index=True)
    write_frame(frame, out)
    kind = "training rows (matured labels)" if training else f"invoices open at {day.date()}"
    console.print(f"{len(frame):,} {kind}, {frame.shape[1] - 3} columns, written to {out}")


def _days_list(text: str) -> tuple[int, ...]:
    """``14,7,3`` as days; ``none`` as no snapshot."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        days = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a list of days such as 14,7,3") from None
    if any(d < 1 for d in days):
        raise typer.BadParameter("snapshot days must be at least 1")
    return days


def _day_or_none(value: str | None) -> pd.Timestamp | None:
    import pandas as pd

    day = parse_day(value)
    return None if day is None else pd.Timestamp(day)


@app.command()
def train(
    ledger: LedgerOpt,
    mapping: MappingOpt = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="train on what was known then [default: the ledger's extraction date]"),
    ] = None,
    test_from: Annotated[
        str | None, typer.Option(help="first issue date of the test window [default: last 20 %]")
    ] = None,
    valid_from: Annotated[
        str | None,
        typer.Option(help="first issue date of the validation window [default: as long, before]"),
    ] = None,
    folds: Annotated[
        int | None,
        typer.Option(min=1, help="rolling-origin folds [default: PRECOLLECT_TRAIN_FOLDS, else 3]"),
    ] = None,
    snapshots: Annotated[
        str | None,
        typer.Option(
            help="days before due at which invoices are also trained on, e.g. 14,7,3, or "
            "'none' for the issue date only [default: 14,7,3]"
        ),
    ] = None,
    model_name: Annotated[
        str | None,
        typer.Option(help="register under this name [default: precollect-<ledger name>]"),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="random seed [default: PRECOLLECT_TRAIN_SEED, else 0]")
    ] = None,
    tune: Annotated[int, typer.Option(min=0, help="Optuna trials (0 = no tuning)")] = 0,
    metrics_out: Annotated[
        Path | None, typer.Option(help="write every metric as JSON here")
    ] = None,
    auc_margin: Annotated[
        float | None,
        typer.Option(
            help="promotion: AUC gain needed [default: PRECOLLECT_TRAIN_AUC_MARGIN, else 0]"
        ),
    ] = None,
    ece_tolerance: Annotated[
        float | None,
        typer.Option(
            help="promotion: ECE loss allowed [default: PRECOLLECT_TRAIN_ECE_TOLERANCE, else 0.02]"
        ),
    ] = None,
    min_test_rows: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="promotion: test rows needed [default: PRECOLLECT_TRAIN_MIN_TEST_ROWS, else 200]",
        ),
    ] = None,
    dask: DaskOpt = None,
) -> None:
    """Evaluate out of time against baselines, refit on every matured row, log to MLflow,
    register under the ledger's name and promote when it is fairly better."""
    from pipelines.runtime import hidden, use_local_defaults

    use_local_defaults()
    from dataclasses import replace

    from models.training.fit import TrainParams
    from pipelines.train import TrainRequest, run_train

    training = settings().training
    policy = training.policy()
    overrides: dict[str, Any] = {
        "auc_margin": auc_margin,
        "ece_tolerance": ece_tolerance,
        "min_test_rows": min_test_rows,
    }
    policy = replace(policy, **{k: v for k, v in overrides.items() if v is not None})
    params = TrainParams(seed=training.seed if seed is None else seed)
    if snapshots is not None:
        params = replace(params, snapshots=_days_list(snapshots))
    request = TrainRequest(
        ledger=hidden(ledger),  # a flow parameter: Prefect stores it
        mapping=mapping,
        as_of=_day_or_none(as_of),
        test_from=_day_or_none(test_from),
        valid_from=_day_or_none(valid_from),
        params=params,
        tune_trials=tune,
        folds=folds,
        policy=policy,
        model_name=model_name,
        dask=dask,
    )
    try:
        with console.status("training"):
            summary = run_train(request)
    except (LedgerError, ContractViolation, ValueError) as exc:
        raise fail(str(exc)) from None
    print_metrics(summary["metrics"])
    print_rolling(summary["rolling"])
    refit = summary["refit"]
    console.print(
        f"refit on {refit['rows']:,} matured rows issued {refit['window']['first_issue']} to "
        f"{refit['window']['last_issue']} ({refit['trees']} trees)\n"
        f"MLflow run {summary['run_id']}, {summary['model_name']} version "
        f"{summary['model_version']}: "
        f"{'champion' if summary['promoted'] else 'challenger'} ({summary['promotion_reason']})",
        highlight=False,
    )
    print_pay_dates(summary["pay_dates"])
    if metrics_out is not None:
        metrics_out.parent.mkdir(parents=True, exist_ok=True)
        metrics_out.write_text(json.dumps(summary, indent=2, default=str))


def print_pay_dates(pay: dict) -> None:
    """The pay-date model's out-of-time figures next to the naive forecasts, and its verdict."""
    figures = pay["evaluation"]
    if figures:
        table = Table(title="pay dates out of time (open invoices then paid)", title_justify="left")
        for column in ("forecast", "pay-date MAE (days)", "weekly WAPE 1-4", "weekly WAPE 5-13"):
            table.add_column(column, justify="right" if column != "forecast" else "left")
        for key, label in (
            ("model", "model"),
            ("customer_mean", "customer's mean days to pay"),
            ("due_date", "everyone pays on the due date"),
        ):
            table.add_row(
                label,
                f"{figures[f'mae_{key}']:.1f}",
                f"{figures[f'wape_1_4_{key}']:.1%}",
                f"{figures[f'wape_5_13_{key}']:.1%}",
            )
        console.print(table)
        console.print(
            f"P10-P90 covered {figures['coverage']:.0%} of {figures['paid_in_horizon']:.0f} "
            f"invoices (raw {figures['coverage_raw']:.0%}); weekly actuals inside the P10-P90 "
            f"band: {figures['band_coverage']:.0%}",
            highlight=False,
        )
    state = "champion" if pay["promoted"] else "challenger"
    console.print(
        f"{pay['model_name']} version {pay['model_version']}: {state} ({pay['promotion_reason']})",
        highlight=False,
    )


def print_rolling(rolling: dict) -> None:
    """The rolling-origin folds: ROC-AUC and ECE of the model at each, mean and spread."""
    folds = rolling["folds"]
    if len(folds) < 2:
        return
    table = Table(title=f"rolling origin: {len(folds)} folds, each trained on what was known then")
    for column in ("as of", "test rows", "model roc auc", "best baseline roc auc", "model ece"):
        table.add_column(column, justify="left" if column == "as of" else "right")
    for fold in folds:
        metrics = fold["metrics"]
        best = max(v["roc_auc"] for k, v in metrics.items() if k != "model")
        table.add_row(
            fold["as_of"],
            f"{fold['test_rows']:,}",
            f"{metrics['model']['roc_auc']:.3f}",
            f"{best:.3f}",
            f"{metrics['model']['ece']:.3f}",
        )
    summary = rolling["summary"]["model"]
    table.add_row(
        "mean ± spread",
        "",
        f"{summary['roc_auc']['mean']:.3f} ± {summary['roc_auc']['std']:.3f}",
        "",
        f"{summary['ece']['mean']:.3f} ± {summary['ece']['std']:.3f}",
    )
    console.print(table)


def print_metrics(metrics: dict[str, dict[str, float]]) -> None:
    from models.training.metrics import HEADLINE

    table = Table(title="test window: model vs baselines")
    table.add_column("scorer")
    for name in HEADLINE:
        table.add_column(name.replace("_", " "), justify="right")
    for scorer, values in metrics.items():
        table.add_row(scorer, *(f"{values[n]:.3f}" for n in HEADLINE))
    console.print(table)


@app.command()
def promote(
    model_name: Annotated[str, typer.Option(help="the registered model, precollect-<ledger name>")],
    version: Annotated[str, typer.Option(help="model version to make champion")],
    reason: Annotated[str, typer.Option(help="why (recorded on the model version)")],
) -> None:
    """Make a model version the champion by hand, recording the reason."""
    from mlflow.exceptions import MlflowException

    from models.registry import registry, tracking

    tracking.configure(settings().home)
    try:
        registry.promote_by_hand(model_name, version, reason)
    except MlflowException as exc:
        raise fail(f"cannot promote {model_name} version {version}: {exc.message}") from None
    console.print(f"{model_name} version {version} is now the champion ({reason})")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def print_worklist(work: pd.DataFrame, rows: int = 8) -> None:
    """The first ``rows`` accounts of each queue, in the order the queues are served."""
    from serving.formats import words

    table = Table(title=f"outreach worklist ({len(work)} accounts; top {rows} of each queue)")
    for column, right in (
        ("#", True),
        ("queue", False),
        ("account", False),
        ("segment", False),
        ("treatment", False),
        ("EV", True),
        ("at risk", True),
        ("risk", True),
        ("today", False),
    ):
        widths = {"#": 3, "risk": 7, "treatment": 19, "queue": 17, "account": 8, "segment": 13}
        table.add_column(
            column, justify="right" if right else "left", no_wrap=True, min_width=widths.get(column)
        )
    shown = work.groupby("queue", sort=False).head(rows) if "queue" in work else work.head(rows)
    for row in shown.to_dict("records"):
        risk = (
            "overdue" if row["risk"] is None or row["risk"] != row["risk"] else f"{row['risk']:.0%}"
        )
        today = "contact" if row["contact"] else f"skip: {row['skip_reason']}"
        value = row.get("expected_value")
        arm = " (control)" if row.get("arm") == "control" else ""
        table.add_row(
            str(row["rank"]),
            str(row.get("queue", "")),
            str(row["customer_id"]),
            str(row.get("segment") or ""),
            words(row["treatment"]) + arm,
            "" if value is None or value != value else f"{value:,.2f}",
            f"{row['amount_at_risk']:,.0f}",
            risk,
            _clip(today, 30),
        )
    console.print(table)
    if "value_reason" in work:
        first = work[(work["queue"] == "pre_due") & work["contact"]].head(3)
        for row in first.to_dict("records"):
            console.print(f"  {row['customer_id']}: {row['value_reason']}", highlight=False)


@app.command()
def score(
    ledger: LedgerOpt,
    as_of: Annotated[
        str | None,
        typer.Option(help="score the invoices open then [default: the ledger's extraction date]"),
    ] = None,
    mapping: MappingOpt = None,
    model_alias: ModelAliasOpt = None,
    model_name: Annotated[
        str | None,
        typer.Option(
            help="use this registered model, even one trained on another ledger "
            "[default: the ledger's own, precollect-<ledger name>]"
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="also write scores to this .csv/.parquet")
    ] = None,
    capacity: CapacityOpt = None,
    playbook: PlaybookOpt = None,
    dask: DaskOpt = None,
) -> None:
    """Score and explain the open invoices, store the batch, and build today's worklist."""
    from pipelines.runtime import hidden, use_local_defaults

    use_local_defaults()
    from models.decisions.playbook import PlaybookError
    from pipelines.score import ScoreRequest, run_score

    current = settings()
    alias = model_alias or current.model_alias
    request = ScoreRequest(
        ledger=hidden(ledger),  # a flow parameter: Prefect stores it
        as_of=_day_or_none(as_of),
        mapping=mapping,
        model_alias=alias,
        model_name=model_name,
        out=out,
        capacity=capacity,
        playbook=playbook,
        dask=dask,
    )
    try:
        with console.status("scoring"), store_failures(current.store_url):
            summary = run_score(request)
    except (LedgerError, ContractViolation, LedgerMismatch, PlaybookError) as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # the registry may have no model under that alias yet
        if type(exc).__name__ == "MlflowException":
            raise fail(
                f"no model '{alias}' of this ledger in the registry: run precollect train on it "
                "first (or choose one with --model-name)"
            ) from None
        raise
    console.print(
        f"scored {summary['invoices']:,} open invoices of {summary['accounts']:,} accounts "
        f"as of {summary['as_of']} with model version {summary['model_version']}; "
        f"stored in {_redacted(current.store_url)}"
    )
    print_worklist(summary["worklist"])


def _redacted(url: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)


@contextmanager
def store_failures(url: str) -> Iterator[None]:
    """Turn a store the database refuses (read-only file, unreachable server) into one line."""
    import sqlalchemy as sa

    from serving.store.store import describe_failure

    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        raise fail(describe_failure(url, exc)) from None


def _stored_batch(as_of: str | None) -> dict:
    from serving.store.store import ScoreStore

    store = ScoreStore.from_settings(settings())
    store.migrate()
    batch = store.latest_batch(_day_or_none(as_of))
    if batch is None:
        raise fail(
            f"no scores stored{' for ' + as_of if as_of else ''}: run precollect score first"
        )
    return {"store": store, **batch}


@app.command()
def worklist(
    as_of: Annotated[
        str | None, typer.Option(help="date of the stored scores [default: latest]")
    ] = None,
    capacity: CapacityOpt = None,
    playbook: PlaybookOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="also write the worklist to .csv/.parquet")
    ] = None,
) -> None:
    """Rebuild the ranked outreach worklist from stored scores (also written to the store).

    Queues, filled in this order, each with its own daily capacity: pre_due (25), then
    promise_follow_up (5), dispute (10) and overdue (10), all within capacity (50); the pre-due
    queue is filled first, so the others never starve it. Pre-due accounts are ranked by the
    EV of the contact: P(late) x uplift x (open amount x days of lateness avoided x daily cost of
    capital + expected loss avoided) - contact cost; low-risk accounts get automated treatments
    and come last. 10 % of eligible pre-due accounts (hash-seeded) get the default treatment
    instead (arm control).

    The playbook is TOML: [worklist] capacity, queue_capacity, collector_capacity (per collector
    named in the flags' queue column, "*" for any; default none), max_contacts (7) within
    contact_window_days (7), pre_due_days (14), annual_cost_of_capital (0.10), contact_cost per
    channel (call 8, email 1, automated 0.05), default_days_late (15), loss_share_if_late
    (0.02), min_expected_value (none: the pre-due queue uses its capacity), control_share
    (0.10), default_treatment (automated_reminder), experiment_salt;
    [treatments.NAME] channel, uplift, days_earlier; then [[rules]], first match wins, each
    with treatment and reason (required), manual (true), queue (pre_due), and the optional
    conditions disputed, overdue, broken_promise, risk_bands, segments, min_open_amount,
    min_trend. Unknown keys are refused; the README lists the default rules and priors.
    """
    from models.decisions.playbook import PlaybookError
    from serving.store.publish import rebuild_worklist

    current = settings()
    try:
        config = current.worklist.config(capacity, playbook)
    except PlaybookError as exc:
        raise fail(str(exc)) from None
    with store_failures(current.store_url):
        batch = _stored_batch(as_of)
        store = batch["store"]
        frames = store.batch_frames(batch["as_of"], batch["model_version"])
        stored_dates = frames.get("pay_dates")
        work = rebuild_worklist(
            store,
            frames["invoice_scores"],
            frames["account_scores"],
            pd_timestamp(batch["as_of"]),
            batch["model_version"],
            config,
            pay_dates=stored_dates if stored_dates is not None and len(stored_dates) else None,
        )
    if out is not None:
        write_frame(work, out)
    print_worklist(work)


def pd_timestamp(value: object) -> pd.Timestamp:
    import pandas as pd

    return pd.Timestamp(value)  # type: ignore[arg-type]


@app.command()
def report(
    out: Annotated[Path, typer.Option(help="HTML file to write")],
    as_of: Annotated[
        str | None, typer.Option(help="date of the stored scores [default: latest]")
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="how many accounts")] = 20,
) -> None:
    """Write the managers' HTML report of the riskiest accounts, with reasons and charts."""
    from serving.report import render_report

    with store_failures(settings().store_url):
        batch = _stored_batch(as_of)
        frames = batch["store"].batch_frames(batch["as_of"], batch["model_version"])
    html = render_report(
        frames["invoice_scores"],
        frames["account_scores"],
        frames["reasons"],
        p_base=batch["p_base"],
        as_of=pd_timestamp(batch["as_of"]),
        model_version=batch["model_version"],
        top=top,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html)
    console.print(f"report of the {top} riskiest accounts written to {out}")


@app.command()
def backtest(
    ledger: LedgerOpt,
    from_: Annotated[str, typer.Option("--from", help="first day to replay (YYYY-MM-DD)")],
    to: Annotated[str, typer.Option(help="last day to replay (YYYY-MM-DD)")],
    capacity: Annotated[int, typer.Option(min=1, help="accounts contacted per day")] = 10,
    mapping: MappingOpt = None,
    champion: Annotated[
        bool, typer.Option("--champion", help="use the current champion instead of retraining")
    ] = False,
    retrain_every: Annotated[int, typer.Option(min=1, help="days between retrainings")] = 30,
    out: Annotated[
        Path | None, typer.Option(help="write the daily figures to .csv/.parquet")
    ] = None,
) -> None:
    """Replay past days: late amount the worklist reached before due vs ordering by amount and age."""
    import mlflow
    from rich.progress import Progress

    from models.decisions.backtest import backtest_figure, run_backtest
    from models.registry import loading, tracking
    from models.registry.aliases import CHAMPION

    book = load_or_fail(ledger, mapping)
    start, end = _day_or_none(from_), _day_or_none(to)
    assert start is not None and end is not None
    experiment = tracking.configure(settings().home)
    name = settings().model_name or tracking.model_name(book.name)
    model = loading.load_model(name, CHAMPION)[0] if champion else None
    days = (end - start).days + 1
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("replaying days", total=days)
        result = run_backtest(
            book,
            start,
            end,
            capacity,
            model=model,
            retrain_every=retrain_every,
            grace_days=settings().grace_days,
            progress=lambda _day: progress.advance(task),
        )
    with mlflow.start_run(experiment_id=experiment, run_name=f"backtest {from_} to {to}"):
        mlflow.log_params(
            {
                "from": from_,
                "to": to,
                "capacity": capacity,
                "champion": champion,
                "retrain_every": retrain_every,
            }
        )
        mlflow.log_metrics({f"backtest.{k}": v for k, v in result.summary.items()})
        mlflow.log_figure(backtest_figure(result), "plots/backtest.png")
    if out is not None:
        write_frame(result.daily, out)
    s = result.summary
    console.print(
        f"late amount due in the window: {s['late_amount']:,.0f} ({int(s['late_invoices'])} invoices)\n"
        f"reached before due by the worklist:      {s['share.model']:.1%}\n"
        f"reached before due by amount and age:   {s['share.amount_and_age']:.1%}\n"
        f"ratio: {s['ratio_model_vs_amount_and_age']:.2f}x (logged to MLflow)"
    )


WeeksOpt = Annotated[int, typer.Option(min=1, max=13, help="weeks to forecast")]


@app.command()
def forecast(
    ledger: LedgerOpt,
    out: Annotated[Path, typer.Option(help="weekly forecast (.csv/.parquet)")],
    as_of: Annotated[
        str | None,
        typer.Option(
            help="forecast the invoices open then [default: the ledger's extraction date]"
        ),
    ] = None,
    mapping: MappingOpt = None,
    weeks: WeeksOpt = 13,
    daily_out: Annotated[
        Path | None, typer.Option(help="also write the expected collections per day here")
    ] = None,
    pay_dates_out: Annotated[
        Path | None, typer.Option(help="also write each open invoice's pay dates here")
    ] = None,
    simulations: Annotated[
        int, typer.Option(min=100, help="simulated paths for the P10-P90 band")
    ] = 1000,
    model_alias: Annotated[
        str, typer.Option(help="registry alias or version of the pay-date model")
    ] = "champion",
    model_name: Annotated[
        str | None,
        typer.Option(help="late-payment model whose pay-date model to use [default: the ledger's]"),
    ] = None,
) -> None:
    """Cash-in forecast: expected collections per week from the open invoices, with a P10-P90
    band simulated from their pay-date distributions (columns week_start, expected, p10, p50,
    p90, and forecast_dso: the 90-day DSO at the week's end, new invoices issued at the recent
    pace and settling as recent ones did)."""
    import pandas as pd

    from models.paydates.forecast import forecast_open_invoices
    from models.paydates.predict import pay_dates
    from models.registry import tracking
    from models.registry.paydates import load_pay_model

    book = load_or_fail(ledger, mapping)
    day = pd.Timestamp(parse_day(as_of) or book.default_as_of())
    name = model_name or settings().model_name or tracking.model_name(book.name)
    tracking.configure(settings().home)
    try:
        model, version = load_pay_model(name, model_alias)
    except LookupError:
        raise fail(
            f"no pay-date model '{model_alias}' of {name} in the registry: run precollect train "
            "on this ledger first (or choose one with --model-name)"
        ) from None
    with console.status(f"forecasting the invoices open at {day.date()}"):
        found = forecast_open_invoices(
            book, day, model, grace_days=settings().grace_days, weeks=weeks, simulations=simulations
        )
    result = found.forecast
    weekly = with_forecast_dso(book, day, result.weekly)
    write_frame(weekly, out)
    if daily_out is not None:
        write_frame(result.daily, daily_out)
    if pay_dates_out is not None:
        dates = pay_dates(model, found.features, found.cdf)
        keys = found.features[["invoice_id", "customer_id", "as_of", "days_until_due"]]
        write_frame(pd.concat([keys, dates], axis=1), pay_dates_out)
    print_forecast(result, weekly, day, version, len(found.features))
    console.print(f"written to {out}", highlight=False)


def with_forecast_dso(book: Any, day: pd.Timestamp, weekly: pd.DataFrame) -> pd.DataFrame:
    """The weekly forecast with ``forecast_dso``: the 90-day DSO at each week's end."""
    from models.decisions.kpis import forecast_dso

    return weekly.assign(forecast_dso=forecast_dso(book, day, weekly)["dso"].to_numpy())


def print_forecast(
    result: Any, weekly: pd.DataFrame, day: pd.Timestamp, version: str, invoices: int
) -> None:
    """The weekly forecast (``weekly``: with its DSO) as a table, and where the open amount
    goes."""
    table = Table(title=f"cash-in forecast as of {day.date()} (pay-date model v{version})")
    for column in ("week from", "expected", "p10", "p90", "DSO at its end"):
        table.add_column(column, justify="right")
    for row in weekly.itertuples():
        table.add_row(
            str(row.week_start.date()),
            f"{row.expected:,.0f}",
            f"{row.p10:,.0f}",
            f"{row.p90:,.0f}",
            f"{row.forecast_dso:.1f}",
        )
    console.print(table)
    weeks = len(result.weekly)
    console.print(
        f"{invoices:,} open invoices, {result.open_amount:,.0f} open; "
        f"{result.weekly['expected'].sum():,.0f} expected within {weeks} weeks, "
        f"{result.beyond:,.0f} later or never",
        highlight=False,
    )


@app.command()
def kpis(
    ledger: LedgerOpt,
    out: Annotated[Path, typer.Option(help="KPI trend, one row per month end (.csv/.parquet)")],
    start: Annotated[str, typer.Option("--from", help="first month YYYY-MM-DD")],
    end: Annotated[
        str | None,
        typer.Option("--to", help="last date YYYY-MM-DD [default: the ledger's extraction date]"),
    ] = None,
    mapping: MappingOpt = None,
    dso_days: Annotated[int, typer.Option(min=1, help="days of sales behind DSO")] = 90,
    by: Annotated[
        str, typer.Option(help="also one row per value of this customer column, e.g. segment")
    ] = "",
) -> None:
    """AR KPIs at each month end, point in time: DSO (standard and countback), best possible
    DSO, average days delinquent, CEI over the month, aging buckets and the share current."""
    import pandas as pd

    from models.decisions.kpis import kpi_trend

    book = load_or_fail(ledger, mapping)
    first = pd.Timestamp(parse_day(start))
    last = pd.Timestamp(parse_day(end) or book.default_as_of())
    if last < first:
        raise fail(f"--to {last.date()} is before --from {first.date()}")
    with console.status("computing the KPIs"):
        trend = kpi_trend(book, first, last, dso_days, by)
    write_frame(trend, out)
    table = Table(title=f"AR KPIs ({dso_days}-day DSO)")
    for column in ("month end", "DSO", "countback", "best", "ADD", "CEI", "current", "AR"):
        table.add_column(column, justify="right")
    for row in trend[trend["group"] == "all"].itertuples():
        table.add_row(
            str(row.as_of.date()),
            f"{row.dso:.1f}",
            f"{row.countback_dso:.1f}",
            f"{row.best_possible_dso:.1f}",
            f"{row.add:.1f}",
            f"{row.cei:.1f}",
            f"{row.share_current:.0%}",
            f"{row.total:,.0f}",
        )
    console.print(table)
    console.print(f"{len(trend):,} rows written to {out}", highlight=False)


def _interval(value: float, low: float, high: float, fmt: str) -> str:
    import math

    if math.isnan(value):
        return "-"
    if math.isnan(low):
        return format(value, fmt)
    return f"{format(value, fmt)} [{format(low, fmt)}, {format(high, fmt)}]"


@app.command()
def uplift(
    ledger: LedgerOpt,
    start: Annotated[str, typer.Option("--from", help="first worklist day YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="last worklist day YYYY-MM-DD")],
    mapping: MappingOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="also write one row per account (.csv/.parquet)")
    ] = None,
    draws: Annotated[int, typer.Option(min=100, help="bootstrap draws")] = 2000,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
) -> None:
    """Did pre-due outreach help? By experiment arm (treatment, control) and their difference:
    late rate, days late and amount collected before due, with 95% percentile-bootstrap
    intervals (accounts resampled within each arm).

    Each account counts once, on its first worklist day in the range, with the invoice the
    worklist named if it was not yet due; outcomes come from the ledger's payments (the store
    holds no payments) as known at its extraction date, and whether a contact was recorded
    between the worklist day and the due date from the stored contacts. Worklists without an arm
    column count every account as treatment, and the report says so."""
    from models.decisions.promises import payments_of
    from models.decisions.uplift import arms_recorded, uplift_report, uplift_units
    from serving.store.store import ScoreStore

    first, last = pd_timestamp(parse_day(start)), pd_timestamp(parse_day(end))
    if last < first:
        raise fail(f"--to {last.date()} is before --from {first.date()}")
    book = load_or_fail(ledger, mapping)
    current = settings()
    with store_failures(current.store_url):
        store = ScoreStore.from_settings(current)
        store.migrate()
        worklists = store.worklist_history(first, last)
        contacts = store.contacts(since=first.to_pydatetime())
    if worklists.empty:
        raise fail(f"no worklist stored from {first.date()} to {last.date()}")
    units = uplift_units(
        worklists,
        book.invoices,
        payments_of(book.invoices, book.payments),
        contacts,
        observed=book.default_as_of(),
        grace_days=current.grace_days,
    )
    report = uplift_report(units, draws=draws, seed=seed, arm_recorded=arms_recorded(worklists))
    table = Table(title=f"outreach by arm, worklists {first.date()} to {last.date()}")
    for column in (
        "arm",
        "accounts",
        "late rate",
        "days late",
        "collected before due / account",
        "contacted",
    ):
        table.add_column(column, justify="left" if column == "arm" else "right")
    for row in report.table.to_dict("records"):
        table.add_row(
            str(row["arm"]),
            "" if row["arm"] == "difference" else f"{row['accounts']:,}",
            _interval(row["late"], row["late_low"], row["late_high"], ".1%"),
            _interval(row["days_late"], row["days_late_low"], row["days_late_high"], ".1f"),
            _interval(
                row["collected_before_due"],
                row["collected_before_due_low"],
                row["collected_before_due_high"],
                ",.0f",
            ),
            _interval(row["contacted"], row["contacted_low"], row["contacted_high"], ".0%"),
        )
    console.print(table)
    for note in report.notes:
        console.print(note, highlight=False)
    if out is not None:
        write_frame(report.units, out)
        console.print(f"{len(report.units):,} accounts written to {out}", highlight=False)


@app.command()
def messages(
    out: Annotated[Path, typer.Option(help="folder for messages.csv and messages.json")],
    as_of: Annotated[
        str | None, typer.Option(help="date of the stored worklist [default: latest]")
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option(help="currency of the amounts [default: PRECOLLECT_WORKLIST_CURRENCY, EUR]"),
    ] = None,
) -> None:
    """Write the messages of today's outreach: for each worklist account to contact, one per
    channel of its treatment (email, SMS, call script), from the Jinja templates in
    serving/templates/messages, in the customer's words. messages.csv is a mail merge
    (customer_id, invoice_id, treatment, channel, tone, amount, currency, due_date, subject,
    body, instalments); messages.json carries the same for a CRM. The do-not-contact flags and
    the contact cap apply as they stand now."""
    import pandas as pd

    from models.decisions.worklist import enforce_contact_rules, read_end
    from serving.messages import messages_for, write_messages

    current = settings()
    config = current.worklist.config()
    with store_failures(current.store_url):
        batch = _stored_batch(as_of)
        store = batch["store"]
        frames = store.batch_frames(batch["as_of"], batch["model_version"])
        work = store.worklist(pd_timestamp(batch["as_of"]))
        work = work[work["model_version"].astype(str) == str(batch["model_version"])]
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        end = read_end(work["as_of"].iloc[0] if len(work) else batch["as_of"], now)
        since = (end - pd.Timedelta(days=config.contact_window_days)).tz_localize("UTC")
        customers = work["customer_id"].astype(str).tolist()
        contacts = store.contacts(since=since.to_pydatetime(), customer_ids=customers)
        work = enforce_contact_rules(work, config, contacts, store.flags(customers), end)
    written = messages_for(work, frames["invoice_scores"], currency or current.worklist.currency)
    csv, as_json = write_messages(written, out)
    by_channel = written["channel"].value_counts().to_dict()
    shown = ", ".join(f"{n:,} {c}" for c, n in sorted(by_channel.items())) or "none"
    console.print(
        f"{len(written):,} messages for {written['customer_id'].nunique():,} accounts "
        f"({shown}) written to {csv} and {as_json}",
        highlight=False,
    )


@app.command("import-contacts")
def import_contacts(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with customer_id, contacted_at, channel[, invoice_id, outcome, "
            "promised_date, promised_amount, note, idempotency_key]"
        ),
    ],
) -> None:
    """Record past outreach contacts and their outcomes (they count towards the contact cap).

    outcome is one of reached, no_answer, promise_to_pay, dispute_raised, paid, refused (or
    empty); a promise_to_pay needs promised_date (YYYY-MM-DD) and promised_amount. All or
    nothing: a broken file records no contact. Each contact's idempotency_key (default: derived
    from customer, time, channel and invoice) is stored once, so importing the same file again
    changes nothing; a key already stored with other content refuses the whole file."""
    from serving.store.imports import BadImport, conflict_message, parse_contacts
    from serving.store.store import ContactConflict, ScoreStore

    try:
        frame = parse_contacts(file)
    except BadImport as exc:
        raise fail(str(exc)) from None
    current = settings()
    with store_failures(current.store_url):
        store = ScoreStore.from_settings(current)
        store.migrate()
        try:
            recorded, skipped = store.record_contacts(frame, recorded_by="csv import")
        except ContactConflict as exc:
            raise fail(conflict_message(file, exc.positions)) from None
    console.print(f"{recorded:,} contacts recorded, {skipped:,} already recorded (skipped)")


@app.command("import-flags")
def import_flags(
    file: Annotated[
        Path, typer.Argument(help="CSV with customer_id, do_not_contact (yes/no)[, queue]")
    ],
) -> None:
    """Set do-not-contact flags and collector queues per customer (the API applies them at once)."""
    from serving.store.imports import BadImport, parse_flags
    from serving.store.store import ScoreStore

    try:
        frame = parse_flags(file)
    except BadImport as exc:
        raise fail(str(exc)) from None
    store = ScoreStore.from_settings(settings())
    store.migrate()
    store.set_flags(frame)
    console.print(f"flags set for {len(frame):,} customers")


@app.command()
def erase(
    customer: Annotated[
        list[str], typer.Option("--customer", help="customer id to erase (repeat for more)")
    ],
) -> None:
    """Erase customers from every table of the score store, in one transaction, with an audit
    record (who, when, how many rows). Prints what lies outside the store's reach."""
    import getpass

    from serving.store.store import OUTSIDE_THE_STORE, ScoreStore

    store = ScoreStore.from_settings(settings())
    store.migrate()
    rows = store.erase(customer, erased_by=f"cli:{getpass.getuser()}")
    shown = ", ".join(f"{table} {n:,}" for table, n in sorted(rows.items()) if n) or "none"
    console.print(f"{len(set(customer)):,} customers erased: {sum(rows.values()):,} rows ({shown})")
    console.print("not reached by this command; erase by hand:")
    for place in OUTSIDE_THE_STORE:
        console.print(f"  - {place}")


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
    monthly: Annotated[
        bool,
        typer.Option(
            "--monthly",
            help="one statement per customer a month, due 25 days later (consumer and utility "
            "receivables); --invoices is then ignored",
        ),
    ] = False,
    contact_effects: Annotated[
        bool,
        typer.Option(
            "--contact-effects",
            help="also write true_effects.csv: each customer's simulated response to a pre-due "
            "reminder or call (some never respond), for the outreach backtest",
        ),
    ] = False,
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
            monthly=monthly,
            contact_effects=contact_effects,
        )
    console.print(f"synthetic ledger written to {out}")
    typer.echo(json.dumps(_jsonable(summary), default=str))


def _pepper() -> str:
    """The configured key pepper ("" when none), checked as the service checks it."""
    from serving.settings import MIN_SECRET_CHARS, PEPPER_ENV

    pepper = os.environ.get(PEPPER_ENV, "")
    if pepper and len(pepper) < MIN_SECRET_CHARS:
        raise fail(f"{PEPPER_ENV} must be at least {MIN_SECRET_CHARS} characters")
    return pepper


@app.command("new-key")
def new_key(
    name: Annotated[str, typer.Option(help="the key's name (who holds it), unique")],
    role: Annotated[str, typer.Option(help="scorer, viewer, collector or admin (see SECURITY.md)")],
) -> None:
    """Make a random API key: prints the key once, and the entry to add to PRECOLLECT_API_KEYS
    (its digest under PRECOLLECT_API_KEY_PEPPER when that is set, else its plain SHA-256, for
    development mode only: the key itself is stored nowhere)."""
    from serving.security import hash_key, peppered_key
    from serving.security import new_key as make_key
    from serving.settings import PEPPER_ENV, ApiKey

    pepper = _pepper()
    key = make_key()
    digest = {"hmac_sha256": peppered_key(key, pepper)} if pepper else {"sha256": hash_key(key)}
    try:
        entry = ApiKey(name=name, role=role, **digest)  # type: ignore[arg-type]
    except ValueError:
        raise fail(
            f"not a valid key entry: name {name!r} (1-64 characters), role {role!r} "
            "(scorer, viewer, collector or admin)"
        ) from None
    console.print(f"key (give it to {name}; it is shown once): {key}", highlight=False)
    console.print(
        f"entry for PRECOLLECT_API_KEYS: {json.dumps(entry.model_dump(mode='json', exclude_none=True))}",
        highlight=False,
        soft_wrap=True,
    )
    if not pepper:
        console.print(
            f"[yellow]{PEPPER_ENV} is not set: this plain-SHA-256 entry serves development mode "
            "only; set the pepper and run precollect pepper-keys before production[/yellow]"
        )


@app.command("pepper-keys")
def pepper_keys() -> None:
    """Convert the plain SHA-256 entries of PRECOLLECT_API_KEYS to HMAC digests under
    PRECOLLECT_API_KEY_PEPPER, and print the new PRECOLLECT_API_KEYS value. The keys themselves
    are not needed and do not change: their holders go on using them."""
    from pydantic import TypeAdapter, ValidationError

    from serving.security import peppered_entry
    from serving.settings import PEPPER_ENV, ApiKey

    pepper = _pepper()
    if not pepper:
        raise fail(f"set {PEPPER_ENV} (a random secret of 32+ characters) first")
    try:
        keys = TypeAdapter(list[ApiKey]).validate_json(os.environ.get("PRECOLLECT_API_KEYS", "[]"))
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise fail(
            f"PRECOLLECT_API_KEYS is not a valid key list: {where}: {problem['msg']}"
        ) from None
    converted = [peppered_entry(key, pepper) for key in keys]
    changed = sum(1 for old, new in zip(keys, converted, strict=True) if old != new)
    console.print(f"{changed} of {len(keys)} keys peppered; set PRECOLLECT_API_KEYS to:")
    typer.echo(json.dumps([key.model_dump(mode="json", exclude_none=True) for key in converted]))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes")] = 1,
) -> None:
    """Start the risk-score API and the managers' pages (settings from PRECOLLECT_API_*)."""
    from pydantic import ValidationError

    from pipelines.runtime import use_local_defaults
    from serving.server import OpenDevelopmentError, run

    use_local_defaults()
    try:
        run(host=host, port=port, workers=workers)
    except ValidationError as exc:
        raise fail(f"unsafe or invalid service settings: {exc.errors()[0]['msg']}") from None
    except OpenDevelopmentError as exc:
        raise fail(str(exc)) from None


def print_monitor(summary: dict) -> None:
    """The alerts, then the deteriorating accounts, of a monitor run."""
    report = summary["report"]
    drift = report["drift"]
    if drift["available"]:
        top = drift["features"][:5]
        console.print(
            f"{drift['rows']:,} invoice-days scored in the {drift['days']} days to {report['as_of']} "
            f"against the reference of "
            f"{drift['reference_as_of']}: score PSI {drift['score']['psi']:.3f}; largest feature "
            "PSI " + ", ".join(f"{f['feature']} {f['psi']:.3f}" for f in top),
            highlight=False,
        )
    else:
        console.print(f"no drift check: {drift['reason']}", highlight=False)
    alerts = summary["alerts"]
    table = Table(title=f"alerts ({len(alerts)})", title_justify="left")
    table.add_column("kind")
    table.add_column("detail")
    for alert in alerts[:30]:
        detail = ", ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
            for k, v in alert.items()
            if k != "kind"
        )
        table.add_row(alert["kind"], _clip(detail, 100))
    console.print(table)
    if report["accounts"]:
        accounts = Table(title="deteriorating accounts", title_justify="left")
        for column in ("account", "measure", "before", "recent", "change"):
            accounts.add_column(
                column, justify="left" if column in ("account", "measure") else "right"
            )
        for row in report["accounts"][:15]:
            accounts.add_row(
                row["customer_id"],
                row["measure"].replace("_", " "),
                f"{row['before']:.2f}",
                f"{row['recent']:.2f}",
                f"{row['change']:+.2f}",
            )
        console.print(accounts)


@app.command()
def monitor(
    ledger: LedgerOpt,
    as_of: Annotated[
        str | None,
        typer.Option(help="monitor as of this day, using nothing after it [default: extraction]"),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="write the report as JSON here")] = None,
    mapping: MappingOpt = None,
    model_alias: ModelAliasOpt = None,
    model_name: Annotated[
        str | None,
        typer.Option(
            help="the registered model [default: the ledger's own, precollect-<ledger name>]"
        ),
    ] = None,
) -> None:
    """Check the champion: feature and score drift against its training reference, data quality,
    performance per scoring-date cohort (realised, else estimated), pay dates and the cash
    forecast, deteriorating accounts; alerts by PRECOLLECT_MONITOR_* thresholds. Logged to MLflow
    and stored."""
    from pipelines.runtime import hidden, use_local_defaults

    use_local_defaults()
    from pipelines.monitor import MonitorRequest, run_monitor

    current = settings()
    alias = model_alias or current.model_alias
    request = MonitorRequest(
        ledger=hidden(ledger),
        as_of=_day_or_none(as_of),
        mapping=mapping,
        model_alias=alias,
        model_name=model_name,
        out=out,
    )
    try:
        with console.status("monitoring"), store_failures(current.store_url):
            summary = run_monitor(request)
    except (LedgerError, ContractViolation, LedgerMismatch) as exc:
        raise fail(str(exc)) from None
    except Exception as exc:
        if type(exc).__name__ == "MlflowException":
            raise fail(
                f"no model '{alias}' of this ledger in the registry: run precollect train on it "
                "first (or choose one with --model-name)"
            ) from None
        raise
    print_monitor(summary)
    if summary["retrained"]:
        done = summary["retrained"]
        console.print(
            f"retrained: version {done['model_version']}, "
            f"{'champion' if done['promoted'] else 'challenger'} ({done['promotion_reason']})",
            highlight=False,
        )
    if out is not None:
        console.print(f"report written to {out}; MLflow run {summary['run_id']}", highlight=False)


@app.command()
def schedule(
    ledger: Annotated[
        str | None,
        typer.Option(
            "--ledger",
            help="ledger folder or SQLAlchemy URL the runs read [default: PRECOLLECT_SCHEDULE_LEDGER]",
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="TOML mapping of your export to the ledger [default: PRECOLLECT_SCHEDULE_MAPPING]",
        ),
    ] = None,
) -> None:
    """Serve the flows as Prefect deployments until stopped: score daily, retrain weekly, monitor
    daily (cron
    and time zone from PRECOLLECT_SCHEDULE_*; needs a Prefect server at PREFECT_API_URL)."""
    from pydantic import ValidationError

    from pipelines.runtime import orchestrated, use_local_defaults

    try:
        plan = settings().schedule
    except ValidationError as exc:
        raise fail(f"invalid schedule settings: {exc.errors()[0]['msg']}") from None
    chosen = ledger or plan.ledger
    if chosen is None:
        raise fail("which ledger? pass --ledger or set PRECOLLECT_SCHEDULE_LEDGER")
    if not orchestrated():
        raise fail(
            "schedule needs a Prefect server: start one with `prefect server start` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    use_local_defaults()
    from pipelines.schedule import (
        MONITOR_DEPLOYMENT,
        SCORE_DEPLOYMENT,
        TRAIN_DEPLOYMENT,
        serve_deployments,
    )

    console.print(
        f"serving score/{SCORE_DEPLOYMENT} ({plan.score_cron}), train/{TRAIN_DEPLOYMENT} "
        f"({plan.train_cron}) and monitor/{MONITOR_DEPLOYMENT} ({plan.monitor_cron}), time zone "
        f"{plan.timezone}; Ctrl-C stops",
        highlight=False,
    )
    serve_deployments(chosen, mapping or plan.mapping, plan)


def _jsonable(obj: object) -> dict:
    from dataclasses import asdict, is_dataclass

    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else {"result": obj}


def main() -> None:
    """The console entry point: settings that cannot be read end in one line, not a traceback,
    whichever command reads them."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        app()
    except SettingsError as exc:  # names the field and source, never the value
        fail(f"invalid settings: {exc} (list and object settings are JSON)")
        raise SystemExit(1) from None
    except ValidationError as exc:
        if not exc.title.endswith("Settings"):
            raise
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        fail(f"invalid settings ({exc.title}): {where}: {error['msg']}")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
