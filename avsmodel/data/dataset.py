"""Torch dataset over an avsynth manifest: one (image, mask, audio) triplet per item.

Media are read through :class:`avsynth.manifest.media.ManifestMedia` (materialised and plan-only
manifests alike); avsynth's errors come back as :class:`DataError` with the same one-line text.
Images go through :class:`avsmodel.transforms.SamTransform` (longest side to the model's
input size, normalised, padded); masks are resized the same way and pooled to the model's
mask resolution (the loss resolution); audio is decoded to 16 kHz mono and turned into
VGGish log-mel examples with :func:`avsmodel.audio.vggish_examples` and cached per clip in
memory; which example(s) an image hears is :func:`avsmodel.data.selection.frame_audio`'s
choice (example 1 alone, as the paper's authors; N > 1 examples is the mean option).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from avsmodel.errors import DataError
from avsynth.audio.logmel import MIN_SAMPLES, MIN_SECONDS
from avsynth.constants import SAMPLE_RATE
from avsynth.errors import AvsynthError, ManifestError
from avsynth.manifest import check_split
from avsynth.planning.keys import stable_hash


def _data_error(e: AvsynthError) -> DataError:
    """avsynth's one-line media/manifest error as avsmodel's :class:`DataError`."""
    return DataError(str(e))


def read_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode an image file to ``uint8[H, W, 3]`` (:func:`avsynth.manifest.media.read_image`).

    Raises:
        DataError: if the file is missing or does not decode (the message names it).
    """
    from avsynth.manifest.media import read_image

    try:
        return read_image(path)
    except AvsynthError as e:
        raise _data_error(e) from None


def read_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode a mask PNG to ``bool[H, W]`` (:func:`avsynth.manifest.media.read_mask`: grey >= 128).

    Raises:
        DataError: if the file is missing or does not decode.
    """
    from avsynth.manifest.media import read_mask as _read_mask

    try:
        return _read_mask(path)
    except AvsynthError as e:
        raise _data_error(e) from None


def fit_examples(examples: torch.Tensor, n: int, *, centre: int | None = None) -> torch.Tensor:
    """Crop or tile ``[M, 1, 96, 64]`` log-mel examples to exactly ``n``.

    Args:
        examples: The clip's examples.
        n: Examples the model expects.
        centre: Example index to centre the crop on (default: middle of the clip).
    """
    m = examples.shape[0]
    if m == 0:
        raise DataError(f"audio shorter than one VGGish example ({MIN_SECONDS:.3f} s)")
    if m < n:
        reps = -(-n // m)
        return examples.repeat(reps, 1, 1, 1)[:n]
    c = m // 2 if centre is None else centre
    start = min(max(c - n // 2, 0), m - n)
    return examples[start : start + n]


class LogMelCache:
    """LRU cache of log-mel examples per audio file (``capacity`` 0 disables it)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._d: OrderedDict[str, torch.Tensor] = OrderedDict()

    def get(self, path: Path, seconds: float | None = None) -> torch.Tensor:
        """The clip's ``[M, 1, 96, 64]`` examples, decoded on first use.

        Args:
            path: The clip (any container; decoded and resampled by :mod:`avsynth.audio.decode`).
            seconds: Use the first ``seconds`` only, padded with silence to that length as the
                build pads short clips
                (:meth:`avsynth.manifest.media.ManifestMedia.audio`); default the whole file.

        Raises:
            DataError: the file is missing, does not decode, or holds less audio than one
                VGGish example (0.975 s) before any padding (the build refuses such clips).
        """
        key = f"{path}\x1f{seconds}"
        if key in self._d:
            self._d.move_to_end(key)
            return self._d[key]
        from avsmodel.audio import vggish_examples
        from avsynth.audio.decode import decode_audio

        try:
            wave = decode_audio(path, duration=seconds)
        except AvsynthError as e:
            raise _data_error(e) from None
        if wave.size < MIN_SAMPLES:
            raise DataError(f"{path}: audio shorter than one VGGish example ({MIN_SECONDS:.3f} s)")
        if seconds is not None:  # what the build writes: cut, or padded with silence
            want = int(round(seconds * SAMPLE_RATE))
            wave = np.pad(wave[:want], (0, max(0, want - wave.size)))
        try:
            ex = vggish_examples(wave, SAMPLE_RATE).float()
        except DataError as e:
            raise DataError(f"{path}: {e}") from None
        if ex.shape[0] == 0:
            raise DataError(f"{path}: audio shorter than one VGGish example ({MIN_SECONDS:.3f} s)")
        if self.capacity:
            self._d[key] = ex
            if len(self._d) > self.capacity:
                self._d.popitem(last=False)
        return ex


