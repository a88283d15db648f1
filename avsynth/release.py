"""Import the authors' AVS-Synthetic release (Zenodo record 8125822) as an avsynth manifest.

The release is read as the authors' loader reads it (:mod:`avsynth.sources.avs_synthetic`).
Nothing is copied: the manifest's references have ``root == "release"`` and the release
folder is recorded in the sidecar's ``roots``. Train rows get a default clip drawn from their
class's pool, seeded per instance (independent of row order); the pools are kept in the
sidecar as ``audio_pools: {category: [path relative to the release root, ...]}`` so training
can draw a fresh clip on every access (the paper's recipe). Rows whose image or mask is
missing or does not decode, and val/test rows whose clip is missing or shorter than one
VGGish example (0.975 s), are skipped and counted; such pool clips are dropped from the pool
(a train row whose pool is then empty is skipped). Rows whose mask is empty are kept, as the
authors' loader keeps them, and counted (``drop_empty=True`` skips them instead).

Masks binarise as ``binarize`` says: ``threshold`` (grey >= 128, avsynth's reading) or
``pil`` (PIL's ``convert("1")``, the authors' loaders: it dithers grey levels other than 0
and 255). The choice is recorded in the sidecar (``mask_binarize``), so training and
evaluation read the masks the same way.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avsynth.audio.logmel import MIN_SECONDS
from avsynth.errors import AvsynthError, SourceError
from avsynth.sources.avs_synthetic import ANNOTATIONS, POOLS, read_annotations, read_pools

_YTID = re.compile(r"^(?P<yt>[A-Za-z0-9_-]{11})_(?P<start>\d+)$")


@dataclass
class ReleaseImport:
    """What :func:`import_release` wrote.

    Attributes:
        manifest: The manifest written.
        sidecar: Its ``build_info.json``.
        written: Triplets per split.
        skipped: Rows skipped, by reason (``image missing``, ``mask missing``, ...).
        pool_missing: Pool clips missing from ``audios/``, unreadable, or shorter than 0.975 s.
        examples: A few ``(row, reason, path)`` of skipped rows.
        empty_masks: Rows whose mask is empty, per split (written, or skipped with
            ``drop_empty``).
    """

    manifest: Path
    sidecar: Path
    written: dict[str, int]
    skipped: dict[str, int] = field(default_factory=dict)
    pool_missing: int = 0
    examples: list[tuple[int, str, str]] = field(default_factory=list)
    empty_masks: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """Multi-line summary (counts, skips, where the files are)."""
        w = self.written
        lines = [
            f"imported {sum(w.values())} triplets (train {w['train']}, val {w['val']}, "
            f"test {w['test']})"
        ]
        if self.skipped:
            lines.append(
                "rows skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items()))
            )
            lines += [f"  line {r}: {why}: {p}" for r, why, p in self.examples]
        if any(self.empty_masks.values()):
            e = self.empty_masks
            lines.append(
                "rows with an empty mask: "
                + ", ".join(f"{k} {v}" for k, v in sorted(e.items()) if v)
                + (" (skipped)" if "mask empty" in self.skipped else " (kept)")
            )
        if self.pool_missing:
            lines.append(f"pool clips missing, unreadable or too short: {self.pool_missing}")
        lines.append(f"manifest: {self.manifest}")
        lines.append(f"sidecar:  {self.sidecar}")
        return "\n".join(lines)


def import_release(
    root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    seed: int = 0,
    workers: int = 1,
    progress: bool = True,
    drop_empty: bool = False,
    binarize: str = "threshold",
) -> ReleaseImport:
    """Write ``out/manifest.jsonl`` and ``out/build_info.json`` for an AVS-Synthetic release.

    Args:
        root: The release folder (``annotations.csv``, ``images/``, ``masks/``, ``audios/``,
            ``category_for_vggsound_audios.pkl``).
        out: Output folder (created); the manifest is written atomically.
        seed: Seed of the train rows' default clips.
        workers: Processes that decode masks (for their boxes and areas) and read headers.
        progress: Show a progress bar.
        drop_empty: Skip rows whose mask is empty (kept by default, as the authors do).
        binarize: ``threshold`` (grey >= 128) or ``pil`` (PIL's ``convert("1")``, the
            authors'); recorded in the sidecar as ``mask_binarize``.

    Returns:
        :class:`ReleaseImport`.

    Raises:
        OutputError: ``out`` cannot be a folder we write in.
        SourceError: a metadata file is missing or malformed (names file and line), or the
            pool pickle is refused.
    """
    from avsynth.planning.fingerprint import file_fingerprint
    from avsynth.sources.images import BINARIZE_MODES
    from avsynth.storage.atomic import atomic_write_text
    from avsynth.storage.out_paths import check_out_dir

    if binarize not in BINARIZE_MODES:
        raise ValueError(f"binarize={binarize!r}: use one of {', '.join(BINARIZE_MODES)}")
    out = check_out_dir(out)  # a file, or no permission: one line before any work
    root = Path(root).resolve()
    rows = read_annotations(root / ANNOTATIONS)
    _check_unique_rows(root / ANNOTATIONS, rows)
    pools_raw = read_pools(root / POOLS)
    classes: dict[str, int] = {}
    for line, r in rows:
        if classes.setdefault(r["class"], r["class_id"]) != r["class_id"]:
            raise SourceError(
                f"{root / ANNOTATIONS}:{line}: class {r['class']!r} has id {r['class_id']}, an "
                f"earlier row gave {classes[r['class']]}"
            )
    audios = root / "audios"
    pools: dict[str, list[str]] = {}
    pool_missing = 0
    for name, cid in sorted(classes.items()):
        clips = sorted(set(pools_raw.get(cid, [])))
        present = [c for c in clips if _usable_clip(audios / f"{c}.wav")]
        pool_missing += len(clips) - len(present)
        pools[name] = [f"audios/{c}.wav" for c in present]

    jobs = []
    for line, r in rows:
        audio = f"audios/{r['audio']}.wav" if r["audio"] else None
        if r["split"] == "train":
            pool = pools[r["class"]]
            audio = pool[_pick(seed, r["instance"], len(pool))] if pool else None
        jobs.append((str(root), line, r, audio, binarize))
    manifest = out / "manifest.jsonl"
    written, skipped, examples, empty = _write_manifest(
        manifest, jobs, workers=workers, progress=progress, drop_empty=drop_empty,
        where=root / ANNOTATIONS,
    )  # fmt: skip
    info = {
        "avsynth_version": _version(),
        "schema_version": 1,
        "source": "avs-synthetic-release",
        "plan_only": False,
        "seed": seed,
        "split_sizes": written,
        "roots": {"release": str(root)},
        "inputs": {"release": {n: file_fingerprint(root / n) for n in (ANNOTATIONS, POOLS)}},
        "class_ids": dict(sorted(classes.items())),
        "audio_pools": pools,
        "skipped": dict(sorted(skipped.items())),
        "pool_missing": pool_missing,
        "empty_masks": empty,
        "mask_binarize": binarize,
    }
    import json

    sidecar = out / "build_info.json"
    atomic_write_text(sidecar, json.dumps(info, indent=1, sort_keys=False) + "\n")
    return ReleaseImport(
        manifest, sidecar, written, dict(skipped), pool_missing, examples, empty_masks=empty
    )


def _write_manifest(
    manifest: Path, jobs: list, *, workers: int, progress: bool, drop_empty: bool, where: Path
) -> tuple[dict[str, int], Counter[str], list[tuple[int, str, str]], dict[str, int]]:
    """Decode every row (:func:`_record`) and write the kept ones, in row order.

    Returns:
        ``(written per split, skipped per reason, a few skipped examples, empty masks per
        split)``.

    Raises:
        SourceError: an instance id repeats (names the CSV line).
    """
    from avsynth.manifest import ManifestWriter
    from avsynth.progress import progress as progress_display

    skipped: Counter[str] = Counter()
    examples: list[tuple[int, str, str]] = []
    written = {"train": 0, "val": 0, "test": 0}
    empty = {"train": 0, "val": 0, "test": 0}
    seen: dict[str, int] = {}
    with ManifestWriter(manifest) as w:
        results = _map(_record, jobs, workers)
        for (_, line, r, _, _), (rec, why, path) in progress_display(
            zip(jobs, results, strict=True),
            total=len(jobs),
            desc="import",
            enabled=progress,
            unit="rows",
        ):
            if why == "mask empty":
                empty[r["split"]] += 1
                if drop_empty:
                    rec = None
            if rec is None:
                skipped[why] += 1
                if len(examples) < 5:
                    examples.append((line, why, path))
                continue
            if rec.id in seen:
                raise SourceError(
                    f"{where}:{line}: instance id {rec.id!r} repeats line {seen[rec.id]}"
                )
            seen[rec.id] = line
            w.write(rec)
            written[rec.split] += 1
    return written, skipped, examples, empty


def read_audio_pools(
    manifest: str | os.PathLike[str], *, roots: dict[str, str | os.PathLike[str]] | None = None
) -> dict[str, list[Path]]:
    """The clip pools an imported release keeps for per-access drawing, as absolute paths.

    Args:
        manifest: A manifest written by :func:`import_release`.
        roots: Overrides of the sidecar's roots (``{"release": DIR}`` for a moved release).

    Returns:
        ``{category: [clip path, ...]}``; empty for a manifest without pools (a build).
    """
    from avsynth.manifest import read_sidecar, resolve_media_path

    pools = read_sidecar(manifest).get("audio_pools") or {}
    return {
        cat: [resolve_media_path(manifest, p, "release", roots=roots) for p in paths]
        for cat, paths in pools.items()
    }


def _check_unique_rows(path: Path, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """Every row's instance id is unique (it names the triplet and its mask file).

    Raises:
        SourceError: ``annotations.csv:LINE: instance id 'x' repeats line N``.
    """
    first: dict[str, int] = {}
    for line, r in rows:
        prev = first.setdefault(r["instance"], line)
        if prev != line:
            raise SourceError(f"{path}:{line}: instance id {r['instance']!r} repeats line {prev}")


def _version() -> str:
    import avsynth

    return avsynth.__version__


def _pick(seed: int, key: str, n: int) -> int:
    """Seeded index in ``range(n)`` for ``key`` (independent of row order)."""
    h = hashlib.sha256(f"{seed}\0{key}".encode()).digest()
    return int.from_bytes(h[:8], "big") % n


def _map(fn: Any, jobs: list, workers: int):
    if workers <= 1 or len(jobs) < 64:
        return map(fn, jobs)
    pool = ProcessPoolExecutor(max_workers=workers)
    try:
        return list(pool.map(fn, jobs, chunksize=64))
    finally:
        pool.shutdown()


def _source(name: str) -> str:
    low = name.lower().replace(" ", "").replace("_", "")
    if "lvis" in low or "coco" in low:
        return "lvis"
    if "openimage" in low or low.startswith("oi"):
        return "openimages"
    return low or "unknown"


def _record(job: tuple[str, int, dict[str, Any], str | None, str]):
    """``(Triplet, None, None)`` or ``(None, reason, path)`` for one row; a row with an empty
    mask gives ``(Triplet, "mask empty", path)`` (the caller keeps or drops it)."""

    from avsynth.manifest.schema import AudioRef, ImageRef, MaskRef, Triplet
    from avsynth.sources.images import read_image_size, read_mask

    root_s, _line_no, r, audio, binarize = job
    root = Path(root_s)
    image_rel = f"images/{r['image']}.jpg"
    mask_rel = f"masks/{r['instance']}.png"
    if not (root / image_rel).is_file():
        return None, "image missing", image_rel
    if not (root / mask_rel).is_file():
        return None, "mask missing", mask_rel
    if audio is None:
        return None, "no clip in the class's pool", f"class {r['class_id']}"
    if not (root / audio).is_file():
        return None, "audio missing", audio
    try:
        width, height = read_image_size(root / image_rel)
        m = read_mask(root / mask_rel, binarize)
    except AvsynthError:
        return None, "image or mask does not decode", image_rel
    if m.shape != (height, width):
        return None, "mask size differs from its image", mask_rel
    bbox = normalised_bbox(m)  # (0, 0, 0, 0) for an empty mask
    rate, duration = _audio_info(root / audio)
    if rate is None:
        return None, "audio does not decode", audio
    if duration < MIN_SECONDS:
        return None, f"audio shorter than {MIN_SECONDS} s", audio
    stem = audio.rsplit("/", 1)[-1].removesuffix(".wav")
    mt = _YTID.match(stem)
    source = _source(r["source"])
    t = Triplet(
        id=r["instance"],
        split=r["split"],
        category=r["class"],
        image=ImageRef(
            path=image_rel,
            root="release",
            source=source,
            source_id=r["image"],
            subset="avs-synthetic",
            width=width,
            height=height,
            license="",
        ),
        mask=MaskRef(
            path=mask_rel,
            root="release",
            source=source,
            source_id=r["instance"],
            source_label=r["class"],
            bbox=bbox,
            area_fraction=round(float(m.mean()), 6),
        ),
        audio=AudioRef(
            path=audio,
            root="release",
            source="vggsound",
            youtube_id=mt["yt"] if mt else stem,
            start_seconds=int(mt["start"]) if mt else 0,
            label=r["class"],
            subset="avs-synthetic",
            sample_rate=rate,
            duration=duration,
            license="",
        ),
        extra={"class_id": r["class_id"], "release_source": r["source"]},
    )
    if not m.any():
        return t, "mask empty", mask_rel
    return t, None, None


def normalised_bbox(m: Any) -> tuple[float, float, float, float]:
    """The box ``(x, y, w, h)`` of a boolean ``HxW`` mask, normalised to ``[0, 1]`` of the
    image as built manifests write boxes (6 decimals); ``(0, 0, 0, 0)`` for an empty mask."""
    import numpy as np

    if not m.any():
        return (0.0, 0.0, 0.0, 0.0)
    height, width = m.shape
    ys, xs = np.nonzero(m)
    x0, y0 = float(xs.min()), float(ys.min())
    return (
        round(x0 / width, 6),
        round(y0 / height, 6),
        round((float(xs.max()) + 1 - x0) / width, 6),
        round((float(ys.max()) + 1 - y0) / height, 6),
    )


def _usable_clip(path: Path) -> bool:
    """A pool clip that exists, has a readable header and is long enough for one example."""
    if not path.is_file():
        return False
    rate, duration = _audio_info(path)
    return rate is not None and duration >= MIN_SECONDS


def _audio_info(path: Path) -> tuple[int | None, float]:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError):
        return None, 0.0
    return int(info.samplerate), round(info.frames / info.samplerate, 6)
