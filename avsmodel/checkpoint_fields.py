"""Types of the fields of an avsmodel checkpoint, checked when it is loaded.

A checkpoint is loaded with ``weights_only=True``, so it can hold only plain containers,
numbers, strings and tensors; but a crafted or damaged one can still put a string where a
number belongs, or a list where the weights belong, and the code reading it would fail with a
traceback far from the cause. :func:`check_fields` names the first field of the wrong type.
"""

from __future__ import annotations

from typing import Any

import torch

from avsmodel.errors import CheckpointError

_NUMBER = (int, float)
#: field -> accepted types (``None`` in the tuple: the field may be null); absent is fine
#: for all but the required fields (checked by the loader).
FIELDS: dict[str, tuple[Any, ...]] = {
    "model": (str,),
    "state_dict": (dict,),
    "train_config": (dict,),
    "model_overrides": (dict, None),
    "run_options": (dict, None),
    "frozen_state": (dict, None),
    "model_config": (dict, None),
    "sam_checkpoint": (str, None),
    "vggish_checkpoint": (str, None),
    "init": (str, None),
    "epoch": (int, None),
    "best_epoch": (int, None),
    "best_miou": (*_NUMBER, None),
    "metrics": (dict, None),
    "data": (dict, None),
    "world_size": (int, None),
    "resume": (dict,),
}
#: train_config keys the loaders use directly.
CONFIG_FIELDS: dict[str, tuple[Any, ...]] = {
    "seed": (int,),
    "val_batch_size": (int,),
    "threads": (int,),
    "resize": (str,),
}


def _ok(value: Any, types: tuple[Any, ...]) -> bool:
    if value is None:
        return None in types
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, tuple(t for t in types if t is not None))


def _names(types: tuple[Any, ...]) -> str:
    return " or ".join("null" if t is None else t.__name__ for t in types)


def check_fields(ckpt: dict[str, Any], where: str) -> None:
    """Raise :class:`CheckpointError` naming the first field of ``ckpt`` of a wrong type.

    Also checked: the weights (``state_dict``, ``frozen_state``) map names to tensors, and
    the ``train_config`` keys the loaders read are of their types.
    """
    for key, types in FIELDS.items():
        if key in ckpt and not _ok(ckpt[key], types):
            raise CheckpointError(
                f"{where}: checkpoint field {key!r} is a {type(ckpt[key]).__name__}, "
                f"expected {_names(types)}"
            )
    for key in ("state_dict", "frozen_state"):
        for name, value in (ckpt.get(key) or {}).items():
            if not isinstance(name, str) or not isinstance(value, torch.Tensor):
                raise CheckpointError(
                    f"{where}: checkpoint field {key!r} maps {name!r} to a "
                    f"{type(value).__name__}, expected tensors by name"
                )
    config = ckpt.get("train_config") or {}
    for key, types in CONFIG_FIELDS.items():
        if key in config and not _ok(config[key], types):
            raise CheckpointError(
                f"{where}: checkpoint train_config {key!r} is a {type(config[key]).__name__}, "
                f"expected {_names(types)}"
            )
