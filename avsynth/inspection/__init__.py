"""Looking at a built dataset: FiftyOne App, statistics, verification, AVSBench export.

Public functions (imported lazily, so ``import avsynth.inspection`` stays light)::

    stats(manifest, out) -> StatsReport            # tables + plots
    verify(manifest, *, roots=None) -> list[str]   # problems, one line each
    export_avsbench(manifest, out, *, split=None)  # AVSBench S4 layout
    load_fiftyone(manifest, *, name=None, split=None) -> fiftyone.Dataset
    launch_app(dataset, port, address="127.0.0.1") -> fiftyone.Session
    inspect(manifest, *, name=None, split=None)    # = load_fiftyone

``avsynth.inspect(manifest)`` is :func:`inspect`. The modules here are named for what they
hold (``stats``, ``verify``, ``export_avsbench``), so their functions are imported eagerly
(light: numpy, no matplotlib/torch/fiftyone at import).
"""

from __future__ import annotations

import importlib
from typing import Any

from avsynth.inspection.export_avsbench import ExportReport, export_avsbench
from avsynth.inspection.stats import StatsReport, stats
from avsynth.inspection.verify import VerifyReport, verify, verify_report

_LAZY = {
    "load_fiftyone": "avsynth.inspection.fiftyone_app",
    "launch_app": "avsynth.inspection.fiftyone_app",
}

__all__ = [
    "ExportReport",
    "StatsReport",
    "VerifyReport",
    "export_avsbench",
    "inspect",
    "stats",
    "verify",
    "verify_report",
    *_LAZY,
]


def inspect(manifest: Any, *, name: str | None = None, split: str | None = None, **kwargs: Any):
    """Load a manifest into a persistent FiftyOne dataset (see :func:`load_fiftyone`)."""
    from avsynth.inspection.fiftyone_app import load_fiftyone

    return load_fiftyone(manifest, name=name, split=split, **kwargs)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'avsynth.inspection' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
