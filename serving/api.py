"""Routes under ``/v1`` plus ``/healthz`` and ``/readyz``. Each is a thin call into the service."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from serving.deps import Admin, Collector, Reader, Scorer, ServiceDep, WorklistReader
from serving.schemas import (
    TEXT_PATTERN,
    CashForecast,
    ContactIn,
    ContactOut,
    Day,
    ErasureOut,
    Health,
    Kpis,
    ModelOut,
    MonitoringOut,
    PathId,
    Problem,
    Readiness,
    ReloadOut,
    ScoreRequest,
    ScoreResponse,
    StoredAccount,
    StoredInvoice,
    Worklist,
)
from serving.store.store import OUTSIDE_THE_STORE, ContactConflict
from serving.views import account_pay_rows, account_record

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "missing or invalid API key"},
    403: {"model": Problem, "description": "the key's role may not do this"},
    429: {"model": Problem, "description": "too many wrong keys from this client lately"},
    503: {"model": Problem, "description": "model or score store unavailable"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "unknown id"}}
BODY: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "the body is not readable JSON"},
    413: {"model": Problem, "description": "request body too large"},
}

health = APIRouter(tags=["health"])
v1 = APIRouter(prefix="/v1", responses=ERRORS)


def json_bytes(payload: bytes) -> Response:
    return Response(payload, media_type="application/json")


@health.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Alive."""
    return Health(status="alive")


@health.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(service: ServiceDep) -> Response:
    """Ready when a model is loaded and the store answers; 503 with the reason otherwise.
    Answers within 2 s whatever the store does (a cached check, never a thread per call)."""
    current = service.champion.current
    store = await service.health.status()
    registry = service.champion.registry_error or "ok"
    ready = current is not None and store == "ok"
    body = Readiness(
        status="ready" if ready else "not ready",
        model_version=current.version if current else None,
        store=store,
        registry=registry if current or registry != "ok" else "model not loaded yet",
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@v1.get("/model", response_model=ModelOut)
def model(service: ServiceDep, _: Reader) -> ModelOut:
    """The served model: version, training window, test metrics and feature catalogue."""
    served = service.served()
    info = served.info
    return ModelOut(
        name=str(info.get("name", "")),
        version=served.version,
        alias=service.champion.alias,
        aliases=list(info.get("aliases", [])),
        trained_at=info.get("trained_at"),
        loaded_at=served.loaded_at,
        training_window={k: str(v) for k, v in info.get("training_window", {}).items()},
        test_metrics=dict(info.get("test_metrics", {})),
        features=info.get("features", []),
        registry=service.champion.registry_error or "ok",
    )


@v1.get("/invoices/{invoice_id}", response_model=StoredInvoice, responses=NOT_FOUND)
def invoice(invoice_id: PathId, service: ServiceDep, _: Reader) -> dict[str, Any]:
    """The latest stored score of an invoice."""
    found = service.store.latest_score("invoice", invoice_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no stored score for this invoice")
    version = str(found["model_version"])
    pay = service.store.pay_date(invoice_id, found["as_of"], version)
    return {**found, "model_version": version, "pay_dates": pay}


@v1.get("/forecast", response_model=CashForecast, responses=NOT_FOUND)
def forecast(
    service: ServiceDep,
    _: Reader,
    as_of: Annotated[
        Day | None, Query(description="a stored batch's date [default: latest]")
    ] = None,
) -> dict[str, Any]:
    """The 13-week cash-in forecast stored with the latest scoring batch (expected and the
    simulated P10-P90 band per week), and what its invoices have brought in since; 404 when
    no batch was scored with a pay-date model."""
    found = service.forecast(as_of)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "no stored forecast: score with a pay-date model first"
        )
    return found


@v1.get("/accounts/{customer_id}", response_model=StoredAccount, responses=NOT_FOUND)
async def account(customer_id: PathId, service: ServiceDep, _: Reader) -> Response:
    """The latest stored score of an account (customer)."""
    view = service.view.current
    if view is not None and (cached := view.account_json.get(customer_id)) is not None:
        return json_bytes(cached)
    found = await run_in_threadpool(service.store.latest_score, "account", customer_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no stored score for this account")
    batch = (customer_id, found["as_of"], str(found["model_version"]))
    rows = service.store.customer_rows
    pay_dates = await run_in_threadpool(rows, "pay_dates", *batch)
    invoices = await run_in_threadpool(rows, "invoice_scores", *batch)
    pay = account_pay_rows(pay_dates, invoices).get(customer_id)
    return json_bytes(orjson.dumps(account_record(found, pay)))


@v1.post(
    "/score",
    response_model=ScoreResponse,
    responses=BODY,
)
async def score(request: ScoreRequest, service: ServiceDep, _: Scorer) -> Response:
    """Score invoices on the fly with the served model: probability, band and top reasons."""
    limit = service.settings.api.max_batch
    if len(request.invoices) > limit:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "invoices"),
                    "msg": f"at most {limit:,} invoices per request",
                    "type": "too_long",
                }
            ]
        )
    day = service.score_day(request)
    version, results = await service.score(request, day.day)
    body = {
        "model_version": version,
        "as_of": day.day,
        "as_of_source": day.source,
        "warnings": day.warnings,
        "results": results,
    }
    return json_bytes(orjson.dumps(body))


