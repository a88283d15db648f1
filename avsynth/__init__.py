"""avsynth: reproducible synthetic audio-visual segmentation triplets.

Public API::

    avsynth.build(...)            # plan + materialise a dataset
    avsynth.plan(...)             # plan from metadata only
    avsynth.read_manifest(path)   # list of Triplet
    avsynth.iter_manifest(path)   # streamed
    avsynth.load_map(path)        # category map
    avsynth.check_map(path)       # problems of a category map, one line each
    avsynth.stats / verify / export_avsbench / inspect   # dataset inspection (lazy)
    avsynth.import_release(root, out)   # the authors' AVS-Synthetic release as a manifest
    avsynth.export(manifest, out, format="hf")   # hf / webdataset shards, avsbench folders

The functions live in modules named for what they hold: ``avsynth.pipeline`` (build, plan),
``avsynth.planning`` (selection, splits, pairing), ``avsynth.inspection`` (stats, verify,
export, FiftyOne). Everything here is imported lazily, so ``import avsynth`` stays light.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:  # written once, in pyproject.toml; both packages ship in the avsynth distribution
    __version__ = version("avsynth")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

# Library messages go through logging (``avsynth.log``); silent unless the program configures it.
logging.getLogger(__name__).addHandler(logging.NullHandler())

# Lazily imported public names -> defining module (a simple list; add new entries here).
_LAZY = {
    "build": "avsynth.pipeline",
    "plan": "avsynth.pipeline",
    "BuildReport": "avsynth.pipeline",
    "SelectionConfig": "avsynth.planning.select",
    "read_manifest": "avsynth.manifest.io",
    "iter_manifest": "avsynth.manifest.io",
    "load_map": "avsynth.catmap",
    "check_map": "avsynth.catmap",
    "stats": "avsynth.inspection",
    "verify": "avsynth.inspection",
    "export_avsbench": "avsynth.inspection",
    "inspect": "avsynth.inspection",
    "import_release": "avsynth.release",
    "export": "avsynth.exporters",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'avsynth' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