def _pool_key(t: Any) -> str:
    """Audio pool of a record: its category; composed (non-single) records pool by
    composition too, so resampling never turns a mix into one clip or back."""
    return t.category if t.composition == "single" else f"{t.composition}:{t.category}"


def mask_to_lowres(mask: torch.Tensor, mask_size: int) -> torch.Tensor:
    """Pool a padded ``[S, S]`` 0/1 mask to a binary ``[s, s]`` mask (majority vote)."""
    import torch.nn.functional as F

    low = F.adaptive_avg_pool2d(mask[None, None].float(), mask_size)[0, 0]
    return (low >= 0.5).float()


class ManifestDataset(Dataset):
    """Triplets of one split of an avsynth manifest, ready for the models.

    Each item is a dict: ``image`` ``[3,S,S]`` float, ``audio`` ``[N,1,96,64]``, ``mask``
    ``[S/4,S/4]`` 0/1 float, ``index``, ``size`` (original ``(H, W)``) and ``resized``
    (``(h, w)`` before padding); with ``full_masks`` also ``mask_full`` ``bool[H, W]``.

    Args:
        manifest: ``manifest.jsonl`` (or ``.jsonl.gz``).
        split: ``train``, ``val`` or ``test``.
        image_size: The model's input size S.
        audio_examples: Log-mel examples per clip the model expects (N).
        roots: Source roots for a plan-only manifest (``{"lvis": DIR, ...}``; default the
            roots its ``build_info.json`` records). Plan-only media are read from the sources
            as :class:`avsynth.manifest.media.ManifestMedia` reads them: LVIS masks drawn from the
            annotations (the LVIS JSONs are read once per process, on the first LVIS mask),
            Open Images masks from the mask zips, clips decoded and resampled to 16 kHz.
        mismatched: Pair every image with a clip of a different category (deterministic),
            to measure whether a model listens.
        resample_audio_p: Probability of swapping the clip for another clip of the same
            category in this split (deterministic in ``seed``, epoch and index).
        seed: Seed of mismatching and resampling.
        full_masks: Also return the mask at the image's own size (for evaluation).
        audio_cache: Log-mel arrays kept per process (LRU).
        resize: ``pad`` (SAM's aspect-keeping resize and padding) or ``squash`` (to SxS,
            the paper authors' loaders).
        input_masks: Also return the mask on the model's SxS input grid as ``mask_input``
            (scoring at the input size, as the authors' 1024 px evaluation).
        audio_pools: ``{category: [clip path, ...]}`` to draw resampled clips from (an
            imported release's pools, :func:`avsynth.release.read_audio_pools`) instead of
            the split's own clips of the category.

    Raises:
        DataError: if the split is unknown or holds no triplets (the message lists the
            splits the manifest has), or a clip of the split is shorter than one VGGish
            example (0.975 s, by its recorded duration).
    """

    def __init__(
        self,
        manifest: str | os.PathLike[str],
        split: str,
        *,
        image_size: int,
        audio_examples: int,
        roots: dict[str, str | os.PathLike[str]] | None = None,
        mismatched: bool = False,
        resample_audio_p: float = 0.0,
        seed: int = 0,
        full_masks: bool = False,
        audio_cache: int = 4096,
        resize: str = "pad",
        input_masks: bool = False,
        audio_pools: dict[str, list[Path]] | None = None,
    ) -> None:
        from avsmodel.transforms import SamTransform
        from avsynth.manifest import iter_manifest
        from avsynth.manifest.media import ManifestMedia, lvis_labels

        self.manifest = Path(manifest)
        self.split = split
        self.roots = roots
        all_records = list(iter_manifest(self.manifest))
        self.records = [t for t in all_records if t.split == split]
        if not self.records:
            try:
                check_split(split, {t.split for t in all_records}, source=self.manifest.name)
            except ManifestError as e:
                raise DataError(f"{self.manifest}: {e}") from None
        for t in self.records:
            if not t.audio.duration >= MIN_SECONDS:
                raise DataError(
                    f"{self.manifest}: triplet {t.id}: its clip is {t.audio.duration} s, shorter "
                    f"than one VGGish example ({MIN_SECONDS:.3f} s); rebuild with a longer "
                    "--clip-seconds"
                )
        self.image_size = image_size
        self.mask_size = image_size // 4
        self.audio_examples = audio_examples
        self.transform = SamTransform(image_size, resize)
        self.input_masks = input_masks
        self.mismatched = mismatched
        self.resample_audio_p = resample_audio_p
        self.seed = seed
        self.full_masks = full_masks
        self.epoch = 0
        self._cache = LogMelCache(audio_cache)
        self.media = ManifestMedia(self.manifest, roots, lvis_labels(self.records))
        self.audio_pools = {k: list(v) for k, v in (audio_pools or {}).items() if v}
        self._by_cat: dict[str, list[int]] = {}
        self._index_pools()
        if mismatched and len(self._by_cat) < 2:
            raise DataError(
                f"{self.manifest}: split {split!r} has one category only; mismatched audio "
                "needs at least two"
            )

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch for audio resampling (call before iterating)."""
        self.epoch = epoch

    def categories(self) -> list[str]:
        """The categories of this split, sorted."""
        return sorted({t.category for t in self.records})

    def audio_index(self, index: int) -> int:
        """Which triplet's clip is paired with triplet ``index`` (mismatch/resampling)."""
        t = self.records[index]
        if self.mismatched:
            others = [c for c in sorted(self._by_cat) if c != _pool_key(t)]
            cat = others[stable_hash(self.seed, "mismatch-cat", t.id) % len(others)]
            pool = self._by_cat[cat]
            return pool[stable_hash(self.seed, "mismatch-clip", t.id) % len(pool)]
        if self.resample_audio_p > 0:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            if rng.random() < self.resample_audio_p:
                pool = self._by_cat[_pool_key(t)]
                return pool[int(rng.integers(len(pool)))]
        return index

    def path(self, ref: Any) -> Path:
        """Absolute path of a media reference of this manifest.

        Raises:
            DataError: the reference has no file (a plan-only LVIS mask: use
                :meth:`load_mask`) or its root is unknown.
        """
        try:
            return self.media.path(ref)
        except AvsynthError as e:
            raise _data_error(e) from None

    def load_mask(self, index: int) -> np.ndarray:
        """``bool[H, W]`` mask of triplet ``index`` (plan-only: drawn from the sources)."""
        try:
            return self.media.mask(self.records[index])
        except AvsynthError as e:
            raise _data_error(e) from None

    def audio_source(self, index: int) -> tuple[Path, float | None]:
        """The clip file triplet ``index`` hears on this access (this epoch), and its length.

        With ``audio_pools`` and resampling, a clip of the category's pool (seeded by seed,
        epoch and index, as :meth:`audio_index`; its length is read from the file);
        otherwise :meth:`audio_index`'s triplet's clip and its recorded duration.
        """
        t = self.records[index]
        # A release's pools hold single clips: a composed record never draws from them.
        pool = self.audio_pools.get(t.category) if t.composition == "single" else None
        if pool and self.resample_audio_p > 0 and not self.mismatched:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            if rng.random() < self.resample_audio_p:
                return Path(pool[int(rng.integers(len(pool)))]), None
            return self.path(t.audio), float(t.audio.duration)
        ref = self.records[self.audio_index(index)].audio
        return self.path(ref), float(ref.duration)

    def _examples(self, path: Path, seconds: float | None = None) -> torch.Tensor:
        from avsmodel.data.selection import frame_audio, synthetic_example_index

        ex = self._cache.get(path, seconds)
        n = self.audio_examples
        return frame_audio(ex, n, index=synthetic_example_index(n))

    frames_per_clip = 1  # one image per "video" (the F protocols' batch unit)

    def ids(self) -> list[str]:
        """Triplet ids, in dataset order."""
        return [t.id for t in self.records]

    def keep_ids(self, ids: set[str] | list[str]) -> None:
        """Keep only the triplets with these ids (dataset order kept; few-shot runs)."""
        keep = set(ids)
        self.records = [t for t in self.records if t.id in keep]
        self._index_pools()

    def _index_pools(self) -> None:
        """Group the records' indices by their audio pool key (see ``_pool_key``)."""
        self._by_cat = {}
        for i, t in enumerate(self.records):
            self._by_cat.setdefault(_pool_key(t), []).append(i)

    def __getitem__(self, index: int) -> dict[str, Any]:
        t = self.records[index]
        image_path = self.path(t.image)
        img = read_rgb(image_path)
        mask = self.load_mask(index)
        if mask.shape != img.shape[:2]:
            where = f"{t.mask.source} mask {t.mask.source_id}"
            if t.mask.path is not None:
                where = str(self.path(t.mask))
            raise DataError(
                f"{where}: mask is {mask.shape[1]}x{mask.shape[0]} but its image "
                f"is {img.shape[1]}x{img.shape[0]}"
            )
        image, resized = self.transform.image(img)
        padded = self.transform.mask(mask)
        item: dict[str, Any] = {
            "image": image,
            "audio": self._examples(*self.audio_source(index)),
            "mask": mask_to_lowres(padded, self.mask_size),
            "index": index,
            "image_key": str(image_path),
            "size": tuple(img.shape[:2]),
            "resized": tuple(int(v) for v in resized),
        }
        if self.full_masks:
            item["mask_full"] = torch.from_numpy(mask)
        if self.input_masks:
            item["mask_input"] = padded > 0.5
        return item