@v1.get("/worklist", response_model=Worklist)
def worklist(
    service: ServiceDep,
    _: WorklistReader,
    as_of: date | None = None,
    limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    treatment: Annotated[
        str | None,
        Query(max_length=32, pattern=TEXT_PATTERN, description="one of the playbook's treatments"),
    ] = None,
) -> dict[str, Any]:
    """The ranked outreach list of the latest batch (on ``as_of`` if given); whether to contact
    follows the do-not-contact flags and the contact cap as they stand now; 422 for a treatment
    the playbook does not have."""
    known = service.treatments()
    if treatment is not None and treatment not in known:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "treatment"),
                    "msg": f"unknown treatment {treatment!r}; known: {', '.join(sorted(known))}",
                    "type": "enum",
                }
            ]
        )
    frame = service.worklist(as_of, limit=limit, treatment=treatment)
    items = frame.astype(object).where(frame.notna(), None).to_dict("records")
    first = items[0] if items else {}
    return {
        "as_of": first.get("as_of"),
        "model_version": str(first["model_version"]) if first else None,
        "items": items,
    }


@v1.get("/monitoring", response_model=MonitoringOut, responses=NOT_FOUND)
def monitoring(service: ServiceDep, _: Reader, as_of: Day | None = None) -> dict[str, Any]:
    """The latest stored monitor report (on ``as_of`` if given): drift, data quality,
    performance per cohort, pay dates, deteriorating accounts and the alerts; 404 before any
    monitor run."""
    found = service.monitoring(as_of)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "no monitor run stored: run precollect monitor first"
        )
    return found


MAX_KPI_MONTHS = 120


@v1.get("/kpis", response_model=Kpis)
def kpis(
    service: ServiceDep,
    _: Reader,
    start: Annotated[Day | None, Query(alias="from", description="first month")] = None,
    end: Annotated[
        Day | None, Query(alias="to", description="last day [default: extraction]")
    ] = None,
    dso_days: Annotated[int, Query(ge=1, le=730)] = 90,
    by: Annotated[Literal["", "segment", "country"], Query(description="split by")] = "",
) -> dict[str, Any]:
    """AR KPIs of the served ledger at each month end: DSO, countback DSO, best possible DSO,
    average days delinquent, CEI and aging; 422 for a range over ten years or backwards."""
    if start and end and (end < start or (end - start).days > MAX_KPI_MONTHS * 31):
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "to"),
                    "msg": f"'to' must follow 'from' within {MAX_KPI_MONTHS} months",
                    "type": "value_error",
                }
            ]
        )
    if service.history.ledger.invoices.empty:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "the service has no ledger to compute KPIs on"
        )
    frame = service.kpis(start, end, dso_days, by)
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return {"dso_days": dso_days, "rows": rows}


CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "the idempotency key is stored with other content"}
}


@v1.post(
    "/contacts",
    response_model=ContactOut,
    status_code=status.HTTP_201_CREATED,
    responses={**BODY, **CONFLICT, 200: {"model": ContactOut, "description": "already stored"}},
)
def record_contact(
    contact: ContactIn, service: ServiceDep, who: Collector, response: Response
) -> ContactOut:
    """Record an outreach contact and its outcome (it counts towards the contact cap); 201 when
    new, 200 with the stored id when its idempotency key is already stored, 409 when that key
    has other content; 422 for an unknown customer or a time in the future."""
    if not service.knows_customer(contact.customer_id):
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "customer_id"),
                    "msg": "unknown customer: not in the ledger nor in the stored scores",
                    "type": "unknown_customer",
                }
            ]
        )
    try:
        contact_id, created = service.store.record_contact(
            customer_id=contact.customer_id,
            contacted_at=contact.contacted_at or datetime.now(UTC),
            channel=contact.channel,
            invoice_id=contact.invoice_id,
            outcome=contact.outcome,
            recorded_by=who.name,
            promised_date=contact.promised_date,
            promised_amount=contact.promised_amount,
            note=contact.note,
            idempotency_key=contact.idempotency_key,
        )
    except ContactConflict:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "this idempotency key is already stored for a contact with other content",
        ) from None
    if not created:
        response.status_code = status.HTTP_200_OK
    return ContactOut(contact_id=contact_id, replayed=not created)


@v1.delete("/customers/{customer_id}", response_model=ErasureOut)
def erase_customer(customer_id: PathId, service: ServiceDep, who: Admin) -> ErasureOut:
    """Erase a customer from every store table; the cached views drop it at once."""
    rows = service.store.erase([customer_id], erased_by=who.name)
    service.view.refresh()
    return ErasureOut(rows=rows, outside_the_store=list(OUTSIDE_THE_STORE))


@v1.post("/admin/reload", response_model=ReloadOut)
def reload(service: ServiceDep, _: Admin) -> ReloadOut:
    """Check the registry alias now and swap to its version if it moved."""
    swapped = service.champion.refresh()
    service.view.refresh()
    current = service.champion.current
    return ReloadOut(
        model_version=current.version if current else None,
        swapped=swapped,
        registry=service.champion.registry_error or "ok",
    )
