"""Check that every file a manifest references exists, decodes and matches its record.

Checks per triplet (each file is checked once however many triplets share it):

* every record is usable: its fields have their types and ranges (the typed decoding of
  :func:`avsynth.manifest.iter_numbered`), media paths stay inside their root (symlinks
  resolved), and the strings tools turn into file names (id, category, label, ...) are
  single path components (:func:`avsynth.manifest.safe_component`); an unusable record is
  one problem line and is not checked further;
* ids are unique;
* the image decodes and has the recorded width/height;
* the mask decodes, is binary (one non-zero value), non-empty and at the image's size
  (plan-only masks are decoded from the source annotations);
* the audio decodes; a materialised clip is 16 kHz mono 16-bit PCM of exactly the recorded
  ``duration`` (to one sample); a source clip (plan-only) holds some audio (the build pads
  short clips with silence);
* for a plan-only manifest, the source metadata files the build read still have the
  fingerprints recorded in ``build_info.json`` (``inputs``: size and BLAKE2b per file), so
  the annotation ids in the manifest still mean what they meant;
* composed (schema 2) records: each instance mask and component clip as above, the target
  equals the OR of the instances (empty for ``offscreen``), the mix equals its components
  mixed with their gains (:func:`check_composed`).

Problems come back as one line each, ``<file>: <what is wrong> [triplet <id>, <manifest>:<line>]``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avsynth.constants import MASK_THRESHOLD, SAMPLE_RATE
from avsynth.errors import AvsynthError, ManifestError
from avsynth.manifest import iter_manifest, iter_numbered, read_sidecar
from avsynth.manifest.io import SIDECAR
from avsynth.manifest.media import ManifestMedia, Roots, lvis_labels, mask_values, media_path
from avsynth.manifest.schema import FILE_MASK_ROOTS, Triplet, UnsafePathError, safe_relpath

_SAMPLE_TOLERANCE = 1  # samples of slack on the declared clip length


def _count_lines(path: Path) -> int | None:
    if path.name.endswith(".gz") or not path.is_file():
        return None
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


class _Verifier:
    def __init__(self, manifest: Path, roots: Roots, labels: set[str]) -> None:
        self.manifest = manifest
        self.roots = roots
        self.inputs = dict(read_sidecar(manifest).get("inputs") or {})
        self.sources_used: set[str] = set()
        self.media = ManifestMedia(manifest, roots, labels)
        self.problems: list[str] = []
        self.images: dict[Path, tuple[int, int] | None] = {}
        self.audio: dict[Path, bool] = {}
        self.seen_masks: set[tuple] = set()
        self.ids: dict[str, int] = {}
        self.counts = {"triplets": 0, "images": 0, "masks": 0, "audio": 0}

    def unusable(self, line: int, record: dict[str, Any], e: ManifestError) -> None:
        """A record the schema refuses (unsafe path or name, wrong type, missing field, number
        out of range): one line naming it."""
        detail = str(e).removeprefix(f"{self.manifest}:{line}: ")
        self.problems.append(
            f"{self.manifest.name}:{line}: unusable record ({detail}) [triplet {record.get('id')}]"
        )

    def report(self, what: Any, msg: str, t: Triplet, line: int) -> None:
        self.problems.append(f"{what}: {msg} [triplet {t.id}, {self.manifest.name}:{line}]")

    def _path(self, kind: str, ref: Any, t: Triplet, line: int) -> Path | None:
        try:
            return media_path(self.manifest, ref, self.roots)
        except AvsynthError as e:  # e.g. "'../x.png' escapes its root /data/out"
            self.problems.append(f"{kind} {e} [triplet {t.id}, {self.manifest.name}:{line}]")
            return None

    def image(self, t: Triplet, line: int) -> tuple[int, int] | None:
        """Check the image once; return its (height, width) or None if bad."""
        path = self._path("image", t.image, t, line)
        if path is None:
            return None
        if path in self.images:
            return self.images[path]
        from PIL import Image

        self.counts["images"] += 1
        size = None
        if not path.is_file():
            self.report(path, "image file missing", t, line)
        else:
            try:
                with Image.open(path) as im:
                    im.load()
                    w, h = im.size
                size = (h, w)
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
                self.report(path, f"image does not decode ({e})", t, line)
            if size and t.image.width is not None and (w, h) != (t.image.width, t.image.height):
                self.report(
                    path,
                    f"image is {w}x{h}, the manifest says {t.image.width}x{t.image.height}",
                    t,
                    line,
                )
        self.images[path] = size
        return size

    def mask(self, t: Triplet, line: int, size: tuple[int, int] | None) -> None:
        """Check the mask once; ``size`` is its image's (height, width) as decoded."""
        ref = t.mask
        if t.image.width is not None and t.image.height is not None:
            size = (t.image.height, t.image.width)  # a wrong image size is the image's problem
        key = (ref.root, ref.path, ref.source_id)
        if key in self.seen_masks:
            return
        self.seen_masks.add(key)
        self.counts["masks"] += 1
        if ref.root in FILE_MASK_ROOTS:
            path = self._path("mask", ref, t, line)
            if path is None:
                return
            if not path.is_file():
                self.report(path, "mask file missing", t, line)
                return
            try:
                arr = mask_values(path)
            except AvsynthError as e:
                self.report(path, str(e).removeprefix(f"{path}: "), t, line)
                return
            values = np.unique(arr)
            if arr.dtype != bool and (len(values) > 2 or (len(values) == 2 and values[0] != 0)):
                shown = ", ".join(str(v) for v in values[:6])
                self.report(path, f"mask is not binary (values {shown})", t, line)
                return
            if arr.dtype != bool:  # what every reader sees (avsynth.manifest.media.read_mask)
                arr = arr >= MASK_THRESHOLD
            where = path
        else:
            where = f"{ref.source} mask {ref.source_id}"
            if size is None:  # drawn at its image's size: the image's line says what is wrong
                return
            try:
                arr = self.media.mask(t)
            except (AvsynthError, OSError, ValueError) as e:
                self.report(where, f"mask does not decode ({e})", t, line)
                return
        # Empty by design: offscreen records, and rows recorded empty (area 0: an imported
        # release keeps the authors' empty-mask rows).
        if not arr.any() and t.composition != "offscreen" and t.mask.area_fraction > 0:
            self.report(where, "mask is empty", t, line)
        if size is not None and arr.shape != size:
            self.report(
                where,
                f"mask is {arr.shape[1]}x{arr.shape[0]}, its image is {size[1]}x{size[0]}",
                t,
                line,
            )

    def audio_file(self, t: Triplet, line: int) -> None:
        ref = t.audio
        path = self._path("audio", ref, t, line)
        if path is None or path in self.audio:
            return
        self.counts["audio"] += 1
        self.audio[path] = True
        if not path.is_file():
            self.report(path, "audio file missing", t, line)
            return
        want = int(round(ref.duration * SAMPLE_RATE))
        if ref.root == "manifest":
            import soundfile as sf

            try:
                with sf.SoundFile(str(path)) as f:
                    rate, subtype = f.samplerate, f.subtype
                    data = f.read(dtype="int16", always_2d=True)
            except (RuntimeError, sf.LibsndfileError) as e:
                self.report(path, f"audio does not decode ({e})", t, line)
                return
            bad = []
            if rate != SAMPLE_RATE:
                bad.append(f"sample rate {rate} Hz (want {SAMPLE_RATE})")
            if data.shape[1] != 1:
                bad.append(f"{data.shape[1]} channels (want mono)")
            if subtype != "PCM_16":
                bad.append(f"subtype {subtype} (want PCM_16)")
            if rate == SAMPLE_RATE and abs(data.shape[0] - want) > _SAMPLE_TOLERANCE:
                bad.append(f"{data.shape[0] / rate:.4f} s long, the manifest says {ref.duration} s")
            if bad:
                self.report(path, "audio is " + ", ".join(bad), t, line)
            return
        from avsynth.audio.decode import decode_audio

        try:
            y = decode_audio(path, sample_rate=SAMPLE_RATE)
        except (AvsynthError, OSError, RuntimeError, ValueError) as e:
            self.report(path, f"audio does not decode ({e})", t, line)
            return
        if y.size == 0:
            self.report(path, "audio decodes to no samples", t, line)

    def fingerprints(self) -> None:
        """Compare the recorded source metadata fingerprints (plan-only sources only)."""
        from avsynth.manifest import resolve_media_path
        from avsynth.planning.fingerprint import file_fingerprint

        for source in sorted(self.sources_used):
            try:
                root = resolve_media_path(self.manifest, ".", source, roots=self.roots)
            except AvsynthError as e:
                self.problems.append(f"{source} root: {e}")
                continue
            for name, want in sorted((self.inputs.get(source) or {}).items()):
                try:  # a name from the sidecar: never a file outside the source root
                    safe_relpath(name, what=f"{SIDECAR} inputs.{source}: file name")
                except UnsafePathError as e:
                    self.problems.append(f"{self.manifest.parent / SIDECAR}: {e}")
                    continue
                path = root / name
                if not path.is_file():
                    self.problems.append(f"{path}: source metadata file the build read is missing")
                    continue
                got = file_fingerprint(path)
                if got.get("blake2b") != want.get("blake2b"):
                    self.problems.append(
                        f"{path}: source metadata changed since the build ({got['bytes']} bytes, "
                        f"BLAKE2b {got['blake2b'][:12]}..., recorded {want.get('bytes')} bytes, "
                        f"{str(want.get('blake2b'))[:12]}...); rebuild the plan"
                    )

    def triplet(self, t: Triplet, line: int) -> None:
        self.counts["triplets"] += 1
        self.sources_used.update(r.root for r in (t.image, t.mask, t.audio) if r.root != "manifest")
        if t.id in self.ids:
            self.problems.append(
                f"{self.manifest.name}:{line}: duplicate triplet id {t.id!r} "
                f"(first on line {self.ids[t.id]})"
            )
        else:
            self.ids[t.id] = line
        size = self.image(t, line)
        if t.mask.root == "manifest" or t.composition not in ("multi", "offscreen"):
            self.mask(t, line, size)  # a plan-only union: its instances are checked below
        if t.audio.path is not None:  # null: a plan-only mix, made when materialising
            self.audio_file(t, line)
        if t.schema_version >= 2:
            check_composed(self, t, line)


