"""Export a materialised manifest in the AVSBench S4 (single-source) layout.

The layout is the one OpenNLPLab/AVSBench's ``avs_scripts/avs_s4`` code reads
(``config.py`` paths under ``avsbench_data/``, ``dataloader.py`` file names), so its data
loader, and code derived from it, trains and tests on the synthetic set unchanged::

    OUT/Single-source/s4_meta_data.csv            name,start,category,split
    OUT/Single-source/s4_data/visual_frames/<split>/<category>/<name>/<name>_<k>.png
    OUT/Single-source/s4_data/gt_masks/<split>/<category>/<name>/<name>_<k>.png
    OUT/Single-source/s4_data/audio_wav/<split>/<category>/<name>.wav
    OUT/Single-source/s4_data/audio_log_mel/<split>/<category>/<name>.pkl
    OUT/export_info.json                          provenance and counts

Choices (S4 clips are 5 s videos with one frame per second):

* ``name`` is the triplet id (characters other than letters, digits, ``-``, ``_``, ``.``
  replaced by ``_``); ``start`` is 0: the 5 s segment starts at the clip's first sample;
* ``category`` is the sound's VGGSound label as S4 spells it: the text before the first comma,
  spaces replaced by underscores (``dog barking`` -> ``dog_barking``, ``playing violin,
  fiddle`` -> ``playing_violin``, ``race car, auto racing`` -> ``race_car``), so S4 and
  synthetic categories line up;
* the still image is every one of the 5 frames (``k`` = 1..5), resized to 224x224 (bilinear,
  aspect not kept, as S4's ``cv2.resize``); the mask is written for each frame (S4's loader reads
  frame 1's mask in ``train`` and all 5 in ``val``/``test``), 224x224 nearest, values 0/255;
* ``audio_wav`` holds the first 5 s of the clip (16 kHz mono PCM_16); ``audio_log_mel`` is a
  pickled ``torch.Tensor[5, 1, 96, 64]`` of VGGish log-mel examples of that audio
  (:func:`avsynth.audio.logmel.vggish_examples`), padded by repeating the last example when the clip
  is shorter, as AVSBench's preprocessing does. AVSBench's loader reads it with
  ``pickle.load(f).detach()``; the pickle wraps ``torch.save`` bytes so that the same audio
  gives the same file (see :class:`_Pickler`).

``subset="ms3"`` writes the MS3 (multi-source) layout instead, the one ``avs_scripts/avs_ms3``
reads; every composition of a composed manifest goes there (``multi`` targets are the union
of the sounding objects, ``offscreen`` ones are empty)::

    OUT/Multi-sources/ms3_meta_data.csv                   video_id,split
    OUT/Multi-sources/ms3_data/visual_frames/<name>/<name>.mp4_<k>.png
    OUT/Multi-sources/ms3_data/gt_masks/<split>/<name>/<name>_<k>.png
    OUT/Multi-sources/ms3_data/audio_wav/<split>/<name>.wav
    OUT/Multi-sources/ms3_data/audio_log_mel/<split>/<name>.pkl
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avsynth import __version__
from avsynth.audio.logmel import MIN_SECONDS
from avsynth.constants import SAMPLE_RATE, SPLITS
from avsynth.errors import ManifestError, MediaError
from avsynth.manifest import iter_manifest, read_manifest
from avsynth.manifest.media import ManifestMedia, Roots, lvis_labels
from avsynth.manifest.schema import Triplet, UnsafePathError, check_split, safe_component
from avsynth.storage.atomic import atomic_write_bytes, atomic_write_text, file_sha256
from avsynth.storage.layout import safe_name
from avsynth.storage.out_paths import check_out_dir

FRAMES = 5
FRAME_SIZE = 224
SECONDS = 5
META_CSV = "s4_meta_data.csv"
LAYOUTS = {  # subset -> (folder, meta CSV, data folder, CSV header)
    "s4": ("Single-source", META_CSV, "s4_data", ["name", "start", "category", "split"]),
    "ms3": ("Multi-sources", "ms3_meta_data.csv", "ms3_data", ["video_id", "split"]),
}


def _paths(subset: str, data: Path, split: str, cat: str, name: str) -> dict[str, Any]:
    """Where one video's frames, masks, WAV and log-mel pickle go in the S4 / MS3 layout."""
    if subset == "s4":
        return {
            "frame": lambda k: data / "visual_frames" / split / cat / name / f"{name}_{k}.png",
            "mask": lambda k: data / "gt_masks" / split / cat / name / f"{name}_{k}.png",
            "wav": data / "audio_wav" / split / cat / f"{name}.wav",
            "pkl": data / "audio_log_mel" / split / cat / f"{name}.pkl",
        }
    return {
        "frame": lambda k: data / "visual_frames" / name / f"{name}.mp4_{k}.png",
        "mask": lambda k: data / "gt_masks" / split / name / f"{name}_{k}.png",
        "wav": data / "audio_wav" / split / f"{name}.wav",
        "pkl": data / "audio_log_mel" / split / f"{name}.pkl",
    }


