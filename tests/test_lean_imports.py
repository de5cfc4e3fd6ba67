"""What the service and the score command import at start-up: no plotting stack.

The figures are drawn only when a training run logs them; the service (``serving.app``) and
``precollect score`` (``pipelines.score``) load a registered model through
``models.registry.loading`` and never need matplotlib, which cost the service's start-up about
half a second.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLOTTING = (
    "matplotlib",
    "models.training.plots",
    "models.paydates.plots",
    "models.explain.figures",
)


def test_start_up_imports_no_plotting() -> None:
    modules = ("serving.app", "pipelines.score", "pipelines.monitor")
    probe = (  # one process: each module's imports are checked before the next one's
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"    print(name, sorted(m for m in sys.modules if m.startswith({PLOTTING!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [f"{name} []" for name in modules], done.stdout
