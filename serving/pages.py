"""The managers' pages: flagged accounts, one account's risk and reasons, the model, the KPIs,
the monitoring. Viewer login."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import jinja2
import pandas as pd
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from features.ledger.ledger import Ledger
from models.decisions.promises import PROMISE, payments_of, promise_status
from serving.charts import RAISE, TOTAL, bars_svg, lines_svg, waterfall_svg
from serving.deps import ServiceDep
from serving.formats import add_filters
from serving.messages import preview
from serving.report import overdue_facts
from serving.schemas import PathId
from serving.security import (
    PAGES,
    Principal,
    Throttled,
    client_of,
    open_session,
    session_principal,
)
from serving.service import ModelUnavailable
from serving.store import codec
from serving.views import account_pay_rows

if TYPE_CHECKING:
    from serving.store.store import ScoreStore

TEMPLATES = Path(__file__).parent / "templates" / "pages"
SORTS = {
    "amount_at_risk": ("amount_at_risk", False),
    "risk": ("risk", False),
    "open_amount": ("open_amount", False),
    "customer": ("customer_id", True),
}
router = APIRouter(prefix="/pages", include_in_schema=False)


def _environment() -> jinja2.Environment:
    # the pages' own templates, then the shared ones (the style the report uses too)
    loader = jinja2.FileSystemLoader([TEMPLATES, TEMPLATES.parent])
    return add_filters(jinja2.Environment(loader=loader, autoescape=True))


ENV = _environment()


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(ENV.get_template(name).render(**context), status_code=status_code)


def _store(request: Request) -> ScoreStore:
    return request.app.state.service.store  # type: ignore[no-any-return]


def _session_epoch(request: Request) -> Callable[[str], int | None]:
    """The key's session epoch in the store; ``None`` while the store is unreachable (the
    pages then show that, and no stored data)."""

    def epoch(name: str) -> int | None:
        try:
            return _store(request).session_epoch(name)
        except SQLAlchemyError:
            return None

    return epoch


def viewer(request: Request) -> Principal | None:
    who = session_principal(request, _session_epoch(request))
    return who if who is not None and who.role in PAGES else None


def to_login() -> RedirectResponse:
    return RedirectResponse("/pages/login", status_code=303)


@router.get("/login")
def login_form(request: Request) -> Response:
    """The login form."""
    return render("login.html", error=None)


@router.post("/login")
def login(request: Request, key: Annotated[str, Form(max_length=256)] = "") -> Response:
    """Check a viewer's key and open a session."""
    ring = request.app.state.keyring
    try:
        who = ring.identify(key, client_of(request)) if ring.enabled else None
    except Throttled as refused:
        wait = f"Too many wrong keys. Try again in {refused.retry_after} seconds."
        return render("login.html", 429, error=wait)
    if who is None and request.app.state.keyring.enabled:
        return render("login.html", 401, error="That key is not valid.")
    if who is not None and who.role not in PAGES:
        return render("login.html", 403, error="That key may not open the managers' pages.")
    if who is not None:
        open_session(request, who, _session_epoch(request)(who.name) or 0)
    return RedirectResponse("/pages/accounts", status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    """Close the session, and every other session of the same key (a copied cookie too)."""
    who = viewer(request)
    if who is not None and request.app.state.keyring.enabled:
        # with the store unreachable only this browser's session ends
        with contextlib.suppress(SQLAlchemyError):
            _store(request).end_sessions(who.name)
    request.session.clear()
    return to_login()


def _amount(text: str) -> float:
    """A form's number; empty or unreadable means no threshold."""
    try:
        value = float(text)
    except ValueError:
        return 0.0
    return value if value == value and 0 < value < float("inf") else 0.0


@router.get("/accounts")
def accounts(
    request: Request,
    service: ServiceDep,
    band: Annotated[str, Query(max_length=16)] = "",
    treatment: Annotated[str, Query(max_length=32)] = "",
    segment: Annotated[str, Query(max_length=64)] = "",
    min_at_risk: Annotated[str, Query(max_length=32)] = "",
    sort: Annotated[str, Query(max_length=32)] = "amount_at_risk",
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> Response:
    """Flagged accounts with filters and sorting."""
    who = viewer(request)
    if who is None:
        return to_login()
    threshold = _amount(min_at_risk)
    view = service.view.current
    if view is None:
        return render(
            "accounts.html",
            who=who,
            view=None,
            store_error=service.view.error,
            rows=[],
            options={},
            filters={},
        )
    frame = view.accounts
    if band:
        frame = frame[frame["risk_band"] == band]
    if treatment:
        frame = frame[frame["treatment"] == treatment]
    if segment:
        frame = frame[frame["segment"] == segment]
    if threshold:
        frame = frame[frame["amount_at_risk"] >= threshold]
    column, ascending = SORTS.get(sort, SORTS["amount_at_risk"])
    frame = frame.sort_values([column, "customer_id"], ascending=[ascending, True])
    options = {
        "band": sorted(view.accounts["risk_band"].dropna().unique().tolist()),
        "treatment": sorted(view.accounts["treatment"].dropna().unique().tolist()),
        "segment": sorted(view.accounts["segment"].dropna().unique().tolist()),
        "sort": list(SORTS),
    }
    filters = {
        "band": band,
        "treatment": treatment,
        "segment": segment,
        "min_at_risk": threshold,
        "sort": sort if sort in SORTS else "amount_at_risk",
    }
    return render(
        "accounts.html",
        who=who,
        view=view,
        rows=frame.head(limit).to_dict("records"),
        total=len(frame),
        options=options,
        filters=filters,
    )


def _promise_words(contacts: pd.DataFrame, ledger: Ledger) -> pd.Series:
    """Each promise to pay as ``1,250.50 by 2026-01-05: kept`` (broken, pending), judged on the
    served ledger's payments as of the day after its extraction date; other contacts: empty."""
    words = pd.Series("", index=contacts.index, dtype=object)
    if contacts.empty or "promised_date" not in contacts:
        return words
    if ledger.invoices.empty:
        status = pd.Series("not known without a ledger", index=contacts.index)
    else:
        mine = ledger.invoices[ledger.invoices["customer_id"].isin(contacts["customer_id"])]
        paid = ledger.payments
        if paid is not None:
            paid = paid[paid["invoice_id"].isin(mine["invoice_id"])]
        day = ledger.default_as_of() + pd.Timedelta(days=1)
        status = promise_status(contacts, payments_of(mine, paid), day)["status"]
    for index, row in contacts[contacts["outcome"] == PROMISE].iterrows():
        judged = status.get(index, "pending")
        when = pd.Timestamp(row["promised_date"]).date()
        words[index] = f"{float(row['promised_amount']):,.2f} by {when}: {judged}"
    return words


def _main_pay_reason(stored: object) -> str | None:
    """The largest reason of a stored pay date, with the days it moves the date."""
    reasons = codec.decode_reasons(stored)
    if not reasons or reasons[0].get("effect") is None:
        return None
    return f"{reasons[0]['text']} ({reasons[0]['effect']:+.0f} days)"


def _with_pay_dates(invoices: pd.DataFrame, pay_dates: pd.DataFrame) -> pd.DataFrame:
    """The account's invoices with their pay dates and the main reason for each date."""
    if not len(pay_dates):
        return invoices.assign(expected_pay_date=None, pay_date_p10=None, pay_date_p90=None)
    first = [_main_pay_reason(text) for text in pay_dates["reasons"]]
    columns = ["invoice_id", "expected_pay_date", "pay_date_p10", "pay_date_p90"]
    return invoices.merge(
        pay_dates[columns].assign(pay_reason=first), on="invoice_id", how="left", validate="1:1"
    )


@router.get("/accounts/{customer_id}")
def account(customer_id: PathId, request: Request, service: ServiceDep) -> Response:
    """One account: risk, reasons in words, waterfall chart, open invoices, contacts."""
    who = viewer(request)
    if who is None:
        return to_login()
    view = service.view.current
    found = None if view is None else view.accounts[view.accounts["customer_id"] == customer_id]
    if view is None or found is None or found.empty:
        return render("missing.html", 404, who=who, customer_id=customer_id)
    row = found.iloc[0].to_dict()
    reasons = view.reasons[
        (view.reasons["level"] == "account") & (view.reasons["key"] == customer_id)
    ].sort_values("rank")
    effects = [(r["reason"], float(r["effect"])) for r in reasons.to_dict("records")]
    risk = row.get("risk")
    chart = waterfall_svg(view.p_base, effects, float(risk)) if pd.notna(risk) else ""
    invoices = view.invoices[view.invoices["customer_id"] == customer_id].sort_values(
        "amount_at_risk", ascending=False
    )
    stored_pay = service.store.customer_rows(
        "pay_dates", customer_id, view.as_of, view.model_version
    )
    pay = account_pay_rows(stored_pay, invoices).get(customer_id)
    invoices = _with_pay_dates(invoices, stored_pay)
    contacts = service.store.contacts(customer_id=customer_id)
    contacts = contacts.assign(promise=_promise_words(contacts, service.history.ledger))
    lead = invoices.iloc[0]["invoice_id"] if len(invoices) else None
    messages = preview(
        {"customer_id": customer_id, "invoice_id": lead, **row},
        invoices,
        service.settings.worklist.currency,
    )
    return render(
        "account.html",
        who=who,
        view=view,
        account=row,
        pay=pay,
        reasons=reasons.to_dict("records"),
        chart=chart,
        invoices=invoices.to_dict("records"),
        overdue=overdue_facts(invoices),
        contacts=contacts.sort_values("contacted_at", ascending=False).to_dict("records"),
        messages=messages,
    )


@router.get("/model")
def model(request: Request, service: ServiceDep) -> Response:
    """The served model's test metrics and plots."""
    who = viewer(request)
    if who is None:
        return to_login()
    try:
        served = service.served()
    except ModelUnavailable as exc:
        return render("missing.html", 503, who=who, customer_id=None, message=str(exc))
    from models.training.metrics import HEADLINE, by_scorer

    scorers = by_scorer(served.info.get("test_metrics", {}))
    order = sorted(scorers, key=lambda name: (name != "model", name))  # the model first
    return render(
        "model.html",
        who=who,
        served=served,
        info=served.info,
        registry=service.champion.registry_error or "ok",
        metric_names=HEADLINE,
        scorers=[(name, scorers[name]) for name in order],
    )


@router.get("/forecast")
def forecast(request: Request, service: ServiceDep) -> Response:
    """The stored 13-week cash-in forecast: expected line, P10-P90 band and the collections
    that have arrived since."""
    who = viewer(request)
    if who is None:
        return to_login()
    found = service.forecast()
    if found is None:
        message = "no stored forecast: score with a pay-date model (precollect score) first"
        return render("missing.html", 404, who=who, customer_id=None, message=message)
    weeks = found["weeks"]
    nan = float("nan")
    chart = lines_svg(
        "collections per week",
        [str(w["week_start"])[5:] for w in weeks],
        [
            ("expected", [w["expected"] for w in weeks], TOTAL),
            (
                "collected",
                [nan if w["collected"] is None else w["collected"] for w in weeks],
                RAISE,
            ),
        ],
        band=("P10-P90", [w["p10"] for w in weeks], [w["p90"] for w in weeks], TOTAL),
    )
    return render(
        "forecast.html",
        who=who,
        chart=chart,
        expected_total=sum(w["expected"] for w in weeks),
        **found,
    )


@router.get("/kpis")
def kpis(request: Request, service: ServiceDep) -> Response:
    """The AR KPIs of the served ledger over its last year: DSO lines, aging bars, the table."""
    who = viewer(request)
    if who is None:
        return to_login()
    if service.history.ledger.invoices.empty:
        message = "the service has no ledger to compute KPIs on (set PRECOLLECT_API_LEDGER)"
        return render("missing.html", 404, who=who, customer_id=None, message=message)
    dso_days = 90
    trend = service.kpis(None, None, dso_days)
    trend = trend[trend["group"] == "all"]
    labels = [d.strftime("%Y-%m") for d in trend["as_of"]]
    dso_chart = lines_svg(
        "days sales outstanding",
        labels,
        [
            ("DSO", trend["dso"].tolist(), TOTAL),
            ("best possible", trend["best_possible_dso"].tolist(), "#27ae60"),
            ("countback", trend["countback_dso"].tolist(), "#8e44ad"),
        ],
        " d",
    )
    last = trend.iloc[-1]
    buckets = [("current", "current"), ("1_30", "1-30"), ("31_60", "31-60")]
    buckets += [("61_90", "61-90"), ("over_90", "over 90")]
    aging_chart = bars_svg(
        f"open amount by days past due on {last['as_of']:%Y-%m-%d}",
        [
            (label, float(last[f"aging_{key}"]), TOTAL if key == "current" else RAISE)
            for key, label in buckets
        ],
    )
    return render(
        "kpis.html",
        who=who,
        rows=trend.to_dict("records"),
        first=labels[0],
        last=labels[-1],
        dso_days=dso_days,
        dso_chart=dso_chart,
        aging_chart=aging_chart,
    )


PSI_BARS = 15


@router.get("/monitoring")
def monitoring(request: Request, service: ServiceDep) -> Response:
    """The latest monitor run: alerts, PSI by feature, AUC over cohorts (realised, estimated
    before maturity), data quality, pay dates and the deteriorating accounts."""
    who = viewer(request)
    if who is None:
        return to_login()
    found = service.monitoring()
    if found is None:
        message = "no monitor run stored yet: run precollect monitor (or its daily deployment)"
        return render("missing.html", 404, who=who, customer_id=None, message=message)
    report = found["report"]
    limits = report.get("thresholds", {})
    drift = report.get("drift", {})
    psi_chart = ""
    if drift.get("available"):
        bars = [
            (
                f"{f['feature']} (calendar)" if f.get("seasonal") else f["feature"],
                f["psi"],
                RAISE
                if f["psi"] >= limits.get("feature_psi", 0.25) and not f.get("seasonal")
                else TOTAL,
            )
            for f in drift["features"][:PSI_BARS]
        ]
        psi_chart = bars_svg(
            f"PSI by feature against the reference of {drift['reference_as_of']} (largest "
            f"{len(bars)})",
            bars,
            fmt="{:.3f}",
        )
    cohorts = report.get("performance", {}).get("cohorts", [])
    auc_chart = ""
    if cohorts:
        auc_chart = lines_svg(
            "ROC-AUC by scoring date",
            [c["as_of"] for c in cohorts],
            [
                (
                    "realised",
                    [_number((c["realised"] or {}).get("roc_auc")) for c in cohorts],
                    TOTAL,
                ),
                ("estimated", [_number(c["estimated"].get("roc_auc")) for c in cohorts], "#8e44ad"),
            ],
            fmt="{:.3f}",
            axis_fmt="{:.1f}",
        )
    return render(
        "monitoring.html",
        who=who,
        found=found,
        report=report,
        drift=drift,
        cohorts=cohorts,
        psi_chart=psi_chart,
        auc_chart=auc_chart,
    )


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)