def s4_category(label: str) -> str:
    """S4's spelling of a VGGSound label: text before the first comma, spaces -> ``_``."""
    return label.split(",")[0].strip().replace(" ", "_")


@dataclass
class ExportReport:
    """What :func:`export_avsbench` wrote.

    Attributes:
        root: ``OUT/Single-source``.
        counts: Videos per split.
        categories: Videos per S4 category.
    """

    root: Path
    counts: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the terminal."""
        parts = ", ".join(f"{s} {self.counts.get(s, 0)}" for s in SPLITS)
        return f"{sum(self.counts.values())} videos ({parts}), {len(self.categories)} categories"


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _wav(y: np.ndarray) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, y, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()


class _Pickler(pickle.Pickler):
    """Pickles a tensor as ``torch.load(io.BytesIO(<torch.save bytes>))``.

    The contract (tested): ``pickle.load`` of the file calls the public ``torch.load`` on the
    embedded bytes and returns the ``torch.Tensor`` (what AVSBench's loader ``.detach()``-es);
    the only globals in the pickle are ``torch.serialization.load`` and ``_io.BytesIO``; the
    bytes depend only on the tensor and the installed torch version (``torch.save``'s zip
    format numbers storages from 0 and writes fixed timestamps). Plain ``pickle.dumps`` of a
    tensor instead keys its storage by a memory address, so equal tensors give different files,
    and patching that key out depends on torch's private serialisation code.
    """

    def reducer_override(self, obj: Any) -> Any:
        import torch

        if isinstance(obj, torch.Tensor):
            buf = io.BytesIO()
            torch.save(obj.detach().cpu().contiguous(), buf)
            return (torch.load, (io.BytesIO(buf.getvalue()),))
        return NotImplemented


def dumps_tensor(tensor: Any) -> bytes:
    """Deterministic pickle of a tensor, loadable with plain :func:`pickle.load`."""
    buf = io.BytesIO()
    _Pickler(buf, protocol=4).dump(tensor)
    return buf.getvalue()


def log_mel_examples(y: np.ndarray) -> Any:
    """VGGish examples of ``y`` (16 kHz) as ``torch.Tensor[5, 1, 96, 64]`` (S4's shape).

    Raises:
        MediaError: if ``y`` is shorter than one VGGish example (0.975 s) or not finite.
    """
    import torch

    from avsynth.audio.logmel import vggish_examples

    try:
        ex = torch.from_numpy(vggish_examples(np.asarray(y, dtype=np.float32), SAMPLE_RATE))
    except MediaError as e:
        raise MediaError(f"no VGGish log-mel: {e}") from None
    if ex.ndim != 4 or tuple(ex.shape[1:]) != (1, 96, 64):
        raise ValueError(f"vggish_examples returned shape {tuple(ex.shape)}, want [N, 1, 96, 64]")
    if ex.shape[0] < FRAMES:
        ex = torch.cat([ex, ex[-1:].repeat(FRAMES - ex.shape[0], 1, 1, 1)])
    return ex[:FRAMES].contiguous()


def _splits(path: Path) -> set[str]:
    return {t.split for t in iter_manifest(path)}


def _check_triplets(triplets: list[Triplet]) -> None:
    """Everything that can be checked before writing: names, categories, clip lengths."""
    names: dict[str, str] = {}
    for t in triplets:
        n = safe_name(t.id)
        if n in names:
            raise ManifestError(
                f"triplet ids {names[n]!r} and {t.id!r} both become file name {n!r}; "
                "make the ids distinct"
            )
        names[n] = t.id
        cat = s4_category(t.audio.label)
        try:
            safe_component(cat)
        except UnsafePathError:
            raise ManifestError(
                f"triplet {t.id}: audio.label {t.audio.label!r} gives the S4 category {cat!r}, "
                "which cannot be a folder name"
            ) from None
        if not t.audio.duration >= MIN_SECONDS:
            raise ManifestError(
                f"triplet {t.id}: its clip is {t.audio.duration} s, shorter than one VGGish "
                f"log-mel example ({MIN_SECONDS:.3f} s); rebuild with a longer --clip-seconds"
            )


def _write_frames(t: Triplet, media: ManifestMedia, dest: dict[str, Any]) -> None:
    """The still image of ``t`` as every frame (224x224 bilinear) and its mask for each
    (224x224 nearest, 0/255).

    Raises:
        ManifestError: the mask and the image differ in size.
    """
    from PIL import Image

    img = media.image(t)
    frame = np.asarray(
        Image.fromarray(img).resize((FRAME_SIZE, FRAME_SIZE), Image.Resampling.BILINEAR)
    )
    m = media.mask(t)
    if m.shape != img.shape[:2]:
        raise ManifestError(
            f"triplet {t.id}: mask is {m.shape[1]}x{m.shape[0]}, image is "
            f"{img.shape[1]}x{img.shape[0]}; run `avsynth verify`"
        )
    mask = Image.fromarray(m.astype(np.uint8) * 255).resize(
        (FRAME_SIZE, FRAME_SIZE), Image.Resampling.NEAREST
    )
    frame_png, mask_png = _png(frame), _png(np.asarray(mask))
    for k in range(1, FRAMES + 1):
        atomic_write_bytes(dest["frame"](k), frame_png)
        atomic_write_bytes(dest["mask"](k), mask_png)


def export_avsbench(
    manifest: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    split: str | None = None,
    roots: Roots = None,
    progress: bool = True,
    subset: str = "s4",
) -> ExportReport:
    """Write a manifest's triplets as an AVSBench S4 (or MS3) dataset under ``out``.

    Args:
        manifest: ``manifest.jsonl`` (materialised, or plan-only with its source roots).
        out: Output folder (``out/Single-source/...`` is created).
        split: Export only this split (``train``, ``val`` or ``test``).
        roots: Source roots for a plan-only manifest.
        progress: Show a progress bar.
        subset: ``s4`` (``out/Single-source``) or ``ms3`` (``out/Multi-sources``).

    Returns:
        An :class:`ExportReport`.

    Raises:
        ManifestError: for a missing/malformed manifest (an unsafe path or name included), an
            unknown or empty split, two triplet ids that map to the same file name, a label
            whose S4 category is not a folder name, or a clip shorter than one VGGish example
            (0.975 s); all checked before anything is written.
        OutputError: if ``out`` is a file, lies below one, or cannot be written.
        MediaError: if a media file is missing or does not decode.
    """
    import torch  # noqa: F401  (pickles below hold torch tensors)

    from avsynth.progress import progress as progress_bar

    path = Path(manifest)
    if subset not in LAYOUTS:
        raise ManifestError(f"unknown AVSBench subset {subset!r}; use s4 or ms3")
    if split is not None and split not in SPLITS:
        check_split(split, _splits(path), source=path.name)
    check_out_dir(out)
    triplets = read_manifest(path, split=split)
    if not triplets:
        if split is not None:
            check_split(split, _splits(path), source=path.name)
        raise ManifestError(f"{path}: no triplets")
    _check_triplets(triplets)
    unmixed = next((t for t in triplets if t.audio.path is None), None)
    if unmixed is not None:
        raise ManifestError(
            f"{path}: triplet {unmixed.id} ({unmixed.composition}) has no mix yet: a plan-only "
            "composed manifest gets its mixes when the build materialises; build without "
            "--plan-only, then export"
        )
    folder, meta_csv, data_dir, header = LAYOUTS[subset]
    root = Path(out) / folder
    data = root / data_dir
    media = ManifestMedia(path, roots, lvis_labels(triplets))
    rows = []
    audio_cache: dict[Path, tuple[bytes, bytes]] = {}
    for t in progress_bar(triplets, desc="export-avsbench", unit="triplets", enabled=progress):
        name, cat = safe_name(t.id), s4_category(t.audio.label)
        dest = _paths(subset, data, safe_component(t.split), safe_component(cat), name)
        _write_frames(t, media, dest)
        audio = media.path(t.audio)
        if audio not in audio_cache:
            # The first 5 s (short clips padded with silence), as the build would write them.
            y = media.clip(audio, min(float(t.audio.duration), SECONDS))
            audio_cache.clear()  # keep one clip: reused clips usually come in runs
            try:
                lm = dumps_tensor(log_mel_examples(y))
            except MediaError as e:
                raise MediaError(f"{audio} (triplet {t.id}): {e}") from None
            audio_cache[audio] = (_wav(y), lm)
        wav, lm = audio_cache[audio]
        atomic_write_bytes(dest["wav"], wav)
        atomic_write_bytes(dest["pkl"], lm)
        rows.append((name, 0, cat, t.split))
    rows.sort(key=lambda r: (SPLITS.index(r[3]), r[2], r[0]))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows if subset == "s4" else [(r[0], r[3]) for r in rows])
    atomic_write_text(root / meta_csv, buf.getvalue())
    report = ExportReport(
        root=root,
        counts=dict(Counter(r[3] for r in rows)),
        categories=dict(sorted(Counter(r[2] for r in rows).items())),
    )
    info = {
        "manifest": str(path.resolve()),
        "manifest_sha256": file_sha256(path),
        "split": split,
        "layout": f"AVSBench {subset.upper()} (OpenNLPLab/AVSBench avs_scripts/avs_{subset})",
        "frames": FRAMES,
        "frame_size": FRAME_SIZE,
        "seconds": SECONDS,
        "counts": {s: report.counts.get(s, 0) for s in SPLITS},
        "categories": report.categories,
        "avsynth": __version__,
    }
    atomic_write_text(Path(out) / "export_info.json", json.dumps(info, indent=2) + "\n")
    return report