@dataclass
class VerifyReport:
    """What :func:`verify_report` checked and found.

    Attributes:
        problems: One line per problem (empty = valid).
        counts: Triplets, distinct images, masks and distinct audio files checked.
    """

    problems: list[str]
    counts: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        """Counts and problems as plain JSON types (``avsynth verify --json``)."""
        return {"ok": not self.problems, "counts": dict(self.counts), "problems": self.problems}

    def summary(self) -> str:
        """One line: what was checked and how many problems were found."""
        c = self.counts
        return (
            f"checked {c['triplets']} triplets ({c['images']} images, {c['masks']} masks, "
            f"{c['audio']} audio files): "
            + (f"{len(self.problems)} problem(s)" if self.problems else "all good")
        )


def _ignore(line: int, record: dict[str, Any], e: ManifestError) -> None:
    return None


def verify_report(
    manifest: str | os.PathLike[str], *, roots: Roots = None, progress: bool = True
) -> VerifyReport:
    """Like :func:`verify`, also returning what was checked (for the CLI's summary line)."""
    from avsynth.progress import progress as progress_bar

    path = Path(manifest)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found")
    # Labels of plan-only LVIS masks, so the LVIS annotations are read in one pass.
    v = _Verifier(path, roots, lvis_labels(iter_manifest(path, on_unsafe=_ignore)))

    def unusable(lineno: int, record: dict[str, Any], e: ManifestError) -> None:
        v.unusable(lineno, record, e)

    total = _count_lines(path)
    records = progress_bar(
        iter_numbered(path, on_unsafe=unusable),
        total=total,
        desc="verify",
        unit="triplets",
        enabled=progress,
    )
    for line, t in records:  # line numbers count every line of the file, blank ones too
        v.triplet(t, line)
    v.fingerprints()
    return VerifyReport(problems=v.problems, counts=dict(v.counts))


