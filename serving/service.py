"""Everything a request needs, built once in the app's lifespan: model, history, store, keys."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from features.build import History
from features.ledger.ingest import load_ledger
from features.ledger.ledger import Ledger
from models.decisions.playbook import WorklistConfig
from models.decisions.worklist import enforce_contact_rules, read_end
from models.model import LatePaymentModel
from models.registry import versions as model_info
from models.registry.loading import check_ledger
from models.registry.tracking import model_name
from serving.batcher import MicroBatcher
from serving.champion import Champion, Served
from serving.online import HistoryIndex, ledger_from_request, score_targets, target_columns
from serving.schemas import InvoiceIn, ScoreRequest
from serving.security import FailedAttempts, KeyRing
from serving.settings import Settings
from serving.store.store import ScoreStore
from serving.views import StoreView

log = logging.getLogger("precollect.serving")
BATCHED_ROWS = 64
"""Requests up to this many invoices go through the micro-batcher; bigger ones run alone."""


class ModelUnavailable(Exception):
    """No model could be loaded yet (503)."""


class StoreHealth:
    """The store's last health check, for ``/readyz``: it answers within :attr:`wait` seconds
    whatever the store does. One check runs at a time, in its own thread; a result younger
    than :attr:`max_age` seconds is answered as it is."""

    def __init__(self, ping: Callable[[], None], max_age: float = 2.0, wait: float = 1.5) -> None:
        self._ping = ping
        self.max_age = max_age
        self.wait = wait
        self._status = "not checked yet"
        self._checked = float("-inf")
        self._running: asyncio.Future[None] | None = None

    def _check(self) -> None:
        try:
            self._ping()
            self._status = "ok"
        except Exception as exc:
            self._status = f"unreachable ({type(exc).__name__})"
        self._checked = time.monotonic()

    async def status(self) -> str:
        if time.monotonic() - self._checked < self.max_age:
            return self._status
        if self._running is None or self._running.done():
            self._running = asyncio.get_running_loop().run_in_executor(None, self._check)
        try:
            await asyncio.wait_for(asyncio.shield(self._running), self.wait)
        except TimeoutError:
            return f"unreachable (no answer within {self.wait:g} s)"
        return self._status


@dataclass(frozen=True)
class ScoreDay:
    """The as-of day of a score request, where it came from, and what the caller should know."""

    day: date
    source: str
    warnings: list[str]


@dataclass(frozen=True)
class ScoreJob:
    invoices: list[InvoiceIn]
    as_of: date
    top: int


@dataclass
class Service:
    settings: Settings
    champion: Champion
    store: ScoreStore
    view: StoreView
    history: HistoryIndex
    keyring: KeyRing
    batcher: MicroBatcher[ScoreJob, tuple[str, list[dict[str, Any]]]] = field(init=False)
    health: StoreHealth = field(init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _poller: threading.Thread | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.health = StoreHealth(self.store.ping)
        self.batcher = MicroBatcher(
            self._score_jobs,
            size=lambda job: len(job.invoices),
            wait_seconds=self.settings.api.batch_wait_ms / 1000,
            max_rows=4 * BATCHED_ROWS,
        )

    def served(self) -> Served:
        current = self.champion.current
        if current is None:
            reason = self.champion.registry_error or "not loaded yet"
            raise ModelUnavailable(f"no model is being served ({reason})")
        return current

    def _score_jobs(self, jobs: list[ScoreJob]) -> list[tuple[str, list[dict[str, Any]]]]:
        """Score several requests in one call with the same model; split the results."""
        served = self.served()
        invoices = [i for job in jobs for i in job.invoices]
        days = [job.as_of for job in jobs for _ in job.invoices]
        top = max(job.top for job in jobs)
        history = self.history.get(served.model.grace_days)
        results = score_targets(served.model, history, target_columns(invoices, days), top)
        out, start = [], 0
        for job in jobs:
            part = results[start : start + len(job.invoices)]
            if job.top < top:
                for r in part:
                    r["reasons"] = r["reasons"][: job.top]
            out.append((served.version, part))
            start += len(job.invoices)
        return out

    def _score_with_history(
        self, request: ScoreRequest, as_of: date
    ) -> tuple[str, list[dict[str, Any]]]:
        served = self.served()
        assert request.history is not None
        history = History.from_ledger(ledger_from_request(request.history), served.model.grace_days)
        targets = target_columns(request.invoices, [as_of] * len(request.invoices))
        return served.version, score_targets(served.model, history, targets, request.top_reasons)

    def score_day(self, request: ScoreRequest, today: date | None = None) -> ScoreDay:
        """The day to score as of: the request's, else the history's extraction date, else today;
        with a warning when that history ends long before the day scored."""
        today = today or date.today()
        if request.history is not None:
            dates = [i.paid_date or i.issue_date for i in request.history.invoices]
            extracted = max(dates) if dates else None
        else:
            stamp = self.history.ledger.extracted_at
            extracted = None if stamp is None else stamp.date()
        if request.as_of is not None:
            day, source = request.as_of, "request"
        elif extracted is not None:
            day, source = extracted, "ledger extraction date"
        else:
            day, source = today, "today"
        warnings = []
        limit = self.settings.api.stale_after_days
        if extracted is not None and (today - extracted).days > limit:
            warnings.append(
                f"the ledger's history ends on {extracted} ({(today - extracted).days} days before "
                f"today, more than {limit}): payments since then are not known"
            )
        if extracted is not None and day > extracted:
            warnings.append(
                f"scored as of {day}, after the history ends ({extracted}): invoices paid since "
                "then look unpaid"
            )
        return ScoreDay(day, source, warnings)

    async def score(
        self, request: ScoreRequest, as_of: date | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        """Score a request as of ``as_of`` [default: :meth:`score_day`]."""
        from starlette.concurrency import run_in_threadpool

        as_of = as_of or self.score_day(request).day
        if request.history is not None:
            return await run_in_threadpool(self._score_with_history, request, as_of)
        job = ScoreJob(request.invoices, as_of, request.top_reasons)
        if len(request.invoices) > BATCHED_ROWS:
            return (await run_in_threadpool(self._score_jobs, [job]))[0]
        return await self.batcher.submit(job)

    @functools.cached_property
    def worklist_config(self) -> WorklistConfig:
        """The playbook in force (read once: its limits apply to every worklist read)."""
        return self.settings.worklist.config()

    def worklist(
        self, as_of: date | None = None, limit: int | None = None, treatment: str | None = None
    ) -> pd.DataFrame:
        """The stored worklist with do-not-contact flags and the contact cap applied as they
        stand now, not as they stood when it was built."""
        config = self.worklist_config
        work = self.store.worklist(
            pd.Timestamp(as_of) if as_of else None, limit=limit, treatment=treatment
        )
        if work.empty:
            return work
        end = read_end(work["as_of"].iloc[0], pd.Timestamp.now(tz="UTC").tz_localize(None))
        since = (end - pd.Timedelta(days=config.contact_window_days)).tz_localize("UTC")
        customers = work["customer_id"].astype(str).tolist()
        contacts = self.store.contacts(since=since.to_pydatetime(), customer_ids=customers)
        flags = self.store.flags(customer_ids=customers)
        return enforce_contact_rules(work, config, contacts, flags, end)

    def kpis(
        self, start: date | None, end: date | None, dso_days: int, by: str = ""
    ) -> pd.DataFrame:
        """The KPI trend of the served ledger, month end by month end (default: the last year
        to the ledger's extraction date)."""
        from models.decisions.kpis import kpi_trend

        ledger = self.history.ledger
        last = pd.Timestamp(end) if end else ledger.default_as_of()
        first = pd.Timestamp(start) if start else last - pd.DateOffset(years=1)
        return kpi_trend(ledger, first, last, dso_days, by)

    def forecast(self, as_of: date | None = None) -> dict[str, Any] | None:
        """The stored cash-in forecast of the latest batch (on ``as_of`` if given) and what its
        invoices have brought in since, week by week, as the served ledger knows it."""
        from models.decisions.kpis import forecast_dso
        from models.paydates.backtest import collected_weeks

        batch, weeks = self.store.forecast(pd.Timestamp(as_of) if as_of else None)
        if not batch:
            return None
        owed = self.store.batch_column(batch["as_of"], batch["model_version"], "open_amount")
        ledger = self.history.ledger
        collected = (
            collected_weeks(ledger, owed.index.to_numpy(), owed.to_numpy(), batch["as_of"])
            if not ledger.invoices.empty
            else np.full(len(weeks), np.nan)
        )
        weeks = weeks.assign(collected=collected[: len(weeks)])
        if not ledger.invoices.empty:
            path = forecast_dso(ledger, pd.Timestamp(batch["as_of"]), weeks)
            weeks = weeks.assign(forecast_dso=path["dso"].to_numpy())
        return {
            "as_of": batch["as_of"],
            "model_version": str(batch["model_version"]),
            "open_amount": float(owed.sum()),
            "weeks": weeks.astype(object).where(weeks.notna(), None).to_dict("records"),
        }

    def monitoring(self, as_of: date | None = None, points: int = 120) -> dict[str, Any] | None:
        """The latest stored monitor report (on ``as_of`` if given) and the headline figures
        of the runs up to it, oldest first; ``None`` before any monitor run."""
        import json

        from models.monitoring.monitor import headline

        day = pd.Timestamp(as_of) if as_of else None
        found = self.store.monitoring_report(day)
        if found is None:
            return None
        runs = self.store.monitoring_runs(until=pd.Timestamp(found["as_of"]), limit=points)
        history = [
            {
                "as_of": r.as_of,
                "model_version": str(r.model_version),
                **headline(json.loads(r.report)),
            }
            for r in runs.iloc[::-1].itertuples()
        ]
        return {**found, "alerts": found["report"].get("alerts", []), "history": history}

    def treatments(self) -> frozenset[str]:
        """The treatments of the playbook in force (the worklist's ``treatment`` values)."""
        return frozenset(r.treatment for r in self.settings.worklist.config().rules)

    def knows_customer(self, customer_id: str) -> bool:
        """In the service's ledger, or scored in the store."""
        invoices = self.history.ledger.invoices
        if (invoices["customer_id"] == customer_id).any():
            return True
        return self.store.latest_score("account", customer_id) is not None

    def poll_once(self) -> None:
        self.champion.refresh()
        self.view.refresh()

    def start_polling(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.settings.api.poll_seconds):
                self.poll_once()

        self._poller = threading.Thread(target=loop, name="precollect-poll", daemon=True)
        self._poller.start()

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=10)
        self.store.engine.dispose()


