"""The command line as documented: plain flags, every default shown, every command in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from features.ledger.ingest import load_ledger
from precollect.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands if c.callback)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_plain_flags_and_defaults(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    for param in click_command.params:
        if (
            getattr(param, "is_flag", True)
            or param.required
            or param.default is None
            or param.name == "help"
        ):
            continue
        assert re.search(r"\[default: [^\]]+\]", result.output), (command, param.name)


def test_flags_take_no_value() -> None:
    result = runner.invoke(app, ["features", "--help"], env={"COLUMNS": "200"})
    assert re.search(r"--training\s{2,}write the training set", result.output), result.output
    text = " ".join(result.output.split())
    assert "[default: 0]" in text and "[default: the ledger's extraction date]" in text


def test_the_readme_lists_every_command() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## The command line", 1)[1].split("\n\n", 2)[1]
    for command in COMMANDS:
        assert f"| `{command}" in table or f"`{command} " in table, command
    assert "`serve " in table


def test_default_as_of_is_the_extraction_date(small_synthetic: Path, tmp_path: Path) -> None:
    """Not the last event date: a ledger extracted two weeks after its last event."""
    import shutil

    folder = tmp_path / "ledger"
    shutil.copytree(small_synthetic, folder)
    last = load_ledger(small_synthetic).last_date()
    extracted = last + pd.Timedelta(days=14)
    (folder / "ledger.toml").write_text(f'[ledger]\nextracted_at = "{extracted.date()}"\n')
    out = tmp_path / "features.parquet"
    result = runner.invoke(app, ["features", "--ledger", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"open at {extracted.date()}" in result.output
    frame = pd.read_parquet(out)
    assert (pd.to_datetime(frame["as_of"]) == extracted).all()