def verify(
    manifest: str | os.PathLike[str], *, roots: Roots = None, progress: bool = True
) -> list[str]:
    """Check every file a manifest references; return the problems found (empty = valid).

    Args:
        manifest: ``manifest.jsonl`` (or ``.jsonl.gz``).
        roots: Source roots for a plan-only manifest, e.g. ``{"lvis": "/data/lvis"}``;
            default: the roots recorded in the sidecar ``build_info.json``.
        progress: Show a progress bar.

    Returns:
        One line per problem, naming the file, what is wrong and the triplet/line.

    Raises:
        ManifestError: if the manifest is missing, empty, unreadable, not JSONL or of an
            unknown schema version (the manifest itself is unusable). A record with an unsafe
            path or name, or one its types refuse, is a problem line
            (``manifest.jsonl:LINE: unusable record (...) [triplet ID]``).
    """
    return verify_report(manifest, roots=roots, progress=progress).problems


# ----------------------------------------------------------------- composed (schema 2) records


_SHAPE = {"single": (1, 1), "offscreen": (0, 1), "partial": (1, 2)}  # (instances, components)


def check_composed(v: Any, t: Any, line: int) -> None:
    """Add the problems of composed record ``t`` (manifest line ``line``) to verifier ``v``."""
    n_inst, n_comp = len(t.instances), len(t.components)
    want = _SHAPE.get(t.composition)
    visible = sum(c.visible for c in t.components)
    if (
        (want and (n_inst, n_comp) != want)
        or (t.composition == "multi" and not (2 <= n_inst == n_comp <= 3))
        or visible != n_inst
    ):
        v.report(
            v.manifest.name + f":{line}",
            f"{t.composition} record lists {n_inst} instance(s), {n_comp} component(s), "
            f"{visible} visible",
            t,
            line,
        )
        return
    size = v.image(t, line)  # cached: (height, width) as decoded
    for m in t.instances:
        if (m.root, m.path, m.source_id) != (t.mask.root, t.mask.path, t.mask.source_id):
            v.mask(dataclasses.replace(t, mask=m, composition="single"), line, size)
    for c in t.components:
        if c.audio.path != t.audio.path:
            v.audio_file(dataclasses.replace(t, audio=c.audio), line)
    if t.mask.root == "manifest" and t.composition in ("multi", "offscreen"):
        _union(v, t, line)
    if t.audio.root == "manifest" and t.composition in ("multi", "partial"):
        _mix(v, t, line)


