"""The ``score`` flow's body: the morning batch. Score the open invoices, store them, build the worklist.

The request carries what the user chose for this run; where the stores live comes from the
settings, and a ledger URL is a parameter only with its password hidden
(:func:`pipelines.runtime.hidden`): Prefect stores every parameter in its database. :func:`run_score` runs it as the Prefect flow
``score`` when ``PREFECT_API_URL`` is set, and as a plain function otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from features.ledger.ledger import Ledger
from models.model import LatePaymentModel
from models.paydates.hazard import PayDateModel
from models.registry import loading, paydates, tracking
from pipelines.cluster import current_client, dask_client
from pipelines.runtime import orchestrated, step
from pipelines.tasks import load
from serving.settings import Settings
from serving.store.publish import Published, score_and_store
from serving.store.store import ScoreStore


@dataclass(frozen=True)
class ScoreRequest:
    ledger: str
    as_of: pd.Timestamp | None = None
    mapping: Path | None = None
    model_alias: str | None = None
    """Registry alias or version [default: the settings' model alias]."""
    model_name: str | None = None
    """Registered model [default: the ledger's own]: naming one also allows another ledger's."""
    out: Path | None = None
    capacity: int | None = None
    playbook: Path | None = None
    dask: str | None = None
    """Dask scheduler address, or ``local`` [default: the settings' (none: in memory)]."""


@step(retries=2)
def load_model(home: Path, name: str, alias: str) -> tuple[LatePaymentModel, str]:
    tracking.configure(home)
    return loading.load_model(name, alias)


@step(retries=2)
def load_pay_model(home: Path, name: str, alias: str) -> PayDateModel | None:
    """The pay-date model beside ``name``; ``None`` when none is registered (trained before
    pay dates existed)."""
    tracking.configure(home)
    try:
        return paydates.load_pay_model(name, alias)[0]
    except LookupError:
        return None


@step(retries=2)
def publish(
    request: ScoreRequest,
    ledger: Ledger,
    model: LatePaymentModel,
    version: str,
    pay_model: PayDateModel | None,
    on_dask: bool = False,
) -> Published:
    settings = Settings()
    as_of = pd.Timestamp(request.as_of or ledger.default_as_of()).normalize()
    config = settings.worklist.config(request.capacity, request.playbook)
    store = ScoreStore.from_settings(settings)
    client = current_client() if on_dask else None
    return score_and_store(
        ledger,
        as_of,
        model,
        version,
        store,
        config,
        out=request.out,
        pay_model=pay_model,
        client=client,
    )


def score(request: ScoreRequest) -> dict[str, Any]:
    """Load and validate, load the model by alias, score and explain, store, build the worklist."""
    settings = Settings()
    ledger = load(request.ledger, request.mapping, settings.max_bad_fraction)
    chosen = request.model_name or settings.model_name
    name = chosen or tracking.model_name(ledger.name)
    model, version = load_model(settings.home, name, request.model_alias or settings.model_alias)
    loading.check_ledger(model, ledger, by_name=chosen is None)
    pay_model = load_pay_model(settings.home, name, request.model_alias or settings.model_alias)
    address = request.dask or settings.dask_address
    with dask_client(address):
        published = publish(request, ledger, model, version, pay_model, on_dask=bool(address))
    batch = published.batch
    return {
        "as_of": str(batch.as_of.date()),
        "model_name": name,
        "model_version": version,
        "invoices": len(batch.invoices),
        "accounts": len(batch.accounts),
        "to_contact": int(published.worklist["contact"].sum()),
        "batch": batch,
        "worklist": published.worklist,
    }


def run_score(request: ScoreRequest) -> dict[str, Any]:
    """The Prefect flow ``score`` when a server is configured, else :func:`score` directly."""
    if orchestrated():
        from pipelines.flows import score_flow

        return score_flow(request)
    return score(request)
