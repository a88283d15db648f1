"""Training: config, loop, task (loss), checkpoints, DDP helpers and curves."""

from avsmodel.checkpoint import load_checkpoint, save_checkpoint
from avsmodel.pretrained.build import build_from_checkpoint
from avsmodel.recipe import TrainConfig, load_config
from avsmodel.task import SegmentationTask, soft_iou_loss
from avsmodel.training.loop import TrainResult, train

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
