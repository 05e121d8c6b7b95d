"""mkdocs hook: render the chapter figures at build time.

Every module ``docs/figures/<chapter>.py`` defines ``FIGURES``, a dict from a figure name to a
function returning a :class:`matplotlib.figure.Figure`. Each is drawn from the reference code
on every build and added to the site as ``figures/<name>.svg``, so pages link to it as
``![alt](figures/<name>.svg)`` and a strict build fails on a link to a figure that does not
exist. Figure names must be unique across modules.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.figures")

FIGURE_DIR = Path(__file__).resolve().parents[1] / "figures"

# Deterministic SVG output: fixed ids, no timestamps, text as paths (no fonts needed).
matplotlib.rcParams.update({"svg.hashsalt": "gradspec", "svg.fonttype": "path", "font.size": 10})


def _load(path: Path) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location(f"gradspec_figures_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise PluginError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = getattr(module, "FIGURES", None)
    if not isinstance(figures, dict):
        raise PluginError(f"{path.name} must define FIGURES: dict[str, Callable[[], Figure]]")
    return figures


def render_all() -> dict[str, bytes]:
    """Name -> SVG bytes for every figure of every module in docs/figures/."""
    if str(FIGURE_DIR) not in sys.path:
        sys.path.insert(0, str(FIGURE_DIR))  # figure modules may share helpers
    rendered: dict[str, bytes] = {}
    for path in sorted(FIGURE_DIR.glob("*.py")):
        if path.name.startswith("_"):
            continue
        for name, make in _load(path).items():
            if name in rendered:
                raise PluginError(f"figure name {name!r} is defined twice (again in {path.name})")
            start = time.perf_counter()
            figure = make()
            buffer = io.BytesIO()
            figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
            rendered[name] = buffer.getvalue()
            log.debug(f"figure {name}: {time.perf_counter() - start:.2f} s")
    return rendered


def on_files(files: Files, config: Any) -> Files:
    for name, svg in render_all().items():
        files.append(File.generated(config, f"figures/{name}.svg", content=svg))
    return files
