"""Looking at a built dataset: FiftyOne App, statistics, verification, AVSBench export.

Public functions (imported lazily, so ``import avsynth.inspect`` stays light)::

    stats(manifest, out) -> StatsReport            # tables + plots
    verify(manifest, *, roots=None) -> list[str]   # problems, one line each
    export_avsbench(manifest, out, *, split=None)  # AVSBench S4 layout
    load_fiftyone(manifest, *, name=None, split=None) -> fiftyone.Dataset
    launch_app(dataset, port, address="127.0.0.1") -> fiftyone.Session
    inspect(manifest, *, name=None, split=None)    # = load_fiftyone

``stats``, ``verify`` and ``export_avsbench`` share their names with their modules, so they
are imported eagerly (the modules are light: numpy, no matplotlib/torch/fiftyone at import)
and the package attribute is always the function. The package itself is callable
(``avsynth.inspect(manifest)`` is :func:`inspect`), so the top-level name ``avsynth.inspect``
works both as this package and as the function.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from avsynth.inspect.export_avsbench import ExportReport, export_avsbench
from avsynth.inspect.stats import StatsReport, stats
from avsynth.inspect.verify import VerifyReport, verify, verify_report

_LAZY = {
    "load_fiftyone": "avsynth.inspect.fiftyone_app",
    "launch_app": "avsynth.inspect.fiftyone_app",
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
    from avsynth.inspect.fiftyone_app import load_fiftyone

    return load_fiftyone(manifest, name=name, split=split, **kwargs)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'avsynth.inspect' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


class _CallableModule(types.ModuleType):
    def __call__(self, manifest: Any, **kwargs: Any):
        return inspect(manifest, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