def _union(v: Any, t: Any, line: int) -> None:
    from avsynth.manifest.media import read_mask

    try:
        path = v._path("mask", t.mask, t, line)
        if path is None or not path.is_file():
            return
        got = read_mask(path)
        want = np.zeros_like(got)
        for m in t.instances:
            p = v._path("mask", m, t, line)
            if p is None or not p.is_file():
                return
            a = read_mask(p)
            if a.shape != want.shape:
                return  # the instance's own check names the size problem
            want |= a
    except AvsynthError:
        return  # undecodable masks are reported by the per-mask checks
    diff = int(np.count_nonzero(got != want))
    if diff:
        v.report(path, f"union mask differs from the OR of its {len(t.instances)} instance "
                 f"mask(s) in {diff} pixel(s)", t, line)  # fmt: skip


def _mix(v: Any, t: Any, line: int) -> None:
    import soundfile as sf

    from avsynth.materialise.mix import mix

    path = v._path("audio", t.audio, t, line)
    if path is None or not path.is_file():
        return
    try:
        got, _ = sf.read(str(path), dtype="float64")
        xs = []
        for c in t.components:
            p = v._path("audio", c.audio, t, line)
            if p is None or not p.is_file():
                return
            xs.append(sf.read(str(p), dtype="float64")[0])
        if any(x.shape != got.shape for x in xs):
            v.report(path, "mix and its component clips differ in length", t, line)
            return
    except (RuntimeError, sf.LibsndfileError):
        return  # the per-file checks name undecodable audio
    ref = mix(xs, [c.gain_db for c in t.components])
    err = float(np.max(np.abs(ref - got))) if got.size else 0.0
    if err > 2.0 / 32768:
        v.report(path, f"mix differs from its components and gains (max difference {err:.4f})",
                 t, line)  # fmt: skip
