"""AVSBench-Object (S4 single-source, MS3 multi-source) in its released folder layout.

The layout follows the official code (OpenNLPLab/AVSBench ``avs_scripts/avs_s4`` and
``avs_ms3``: ``config.py`` and ``dataloader.py``)::

    avsbench_data/Single-source/s4_meta_data.csv              name,start,category,split
    avsbench_data/Single-source/s4_data/visual_frames/<split>/<category>/<name>/<name>_<k>.png
    avsbench_data/Single-source/s4_data/gt_masks/<split>/<category>/<name>/<name>_<k>.png
    avsbench_data/Single-source/s4_data/audio_wav/<split>/<category>/<name>.wav
    avsbench_data/Single-source/s4_data/audio_log_mel/<split>/<category>/<name>.pkl
    avsbench_data/Multi-sources/ms3_meta_data.csv             video_id,split
    avsbench_data/Multi-sources/ms3_data/visual_frames/<id>/<id>.mp4_<k>.png
    avsbench_data/Multi-sources/ms3_data/gt_masks/<split>/<id>/<id>_<k>.png
    avsbench_data/Multi-sources/ms3_data/audio_wav/<split>/<id>.wav
    avsbench_data/Multi-sources/ms3_data/audio_log_mel/<split>/<id>.pkl

``ROOT`` may be ``avsbench_data``, ``Single-source``/``Multi-sources``, or a folder holding the
CSV next to ``visual_frames/`` etc. Each clip has 5 frames (k = 1..5, one per second); frame k
is paired with log-mel example k. S4 train annotates only frame 1, so only it is used there.
Log-mel pickles (``[5,1,96,64]`` tensors) are preferred; the WAV is used when they are absent.
"""

from __future__ import annotations

import csv
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from avsmodel.data.dataset import (
    LogMelCache,
    mask_to_lowres,
    read_mask,
    read_rgb,
    stable_hash,
)
from avsmodel.data.selection import frame_audio
from avsmodel.data.tensor_pickle import TensorUnpickler
from avsmodel.errors import DataError
from avsynth.errors import ManifestError
from avsynth.manifest import UnsafePathError, check_split, safe_component

SUBSETS = {
    "s4": ("Single-source", "s4_meta_data.csv", "s4_data"),
    "ms3": ("Multi-sources", "ms3_meta_data.csv", "ms3_data"),
}
FRAMES = 5


@dataclass(frozen=True)
class AvsbenchClip:
    """One video of the meta CSV (``category`` is empty for MS3)."""

    name: str
    category: str
    split: str


def locate(root: str | os.PathLike[str], subset: str) -> tuple[Path, Path]:
    """The meta CSV and the data folder of ``subset`` below ``root``.

    Raises:
        DataError: if the subset is unknown or its CSV/data folder cannot be found.
    """
    if subset not in SUBSETS:
        raise DataError(f"unknown AVSBench subset {subset!r}; use s4 or ms3")
    top, csv_name, data_name = SUBSETS[subset]
    root = Path(root)
    for base in (root, root / top):
        meta = base / csv_name
        if not meta.is_file():
            continue
        for data in (base / data_name, base):
            if (data / "visual_frames").is_dir():
                return meta, data
        raise DataError(f"{base}: found {csv_name} but no {data_name}/visual_frames folder")
    raise DataError(
        f"{root}: no {csv_name} (expected {root}/{top}/{csv_name} or {root}/{csv_name})"
    )


