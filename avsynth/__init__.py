"""avsynth: reproducible synthetic audio-visual segmentation triplets.

Public API::

    avsynth.build(...)            # plan + materialise a dataset
    avsynth.plan(...)             # plan from metadata only
    avsynth.read_manifest(path)   # list of Triplet
    avsynth.iter_manifest(path)   # streamed
    avsynth.load_map(path)        # category map
    avsynth.check_map(path)       # problems of a category map, one line each
    avsynth.stats / verify / export_avsbench / inspect   # dataset inspection (lazy)

``build`` and ``plan`` share their names with the modules ``avsynth.build`` and
``avsynth.plan``: they are imported eagerly here (both are light: no numpy) so the package
attribute is always the function, whatever is imported later. Import from those modules with
``from avsynth.plan.select import SelectionConfig`` (``import avsynth.plan.select as m`` does
not work: ``avsynth.plan`` is the function). ``avsynth.inspect`` is a callable package.
Everything else is lazy.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from avsynth.build import build, plan  # noqa: E402  (after __version__, which build reads)

# Lazily imported public names -> defining module (a simple list; add new entries here).
_LAZY = {
    "BuildReport": "avsynth.build",
    "SelectionConfig": "avsynth.plan.select",
    "read_manifest": "avsynth.manifest.io",
    "iter_manifest": "avsynth.manifest.io",
    "load_map": "avsynth.catmap",
    "check_map": "avsynth.catmap",
    "stats": "avsynth.inspect",
    "verify": "avsynth.inspect",
    "export_avsbench": "avsynth.inspect",
    "inspect": "avsynth.inspect",
}

__all__ = ["__version__", "build", "plan", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'avsynth' has no attribute {name!r}")
    mod = importlib.import_module(module)
    # ``avsynth.inspect`` is a callable package (calling it runs ``inspect()``): keep the package.
    value = mod if name == "inspect" else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