def build_service(settings: Settings) -> Service:
    """Connect to MLflow and the store, load the ledger history and the model (lifespan)."""
    api = settings.api
    model_info.connect(settings.home)
    ledger = (
        load_ledger(api.ledger, api.mapping, max_bad_fraction=settings.max_bad_fraction)
        if api.ledger
        else None
    )
    store = ScoreStore.from_settings(settings)
    try:
        store.migrate()  # the contacts table must exist even before the first batch
    except Exception as exc:
        log.warning("score store not reachable at start-up: %s", type(exc).__name__)
    name = registered_name(settings, ledger)

    def load(version: str) -> tuple[LatePaymentModel, str]:
        model, found = model_info.load(name, version)
        if ledger is not None:  # never serve another ledger's model by accident
            check_ledger(model, ledger, by_name=settings.model_name is None)
        return model, found

    service = Service(
        settings=settings,
        champion=Champion(
            settings.model_alias,
            functools.partial(model_info.resolve, name),
            load,
            functools.partial(model_info.describe_version, name),
        ),
        store=store,
        view=StoreView(store),
        history=HistoryIndex(ledger),
        keyring=KeyRing(
            api.keys,
            FailedAttempts(api.max_failed_keys),
            api.key_pepper.get_secret_value() if api.key_pepper else "",
        ),
    )
    service.poll_once()
    current = service.champion.current
    if current is not None:  # index the history and compile the feature kernel before serving
        service._score_jobs([warmup_job(current)])
    return service


def registered_name(settings: Settings, ledger: Ledger | None) -> str:
    """The registered model the service follows: ``PRECOLLECT_MODEL_NAME``, else its ledger's."""
    if settings.model_name:
        return settings.model_name
    if ledger is None:
        raise ValueError("set PRECOLLECT_MODEL_NAME or PRECOLLECT_API_LEDGER: which model to serve")
    return model_name(ledger.name)


def warmup_job(served: Served) -> ScoreJob:
    today = date.today()
    invoice = InvoiceIn(
        invoice_id="warm-up", customer_id="warm-up", issue_date=today, due_date=today, amount=1.0
    )
    return ScoreJob([invoice], today, 3)
