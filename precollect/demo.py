"""The main job on embedded defaults: ``make demo`` runs ``python -m precollect.demo``.

1. ingest the real IBM sample and a generated ledger (with injected bad rows) through the
   contract; 2. train, evaluate, register and promote a model (Prefect flow ``train``);
3. score the open invoices as of the ledger's last date, store them and build the worklist
(flow ``score``); 4. write the managers' report; 5. say where to look next.
Generated data goes to ``data/generated/``; MLflow and the score store live in the home folder.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.console import Console

from features.ledger.ingest import ingest, write_outputs
from pipelines.runtime import use_local_defaults
from serving.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
IBM_SAMPLE = ROOT / "data" / "samples" / "ibm-ar"
DEMO_CUSTOMERS = 400
DEMO_INVOICES = 40_000
DEMO_CAPACITY = 25

console = Console(width=130)


def run(workdir: Path) -> None:
    use_local_defaults()
    from features.ledger.ingest import load_ledger
    from models.paydates.forecast import forecast_open_invoices
    from models.registry.paydates import load_pay_model
    from pipelines.score import ScoreRequest, run_score
    from pipelines.train import TrainRequest, run_train
    from precollect.cli import (
        print_forecast,
        print_ingest_summary,
        print_metrics,
        print_pay_dates,
        print_worklist,
        with_forecast_dso,
        write_frame,
    )
    from precollect.synth import generate_ledger
    from serving.report import render_report

    settings = Settings()
    console.rule("[bold]1. ledger contract: the IBM accounts-receivable sample")
    sample = ingest(IBM_SAMPLE, IBM_SAMPLE / "mapping.toml")
    write_outputs(sample, workdir / "ibm-ar")
    print_ingest_summary(sample.report())

    console.rule("[bold]   ledger contract: a synthetic ledger with 1 % injected bad rows")
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
    clean = workdir / "synthetic"
    write_outputs(synthetic, clean)
    print_ingest_summary(synthetic.report())

    console.rule("[bold]2. train, evaluate against baselines, register (flow 'train')")
    trained = run_train(TrainRequest(ledger=str(clean)))
    print_metrics(trained["metrics"])
    console.print(
        f"model version {trained['model_version']}: "
        f"{'champion' if trained['promoted'] else 'challenger'} ({trained['promotion_reason']})"
    )

    print_pay_dates(trained["pay_dates"])

    console.rule("[bold]   the 13-week cash-in forecast from the open invoices' pay dates")
    pay_model, pay_version = load_pay_model(
        trained["model_name"], trained["pay_dates"]["model_version"]
    )
    ledger = load_ledger(clean)
    forecast = forecast_open_invoices(ledger, ledger.default_as_of(), pay_model, weeks=13)
    weekly = with_forecast_dso(ledger, ledger.default_as_of(), forecast.forecast.weekly)
    write_frame(weekly, workdir / "forecast.csv")
    print_forecast(
        forecast.forecast, weekly, ledger.default_as_of(), pay_version, len(forecast.features)
    )

    console.rule("[bold]3. score today's open invoices and build the worklist (flow 'score')")
    scored = run_score(
        ScoreRequest(ledger=str(clean), out=workdir / "scores.csv", capacity=DEMO_CAPACITY)
    )
    batch = scored["batch"]
    console.print(
        f"{scored['invoices']:,} open invoices of {scored['accounts']:,} accounts scored "
        f"as of {scored['as_of']}; {scored['to_contact']} accounts to contact today"
    )
    print_worklist(scored["worklist"])
    work = scored["worklist"]
    config = settings.worklist.config(DEMO_CAPACITY)
    pre_due = work[work["queue"] == "pre_due"]
    manual = pre_due["treatment"].isin(config.manual_treatments())
    console.print(
        f"pre-due queue: {int((pre_due['contact'] & manual).sum())} human contacts of its "
        f"capacity {min(config.queue_capacity.get('pre_due', DEMO_CAPACITY), DEMO_CAPACITY)} "
        f"(served before the other queues), ranked by expected value; "
        f"{int((pre_due['arm'] == 'control').sum())} accounts in the control arm"
    )

    console.rule("[bold]4. the managers' report")
    report = workdir / "report.html"
    report.write_text(
        render_report(
            batch.invoices,
            batch.accounts,
            batch.reasons,
            p_base=batch.p_base,
            as_of=batch.as_of,
            model_version=batch.model_version,
            top=20,
            source="synthetic demo ledger",
        )
    )
    console.print(f"report of the 20 riskiest accounts: {report}")

    console.rule("[bold]where to look next")
    console.print(
        f"- MLflow runs, plots and the registered model: "
        f".venv/bin/mlflow ui --backend-store-uri {trained['tracking_uri']}\n"
        f"- the report: open {report}\n"
        f"- scores and worklist: {workdir / 'scores.csv'} and the store {settings.store_url}\n"
        f"- the cash-in forecast: {workdir / 'forecast.csv'}\n"
        f"- the API and the managers' pages (development mode, no keys): "
        f"PRECOLLECT_API_LEDGER={clean} .venv/bin/precollect serve, then "
        f"http://127.0.0.1:8000/docs and http://127.0.0.1:8000/pages/accounts\n"
        f"- the command line: .venv/bin/precollect --help"
    )


def main() -> None:
    run(Settings().generated_dir)


if __name__ == "__main__":
    main()