def read_meta(meta: Path, subset: str) -> list[AvsbenchClip]:
    """Parse ``s4_meta_data.csv`` / ``ms3_meta_data.csv``.

    Raises:
        DataError: a missing column, or a name/category/split that is not a single path
            component (``..``, ``/``, ...), naming the CSV line.
    """
    need = ("name", "category", "split") if subset == "s4" else ("video_id", "split")
    with open(meta, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in need if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{meta}: missing column(s) {', '.join(missing)}")
        clips = []
        for row in reader:
            # Names become folder and file names below the data folder: one component each.
            for col in need:
                try:
                    safe_component(row[col], what=f"{meta}:{reader.line_num}: {col}")
                except UnsafePathError as e:
                    raise DataError(str(e)) from None
            if subset == "s4":
                clips.append(AvsbenchClip(row["name"], row["category"], row["split"]))
            else:
                clips.append(AvsbenchClip(row["video_id"], "", row["split"]))
    return clips


def check_meta_split(meta: Path, present: set[str], split: str) -> None:
    """Raise :class:`DataError` if ``split`` is not a split name or not among ``present``."""
    try:
        check_split(split, present, source=meta.name, items="clips")
    except ManifestError as e:
        raise DataError(f"{meta}: {e}") from None


def read_log_mel(path: Path) -> torch.Tensor:
    """Load an AVSBench ``[5,1,96,64]`` log-mel pickle as a float tensor."""
    try:
        with open(path, "rb") as f:
            obj = TensorUnpickler(f).load()
        t = torch.as_tensor(obj.detach() if isinstance(obj, torch.Tensor) else obj).float()
    except pickle.UnpicklingError as e:
        raise DataError(f"{path}: log-mel pickle does not load ({e})") from None
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a data error
        raise DataError(f"{path}: log-mel pickle does not load ({type(e).__name__})") from None
    if t.dim() != 4 or tuple(t.shape[1:]) != (1, 96, 64):
        raise DataError(f"{path}: log-mel shape {tuple(t.shape)}, expected [5, 1, 96, 64]")
    return t


class AvsbenchDataset(Dataset):
    """Annotated frames of one AVSBench subset and split, as items like ManifestDataset's.

    Args:
        root: AVSBench root (see module docstring).
        subset: ``s4`` or ``ms3``.
        split: ``train``, ``val`` or ``test``.
        image_size: The model's input size S.
        audio_examples: Log-mel examples the model expects: 1 = frame k hears example k
            alone (the authors' protocol); N > 1 = N examples centred on it (mean option).
        mismatched: Pair each frame with another clip's audio (S4: of another category).
        seed: Seed of the mismatch pairing.
        full_masks: Also return the mask at frame size as ``mask_full``.
        resize: ``pad`` or ``squash`` (see :class:`ManifestDataset`).
        input_masks: Also return the mask on the SxS input grid as ``mask_input``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        subset: str,
        split: str,
        *,
        image_size: int,
        audio_examples: int,
        mismatched: bool = False,
        seed: int = 0,
        full_masks: bool = False,
        audio_cache: int = 4096,
        resize: str = "pad",
        input_masks: bool = False,
    ) -> None:
        from avsmodel.transforms import SamTransform

        self.meta, self.data = locate(root, subset)
        self.subset, self.split = subset, split
        all_clips = read_meta(self.meta, subset)
        self.clips = [c for c in all_clips if c.split == split]
        if not self.clips:
            check_meta_split(self.meta, {c.split for c in all_clips}, split)
        frames = [1] if (subset == "s4" and split == "train") else list(range(1, FRAMES + 1))
        self.frames = frames
        self.frames_per_clip = len(frames)
        self.items = [(ci, k) for ci in range(len(self.clips)) for k in frames]
        self.image_size, self.mask_size = image_size, image_size // 4
        self.audio_examples = audio_examples
        self.transform = SamTransform(image_size, resize)
        self.input_masks = input_masks
        self.mismatched, self.seed, self.full_masks = mismatched, seed, full_masks
        self._cache = LogMelCache(audio_cache)
        if mismatched and len(self.clips) < 2:
            raise DataError(f"{self.meta}: mismatched audio needs two clips in {split!r}")

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        """No per-epoch state (present for the training loop's sake)."""

    def ids(self) -> list[str]:
        """Clip names, in dataset order."""
        return [c.name for c in self.clips]

    def keep_ids(self, ids: set[str] | list[str]) -> None:
        """Keep only the clips with these names (dataset order kept; few-shot runs)."""
        keep = set(ids)
        self.clips = [c for c in self.clips if c.name in keep]
        self.items = [(ci, k) for ci in range(len(self.clips)) for k in self.frames]

    def _dir(self, kind: str, clip: AvsbenchClip) -> Path:
        if self.subset == "s4":
            return self.data / kind / clip.split / clip.category
        return self.data / kind / clip.split

    def frame_path(self, clip: AvsbenchClip, k: int) -> Path:
        """``visual_frames`` PNG of frame k (1-based)."""
        if self.subset == "s4":
            return self._dir("visual_frames", clip) / clip.name / f"{clip.name}_{k}.png"
        return self.data / "visual_frames" / clip.name / f"{clip.name}.mp4_{k}.png"

    def mask_path(self, clip: AvsbenchClip, k: int) -> Path:
        """``gt_masks`` PNG of frame k (1-based)."""
        if self.subset == "s4":
            return self._dir("gt_masks", clip) / clip.name / f"{clip.name}_{k}.png"
        return self.data / "gt_masks" / clip.split / clip.name / f"{clip.name}_{k}.png"

    def clip_log_mel(self, ci: int) -> torch.Tensor:
        """``[5,1,96,64]`` examples of clip ``ci`` (pickle, else computed from the WAV)."""
        clip = self.clips[ci]
        pkl = self._dir("audio_log_mel", clip) / f"{clip.name}.pkl"
        if pkl.is_file():
            return read_log_mel(pkl)
        wav = self._dir("audio_wav", clip) / f"{clip.name}.wav"
        if not wav.is_file():
            raise DataError(f"{pkl}: no log-mel pickle and no WAV {wav.name} beside it")
        return self._cache.get(wav)

    def audio_clip(self, ci: int) -> int:
        """Index of the clip whose audio is paired with clip ``ci``."""
        if not self.mismatched:
            return ci
        clip = self.clips[ci]
        pool = [j for j, c in enumerate(self.clips) if j != ci and c.category != clip.category]
        pool = pool or [j for j in range(len(self.clips)) if j != ci]
        return pool[stable_hash(self.seed, "mismatch", clip.name) % len(pool)]

    def __getitem__(self, index: int) -> dict[str, Any]:
        ci, k = self.items[index]
        clip = self.clips[ci]
        frame = self.frame_path(clip, k)
        img = read_rgb(frame)
        mask = read_mask(self.mask_path(clip, k))
        if mask.shape != img.shape[:2]:
            raise DataError(f"{self.mask_path(clip, k)}: mask size differs from its frame")
        image, resized = self.transform.image(img)
        mel = self.clip_log_mel(self.audio_clip(ci))
        item: dict[str, Any] = {
            "image": image,
            "audio": frame_audio(mel, self.audio_examples, index=k - 1),
            "mask": mask_to_lowres(self.transform.mask(mask), self.mask_size),
            "index": index,
            "image_key": str(frame),
            "size": tuple(img.shape[:2]),
            "resized": tuple(int(v) for v in resized),
        }
        if self.full_masks:
            item["mask_full"] = torch.from_numpy(mask)
        if self.input_masks:
            item["mask_input"] = self.transform.mask(mask) > 0.5
        return item
