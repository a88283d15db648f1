"""Training: config, loop, task (loss), checkpoints, DDP helpers and curves.

The package is callable: ``avsmodel.train(manifest, model=..., out=...)`` is
:func:`avsmodel.train.loop.train`, whether ``avsmodel.train`` resolves to this package or to
the function.
"""

import sys
import types
from typing import Any

from avsmodel.train.checkpoint import build_from_checkpoint, load_checkpoint, save_checkpoint
from avsmodel.train.config import TrainConfig, load_config
from avsmodel.train.loop import TrainResult, train
from avsmodel.train.task import SegmentationTask, soft_iou_loss

__all__ = [
    "SegmentationTask",
    "TrainConfig",
    "TrainResult",
    "build_from_checkpoint",
    "load_checkpoint",
    "load_config",
    "save_checkpoint",
    "soft_iou_loss",
    "train",
]


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> TrainResult:
        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
