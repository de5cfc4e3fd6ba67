"""Reading registered models back: an alias's version, the model itself, and the check that it
was trained on a ledger like the one it is asked to score.

Kept apart from :mod:`models.registry.registry` (training runs, figures, promotion) so that the
service and the score command load a model without importing the training stack or matplotlib.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from features.catalogue import FEATURES
from features.ledger.errors import LedgerMismatch
from features.ledger.ledger import Ledger
from models.model import LatePaymentModel
from models.registry.aliases import CHAMPION
from models.registry.artifact import unwrap
from models.registry.tracking import installed_version

log = logging.getLogger(__name__)


def ledger_facts(ledger: Ledger) -> dict[str, Any]:
    """What a model remembers of the ledger it was trained on (to refuse another one)."""
    return {
        "name": ledger.name,
        "fingerprint": ledger.fingerprint(),
        "present": sorted(ledger.present()),
        "feature_columns": list(ledger.feature_columns),
    }


def check_ledger(model: LatePaymentModel, ledger: Ledger, *, by_name: bool = True) -> None:
    """Refuse to score ``ledger`` with a model trained on a ledger with other columns (or,
    with ``by_name``, another name).

    Raises:
        LedgerMismatch: with a one-line reason.
    """
    trained = model.info.get("ledger")
    if not isinstance(trained, dict):
        return  # a model from before models remembered their ledger
    if by_name and trained.get("name") != ledger.name:
        raise LedgerMismatch(
            f"the model was trained on ledger {trained.get('name')!r}, not {ledger.name!r}; "
            "train on this ledger first, or pass --model-name to use that model anyway"
        )
    needed = set(trained.get("present", [])) & NEEDED
    have = set(ledger.present()) & NEEDED
    extra_needed, extra_have = set(trained.get("feature_columns", [])), set(ledger.feature_columns)
    if needed != have or extra_needed != extra_have:
        missing = sorted((needed - have) | (extra_needed - extra_have))
        more = sorted((have - needed) | (extra_have - extra_needed))
        raise LedgerMismatch(
            f"the model was trained on a ledger with other columns (missing here: {missing}, "
            f"not in the model's ledger: {more}); train on this ledger first"
        )


NEEDED = frozenset(f.needs for f in FEATURES if f.needs)
"""The optional columns and tables whose presence changes a model's features."""


def alias_version(
    name: str, alias: str = CHAMPION, client: MlflowClient | None = None
) -> str | None:
    """The version an alias of ``name`` points at, ``None`` when it points nowhere."""
    client = client or MlflowClient()
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def load_model(name: str, alias_or_version: str = CHAMPION) -> tuple[LatePaymentModel, str]:
    """Load a registered model by alias (``champion``) or version number."""
    if alias_or_version.isdigit():
        version = alias_or_version
    else:
        found = alias_version(name, alias_or_version)
        if found is None:
            raise MlflowException(f"no model {name!r} with alias {alias_or_version!r}")
        version = found
    return unwrap(load_pyfunc(f"models:/{name}/{version}")), version


def load_pyfunc(uri: str) -> Any:
    """``mlflow.pyfunc.load_model`` with the installed packages checked against the model's
    pinned requirements here (a warning names each difference).

    MLflow's own check maps every installed distribution to its modules first, which cost the
    service's start-up 0.8 s; the requirements precollect pins
    (``models.registry.artifact.pip_requirements``) are a handful of ``name==version`` lines,
    compared directly. The model's folder is fetched once and loaded from there (its python
    model is unpickled into memory, so the folder is not needed afterwards).
    """
    with tempfile.TemporaryDirectory() as folder:
        local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=folder))
        loaded = mlflow.pyfunc.load_model(str(local), suppress_warnings=True)
        pinned = local / "requirements.txt"
        mismatched = requirement_mismatches(pinned.read_text()) if pinned.exists() else []
    if mismatched:
        log.warning("%s was built with other packages: %s", uri, ", ".join(mismatched))
    return loaded


def requirement_mismatches(requirements: str) -> list[str]:
    """The pinned lines of a ``requirements.txt`` that the installed packages do not match, as
    ``name==pinned (installed: version)``."""
    out = []
    for line in requirements.splitlines():
        name, pinned_sep, pinned = line.strip().partition("==")
        if not pinned_sep:
            continue
        installed = installed_version(name)
        if installed != pinned:
            out.append(f"{name}=={pinned} (installed: {installed})")
    return out
