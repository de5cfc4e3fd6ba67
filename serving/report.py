"""The managers' HTML report: the riskiest accounts, why, and their open invoices."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pandas as pd

from serving.charts import bars_svg, waterfall_svg
from serving.formats import add_filters

TEMPLATES = Path(__file__).parent / "templates"
BAND_COLOURS = {"low": "#27ae60", "medium": "#f39c12", "high": "#c0392b", "overdue": "#7f1d1d"}


def environment() -> jinja2.Environment:
    return add_filters(
        jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    )


def overdue_facts(invoices: pd.DataFrame) -> dict[str, object] | None:
    """An account's overdue invoices in numbers: how many, how much, the oldest and its days."""
    overdue = invoices[invoices["risk_band"] == "overdue"]
    if overdue.empty:
        return None
    oldest = overdue.sort_values("days_until_due").iloc[0]
    return {
        "invoices": len(overdue),
        "amount": float(overdue["open_amount"].sum()),
        "oldest_invoice": oldest["invoice_id"],
        "oldest_days": int(-oldest["days_until_due"])
        if pd.notna(oldest["days_until_due"])
        else None,
        "oldest_amount": float(oldest["open_amount"]),
    }


def account_cards(
    invoices: pd.DataFrame, accounts: pd.DataFrame, reasons: pd.DataFrame, p_base: float, top: int
) -> list[dict[str, object]]:
    """The ``top`` accounts by expected amount at risk, each with reasons, chart and invoices."""
    chosen = accounts.sort_values("amount_at_risk", ascending=False).head(top)
    account_reasons = reasons[reasons["level"] == "account"]
    cards = []
    for account in chosen.to_dict("records"):
        mine = account_reasons[account_reasons["key"] == account["customer_id"]].sort_values("rank")
        effects = [(r["reason"], float(r["effect"])) for r in mine.to_dict("records")]
        risk = account.get("risk")
        chart = waterfall_svg(p_base, effects, float(risk)) if pd.notna(risk) else ""
        open_invoices = invoices[invoices["customer_id"] == account["customer_id"]].sort_values(
            "amount_at_risk", ascending=False
        )
        cards.append(
            {
                "account": account,
                "reasons": mine.to_dict("records"),
                "chart": chart,
                "invoices": open_invoices.to_dict("records"),
                "overdue": overdue_facts(open_invoices),
            }
        )
    return cards


def render_report(
    invoices: pd.DataFrame,
    accounts: pd.DataFrame,
    reasons: pd.DataFrame,
    *,
    p_base: float,
    as_of: pd.Timestamp,
    model_version: str,
    top: int = 20,
    source: str = "",
) -> str:
    """A self-contained HTML page (inline CSS and SVG, no scripts, no network)."""
    cards = account_cards(invoices, accounts, reasons, p_base, top)
    overdue = invoices["risk_band"] == "overdue"
    summary = {
        "accounts": len(accounts),
        "open_invoices": len(invoices),
        "open_amount": float(invoices["open_amount"].sum()),
        "not_yet_due_amount": float(invoices.loc[~overdue, "open_amount"].sum()),
        "overdue_amount": float(invoices.loc[overdue, "open_amount"].sum()),
        "amount_at_risk": float(invoices["amount_at_risk"].sum()),
        "high": int((invoices["risk_band"] == "high").sum()),
    }
    by_band = invoices.groupby("risk_band")["amount_at_risk"].sum()
    charts = [
        bars_svg(
            "open amount: not yet due vs overdue",
            [
                ("not yet due", summary["not_yet_due_amount"], BAND_COLOURS["low"]),
                ("overdue", summary["overdue_amount"], BAND_COLOURS["overdue"]),
            ],
        ),
        bars_svg(
            "expected amount paid late, by risk band",
            [
                (band, float(by_band.get(band, 0.0)), colour)
                for band, colour in BAND_COLOURS.items()
            ],
        ),
    ]
    return (
        environment()
        .get_template("report.html")
        .render(
            cards=cards,
            summary=summary,
            charts=charts,
            as_of=pd.Timestamp(as_of).date(),
            model_version=model_version,
            p_base=p_base,
            top=top,
            source=source,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            json=json,
        )
    )
