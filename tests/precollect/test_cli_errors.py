"""What a new user hits on the command line: one clear line and a non-zero exit, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.ledger.ingest import ingest
from models.decisions.playbook import PlaybookError, load_config
from precollect.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PRECOLLECT_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("PRECOLLECT_DATABASE_URL", raising=False)
    return tmp_path


def _one_error_line(output: str, *needles: str) -> None:
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    text = " ".join(output.split())
    for needle in needles:
        assert needle in text, output


def _invoices_only(small_synthetic: Path, folder: Path, **changes: object) -> Path:
    invoices = ingest(small_synthetic).ledger.invoices.assign(**changes)
    folder.mkdir()
    invoices.to_csv(folder / "invoices.csv", index=False)
    (folder / "ledger.toml").write_text('[ledger]\nextracted_at = "2025-12-31"\n')
    return folder


@pytest.mark.slow
def test_train_before_any_invoice_is_one_line_in_a_real_process(
    small_synthetic: Path, tmp_path: Path
) -> None:
    """The whole stderr of a real run: Prefect must not log the error three times."""
    env = {**os.environ, "PRECOLLECT_HOME": str(tmp_path)}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = ["train", "--ledger", str(small_synthetic), "--as-of", "2000-01-01"]
    run = subprocess.run(
        [sys.executable, "-m", "precollect.cli", *command],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and "ERROR" not in run.stderr, run.stderr
    assert run.stderr.count("no invoice had been issued yet") == 1, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert errors == [line for line in errors if "as of 2000-01-01" in line] and len(errors) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("as_of", "needle"),
    [
        ("2021-06-01", "no invoice had been issued yet"),
        ("2022-01-05", "no invoice has a final label"),
    ],
)
def test_train_without_labels_is_one_line(
    prefect_harness: None, small_synthetic: Path, home: Path, as_of: str, needle: str
) -> None:
    result = runner.invoke(app, ["train", "--ledger", str(small_synthetic), "--as-of", as_of])
    assert result.exit_code == 1
    _one_error_line(result.output, needle)


@pytest.mark.slow
def test_train_on_a_header_only_ledger_is_one_line(
    prefect_harness: None, small_synthetic: Path, home: Path
) -> None:
    folder = home / "empty"
    folder.mkdir()
    columns = ingest(small_synthetic).ledger.invoices.columns
    pd.DataFrame(columns=columns).to_csv(folder / "invoices.csv", index=False)
    result = runner.invoke(app, ["train", "--ledger", str(folder)])
    assert result.exit_code == 1
    _one_error_line(result.output, "holds no valid invoices")


@pytest.mark.slow
def test_a_ledger_where_nobody_paid_late_says_so(
    prefect_harness: None, small_synthetic: Path, home: Path
) -> None:
    invoices = ingest(small_synthetic).ledger.invoices
    folder = _invoices_only(small_synthetic, home / "punctual", paid_date=invoices["issue_date"])
    result = runner.invoke(app, ["train", "--ledger", str(folder)])
    assert result.exit_code == 1
    _one_error_line(result.output, "no invoice was ever paid late")
    assert "move the dates" not in result.output


def test_worklist_with_a_missing_playbook_is_one_line(home: Path) -> None:
    result = runner.invoke(app, ["worklist", "--playbook", str(home / "missing.toml")])
    assert result.exit_code == 1
    _one_error_line(result.output, "missing.toml does not exist")


def test_a_playbook_with_typos_is_refused(home: Path) -> None:
    playbook = home / "playbook.toml"
    playbook.write_text(
        '[worklist]\ncapcity = 5\n\n[[rules]]\ntreatment = "personal_call"\nreason = "x"\n'
        'risk_band = ["high"]\n'
    )
    result = runner.invoke(app, ["worklist", "--playbook", str(playbook)])
    assert result.exit_code == 1
    _one_error_line(result.output, "[worklist] has unknown keys ['capcity']")
    playbook.write_text('[[rules]]\ntreatment = "personal_call"\nreason = "x"\nrisk_band = []\n')
    with pytest.raises(PlaybookError, match=r"rule 1 has unknown keys \['risk_band'\]"):
        load_config(playbook)
    playbook.write_text("[worklist]\ncapacity = 5\n")
    assert load_config(playbook).capacity == 5


def test_a_read_only_store_is_one_line_without_sql(home: Path) -> None:
    """A store the database refuses to write (here opened read-only, as root ignores file modes)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from fake_batches import fake_batch

    from serving.store.store import ScoreStore

    path = home / "precollect.db"
    store = ScoreStore(f"sqlite:///{path}")
    store.migrate()
    store.write_batch(
        as_of=pd.Timestamp("2025-01-31"), model_version="1", p_base=0.3, **fake_batch(40, 1)
    )
    store.engine.dispose()
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    result = runner.invoke(app, ["worklist"], env={"PRECOLLECT_DATABASE_URL": url})
    assert result.exit_code == 1
    _one_error_line(result.output, "cannot be used: attempt to write a readonly database")
    assert "INSERT" not in result.output and "DELETE" not in result.output


@pytest.mark.parametrize(
    ("env", "args", "needle"),
    [
        ({"PRECOLLECT_API_KEYS": ""}, [], 'field "keys"'),
        ({"PRECOLLECT_API_MAX_BATCH": "0"}, [], "greater than or equal to 1"),
        ({}, ["--host", "0.0.0.0"], "listens on loopback only"),
    ],
)
def test_serve_refuses_bad_or_open_settings_in_one_line_of_a_real_process(
    tmp_path: Path, env: dict[str, str], args: list[str], needle: str
) -> None:
    """The console script itself (``precollect``), so its entry point is covered too."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PRECOLLECT_API_")}
    run = subprocess.run(
        [str(Path(sys.executable).with_name("precollect")), "serve", "--port", "1", *args],
        capture_output=True,
        text=True,
        env={**base, "PRECOLLECT_HOME": str(tmp_path), **env},
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    _one_error_line(run.stdout + run.stderr, needle)


def test_monitor_before_any_model_is_one_line(home: Path, small_synthetic: Path) -> None:
    result = runner.invoke(app, ["monitor", "--ledger", str(small_synthetic)])
    assert result.exit_code == 1
    _one_error_line(result.output, "no model 'champion'", "precollect train")


def test_monitor_of_a_missing_ledger_is_one_line(home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["monitor", "--ledger", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    _one_error_line(result.output)
