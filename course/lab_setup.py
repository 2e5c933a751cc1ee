"""Jupyter set-up for the course's environment: ``python -m course.lab_setup`` (``make setup`` runs it).

It writes two small configuration files inside the virtual environment (``sys.prefix``), so they
apply to this environment only and leave the user's own Jupyter settings alone:

* ``etc/ipython/ipython_kernel_config.py``: every IPython kernel started from this environment loads
  :mod:`course.quiet_tensorflow`, so TensorFlow's start-up lines do not show as a red block under a
  notebook's first cell;
* ``share/jupyter/lab/settings/overrides.json``: JupyterLab never asks to fetch the Jupyter news (a
  pop-up over the first notebook a student opens) and does not check the web for updates; both can
  still be turned on in JupyterLab's settings.

Run it again at any time: it rewrites the files and prints where they are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KERNEL_CONFIG = """\
# Written by `python -m course.lab_setup` (the CNN course): TensorFlow's start-up lines out of notebooks.
c.InteractiveShellApp.extensions = ["course.quiet_tensorflow"]
"""

LAB_OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def kernel_config_path(prefix: Path | None = None) -> Path:
    return Path(prefix or sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"


def lab_overrides_path(prefix: Path | None = None) -> Path:
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def write(prefix: Path | None = None) -> list[Path]:
    """Write both files under ``prefix`` (default: this environment); returns their paths. An existing
    overrides file keeps its other settings."""
    kernel = kernel_config_path(prefix)
    kernel.parent.mkdir(parents=True, exist_ok=True)
    kernel.write_text(KERNEL_CONFIG, encoding="utf-8")
    lab = lab_overrides_path(prefix)
    lab.parent.mkdir(parents=True, exist_ok=True)
    try:
        overrides = json.loads(lab.read_text(encoding="utf-8")) if lab.is_file() else {}
    except ValueError:
        overrides = {}
    if not isinstance(overrides, dict):
        overrides = {}
    for plugin, values in LAB_OVERRIDES.items():
        overrides[plugin] = {**(overrides.get(plugin) or {}), **values}
    lab.write_text(json.dumps(overrides, indent=2) + "\n", encoding="utf-8")
    return [kernel, lab]


def main() -> None:
    for path in write():
        print("wrote", path)


if __name__ == "__main__":
    main()
