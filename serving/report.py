"""The managers' HTML report: the riskiest accounts, why, and their open invoices."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pandas as pd

from serving.charts import waterfall_svg

TEMPLATES = Path(__file__).parent / "templates"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    env.filters["money"] = lambda v: "" if pd.isna(v) else f"{v:,.0f}"
    env.filters["pct"] = lambda v: "" if pd.isna(v) else f"{v:.0%}"
    return env


def account_cards(
    invoices: pd.DataFrame, accounts: pd.DataFrame, reasons: pd.DataFrame, p_base: float, top: int
) -> list[dict[str, object]]:
    """The ``top`` accounts by expected amount at risk, each with reasons, chart and invoices."""
    chosen = accounts.sort_values("amount_at_risk_total", ascending=False).head(top)
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
    summary = {
        "accounts": len(accounts),
        "open_invoices": len(invoices),
        "amount_at_risk": float(invoices["amount_at_risk"].sum()),
        "overdue_amount": float(
            invoices.loc[invoices["risk_band"] == "overdue", "open_amount"].sum()
        ),
        "high": int((invoices["risk_band"] == "high").sum()),
    }
    return (
        environment()
        .get_template("report.html")
        .render(
            cards=cards,
            summary=summary,
            as_of=pd.Timestamp(as_of).date(),
            model_version=model_version,
            p_base=p_base,
            top=top,
            source=source,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            json=json,
        )
    )
