"""Reading a pickled tensor (an AVSBench log-mel ``.pkl``) without running the pickle's code.

A pickle names the functions it calls. A tensor needs only a few of them, so this unpickler
admits exactly those and refuses every other name before anything is imported or called:

* ``torch._utils._rebuild_tensor_v2`` / ``_rebuild_tensor`` (a tensor from its storage),
  ``torch.Size`` and ``collections.OrderedDict`` (the empty backward-hooks argument): what
  ``pickle.dump(tensor)`` writes, as AVSBench's own pickles are made;
* ``torch.storage._load_from_bytes`` and ``torch.serialization.load`` / ``torch.load`` with
  ``_io.BytesIO``: a storage, or avsynth's export's whole tensor, embedded as ``torch.save``
  bytes. These two are never called as named: torch's versions unpickle the embedded bytes
  with ``weights_only=False`` (arbitrary code). Both are replaced by
  ``torch.load(..., weights_only=True)``, which applies the same allow-list idea inside;
* ``_codecs.encode`` (how protocol 2 spells a ``bytes`` object);
* numpy's array reconstruction (``numpy.ndarray``, ``numpy.dtype`` and
  ``numpy.core.multiarray._reconstruct``) for log-mels saved as numpy arrays.

Names are matched whole (``torch.serialization`` + ``os.system`` is not
``torch.serialization.load``), and persistent ids are refused.
"""

from __future__ import annotations

import io
import os
import pickle
from typing import Any

import torch


def load_embedded_torch(data: Any, *args: Any, **kwargs: Any) -> Any:
    """``torch.load`` of embedded bytes (or a ``BytesIO``) with ``weights_only=True``.

    Extra arguments a pickle passes (``map_location``, ``weights_only=False``...) are
    ignored: the load is always on the CPU and always restricted.
    """
    del args, kwargs
    if isinstance(data, (bytes, bytearray)):
        data = io.BytesIO(bytes(data))
    if not isinstance(data, io.BytesIO):
        raise pickle.UnpicklingError(f"embedded torch data is a {type(data).__name__}")
    try:
        return torch.load(data, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:  # torch's message spans many lines: keep the reason
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        reason = next((ln for ln in lines if "GLOBAL" in ln), lines[0] if lines else "refused")
        raise pickle.UnpicklingError(f"embedded torch data: {reason}") from None


def _numpy_globals() -> dict[tuple[str, str], Any]:
    import importlib

    import numpy as np

    try:
        multiarray = importlib.import_module("numpy._core.multiarray")
    except ImportError:  # numpy 1.x
        multiarray = importlib.import_module("numpy.core.multiarray")
    reconstruct = multiarray._reconstruct  # noqa: SLF001 - the name numpy's pickles use
    return {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): reconstruct,
    }


def allowed_globals() -> dict[tuple[str, str], Any]:
    """The ``(module, name)`` pairs a pickled tensor may name, and what each resolves to."""
    import codecs
    import collections

    import torch._utils as tu

    return {
        ("torch._utils", "_rebuild_tensor_v2"): tu._rebuild_tensor_v2,  # noqa: SLF001
        ("torch._utils", "_rebuild_tensor"): tu._rebuild_tensor,  # noqa: SLF001
        ("torch", "Size"): torch.Size,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("_codecs", "encode"): codecs.encode,
        ("_io", "BytesIO"): io.BytesIO,
        ("torch.storage", "_load_from_bytes"): load_embedded_torch,
        ("torch.serialization", "load"): load_embedded_torch,
        ("torch", "load"): load_embedded_torch,
        **_numpy_globals(),
    }


class TensorUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :func:`allowed_globals` and refuses persistent ids."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve an allowed global; raise :class:`pickle.UnpicklingError` for any other."""
        found = allowed_globals().get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return found

    def persistent_load(self, pid: Any) -> Any:
        """Refuse persistent ids (a plain tensor pickle has none)."""
        raise pickle.UnpicklingError("refusing a persistent id")


def load_tensor_pickle(path: str | os.PathLike[str]) -> Any:
    """Unpickle ``path`` with :class:`TensorUnpickler` (errors propagate to the caller)."""
    with open(path, "rb") as f:
        return TensorUnpickler(f).load()
