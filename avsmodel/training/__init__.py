"""Training: config, loop, task (loss), checkpoints, DDP helpers and curves."""

from avsmodel.training.checkpoint import build_from_checkpoint, load_checkpoint, save_checkpoint
from avsmodel.training.config import TrainConfig, load_config
from avsmodel.training.loop import TrainResult, train
from avsmodel.training.task import SegmentationTask, soft_iou_loss

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
