"""One registered model per ledger, refusing another ledger's model, and an alias that moves
with compare-and-set."""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from features.ledger.errors import LedgerMismatch
from features.ledger.ledger import Ledger
from models.registry import loading, registry, tracking
from models.registry.artifact import LatePaymentPyfunc, pip_requirements
from models.registry.promotion import Decision
from models.training.train import TrainingResult


def test_every_ledger_has_its_own_registered_model() -> None:
    assert tracking.model_name("ibm-ar") == "precollect-ibm-ar"
    assert tracking.model_name("Acme AR (EU)") == "precollect-acme-ar-eu"
    assert tracking.model_name(None) == tracking.model_name("") == "precollect-ledger"


def _ledger(name: str, **columns: object) -> Ledger:
    invoices = pd.DataFrame(
        {
            "invoice_id": ["I1", "I2"],
            "customer_id": ["C1", "C2"],
            "issue_date": pd.to_datetime(["2025-01-01", "2025-01-02"]),
            "due_date": pd.to_datetime(["2025-01-31", "2025-02-01"]),
            "amount": [10.0, 20.0],
            "paid_date": pd.to_datetime([None, None]),
            **columns,
        }
    )
    return Ledger(invoices=invoices, name=name)


def test_a_model_refuses_another_ledger(trained: object) -> None:
    model = dataclasses.replace(trained.model)  # type: ignore[attr-defined]
    own = _ledger("acme", channel=["paper", "electronic"])
    model.info = {**model.info, "ledger": loading.ledger_facts(own)}
    loading.check_ledger(model, own)
    with pytest.raises(LedgerMismatch, match="trained on ledger 'acme', not 'other'"):
        loading.check_ledger(model, dataclasses.replace(own, name="other"))
    loading.check_ledger(model, dataclasses.replace(own, name="other"), by_name=False)
    without_channel = _ledger("acme")
    with pytest.raises(LedgerMismatch, match=r"missing here: \['invoices.channel'\]"):
        loading.check_ledger(model, without_channel)
    with_dispute = _ledger("acme", channel=["paper", "paper"], disputed=[True, False])
    with pytest.raises(LedgerMismatch, match="not in the model's ledger"):
        loading.check_ledger(model, with_dispute)


@pytest.fixture
def two_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracking.configure(tmp_path)
    client = MlflowClient()
    name = "precollect-cas"
    client.create_registered_model(name)
    versions = [
        str(client.create_model_version(name, source=str(tmp_path / f"m{i}")).version)
        for i in range(3)
    ]
    yield name, versions
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]


def test_a_promotion_against_a_stale_champion_is_refused(
    two_versions: tuple[str, list[str]],
) -> None:
    name, (v1, v2, v3) = two_versions
    first = registry.apply_decision(name, v1, Decision(True, "first"), expected_champion=None)
    assert first.promote and loading.alias_version(name) == v1
    # v2 and v3 were both evaluated against v1; v3 decides after v2 moved the alias
    assert registry.apply_decision(name, v2, Decision(True, "b"), expected_champion=v1).promote
    late = registry.apply_decision(name, v3, Decision(True, "c"), expected_champion=v1)
    assert not late.promote and "moved to version" in late.reason
    assert loading.alias_version(name) == v2
    tags = MlflowClient().get_model_version(name, v3).tags
    assert tags["promotion_decision"] == "kept as challenger"


def test_two_parallel_promotions_leave_one_champion(two_versions: tuple[str, list[str]]) -> None:
    name, (_, v2, v3) = two_versions
    outcomes: dict[str, bool] = {}
    barrier = threading.Barrier(2)

    def promote(version: str) -> None:
        barrier.wait()
        decision = registry.apply_decision(
            name, version, Decision(True, "better"), expected_champion=None
        )
        outcomes[version] = decision.promote

    threads = [threading.Thread(target=promote, args=(v,)) for v in (v2, v3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == [False, True]
    winner = next(v for v, won in outcomes.items() if won)
    assert loading.alias_version(name) == winner


def test_the_input_example_has_the_columns_and_dtypes_but_no_ledger_row() -> None:
    from models.registry.registry import synthetic_example

    real = pd.DataFrame(
        {
            "amount": [1234.5, 99.0],
            "open_invoices": pd.Series([3, 7], dtype="int64"),
            "segment": pd.Categorical(["retail", "wholesale"]),
            "disputed": [True, False],
        }
    )
    example = synthetic_example(real)
    assert list(example.columns) == list(real.columns) and len(example) == 5
    assert example.dtypes.to_dict() == real.dtypes.to_dict()
    rows = {tuple(r) for r in real.itertuples(index=False)}
    assert not rows & {tuple(r) for r in example.itertuples(index=False)}
    assert not set(example["amount"]) & set(real["amount"])


def test_a_model_built_with_other_packages_loads_with_a_warning_naming_them(
    trained: TrainingResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """MLflow's own requirement check is skipped (it cost the service 0.8 s at start-up); the
    model's pinned requirements are compared with the installed packages instead."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracking.configure(tmp_path)
    try:
        with mlflow.start_run():
            mlflow.pyfunc.log_model(
                name="model",
                python_model=LatePaymentPyfunc(trained.model),
                pip_requirements=pip_requirements(),
                registered_model_name="precollect-pins",
            )
        requirements = Path(
            mlflow.artifacts.download_artifacts(
                "models:/precollect-pins/1/requirements.txt", dst_path=str(tmp_path / "pins")
            )
        ).read_text()
        assert loading.requirement_mismatches(requirements) == []  # built here: nothing differs
        installed = loading.installed_version
        monkeypatch.setattr(
            loading,
            "installed_version",
            lambda name: "0.0" if name == "lightgbm" else installed(name),
        )
        with caplog.at_level(logging.WARNING, logger=loading.__name__):
            model, version = loading.load_model("precollect-pins", "1")
        assert version == "1" and model.features == trained.model.features
        pinned = f"lightgbm=={installed('lightgbm')} (installed: 0.0)"
        assert loading.requirement_mismatches(requirements) == [pinned]
        assert pinned in caplog.text
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
