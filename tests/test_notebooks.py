"""Notebooks are stored without outputs, and each one runs top to bottom (slow)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 300

# Run first in the kernel (never saved): any connection or name lookup beyond this machine fails.
NO_NETWORK = """
import ipaddress as _ip
import socket as _socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "", None}


def _is_local(host):
    if isinstance(host, bytes):
        host = host.decode()
    if host in _LOCAL_NAMES:
        return True
    try:
        return _ip.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse(what, host):
    raise OSError(f"network access during a notebook test: {what} {host!r}")


_connect, _getaddrinfo = _socket.socket.connect, _socket.getaddrinfo


def _guarded_connect(self, address):
    if self.family in (_socket.AF_INET, _socket.AF_INET6) and not _is_local(address[0]):
        _refuse("connect to", address[0])
    return _connect(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _is_local(host):
        _refuse("look up", host)
    return _getaddrinfo(host, *args, **kwargs)


_socket.socket.connect = _guarded_connect
_socket.getaddrinfo = _guarded_getaddrinfo
"""


def _ids(path: Path) -> str:
    return path.stem


def test_the_notebooks_are_there() -> None:
    assert [p.stem for p in NOTEBOOKS] == [
        "01-explore-ledger",
        "02-train-and-explain",
        "03-worklist-backtest",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    dirty = [
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} carry outputs or execution counts; clear them before "
        f"committing (Jupyter: Edit > Clear Outputs of All Cells, then save)"
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_runs_top_to_bottom(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(NO_NETWORK))
    # the kernel imports this checkout's packages (not whatever the venv's editable install
    # points at), logs to the notebook's own local MLflow store and sends no telemetry
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the inline backend, as in Jupyter
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()  # a failing cell raises CellExecutionError with the cell and traceback
