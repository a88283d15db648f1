"""avsmodel: SAMA-AVS, AP-SAM and the SAM oracle.

Public names are imported lazily (``import avsmodel`` does not import torch):

- :func:`build_model` (``avsmodel.pretrained.build``), :data:`MODELS`, :func:`list_models`,
  :class:`ModelConfig`, :class:`RunOptions` (``avsmodel.pretrained.registry``).
- :func:`train` / :class:`TrainResult` (``avsmodel.training``), :func:`evaluate`
  (``avsmodel.evaluation``), :func:`predict` (``avsmodel.inference``),
  :class:`ManifestDataset` (``avsmodel.data``).
- :func:`download` (``avsmodel.pretrained.download``: official weights, cache, names),
  :func:`import_checkpoint` (``avsmodel.pretrained.authors_checkpoint``: the authors'
  checkpoints).
- :func:`export_pretrained` / :func:`from_pretrained` (``avsmodel.pretrained.folder``:
  pretrained folders of safetensors + config + card), :class:`Predictor`
  (``avsmodel.predictor``: one image, many sounds).
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

# public name -> module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "build_model": "avsmodel.pretrained.build",
    "MODELS": "avsmodel.pretrained.registry",
    "list_models": "avsmodel.pretrained.registry",
    "get_config": "avsmodel.pretrained.registry",
    "ModelConfig": "avsmodel.pretrained.registry",
    "RunOptions": "avsmodel.pretrained.registry",
    "train": "avsmodel.training",
    "TrainResult": "avsmodel.training",
    "evaluate": "avsmodel.evaluation",
    "predict": "avsmodel.inference",
    "ManifestDataset": "avsmodel.data",
    "download": "avsmodel.pretrained.download",
    "import_checkpoint": "avsmodel.pretrained.authors_checkpoint",
    "export_pretrained": "avsmodel.pretrained.folder",
    "from_pretrained": "avsmodel.pretrained.folder",
    "Predictor": "avsmodel.predictor",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'avsmodel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
