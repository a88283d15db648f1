"""Reader for VGGSound (https://www.robots.ox.ac.uk/~vgg/data/vggsound/, CC BY 4.0).

Layout under ``ROOT``::

    vggsound.csv                      # no header: youtube_id,start_seconds,label,split
    <any folders>/{youtube_id}_{start:06d}.mp4   # or .wav / .flac, anywhere below ROOT

Labels containing commas are double-quoted (``"playing violin, fiddle"``); YouTube ids may
start with ``-``. Real downloads miss many clips: rows without a file keep ``path=None`` and
are counted. The folder tree is scanned once (``os.scandir``; ~200 k files is normal); when a
clip exists in several formats ``wav`` > ``flac`` > ``mp4`` is preferred; partial downloads
(``*.part``, ``*.tmp``, empty files) are ignored.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from avsynth.errors import SourceError
from avsynth.sources.guards import is_build_output
from avsynth.sources.records import SourceClip

__all__ = [
    "CLIP_EXTENSIONS",
    "VggsoundIndex",
    "read_vggsound",
    "scan_clips",
    "vggsound_csv_path",
    "vggsound_label_counts",
]

CLIP_EXTENSIONS = ("wav", "flac", "mp4")  # in order of preference
VGGSOUND_SPLITS = ("train", "test")
_CLIP_RE = re.compile(r"^(.+_\d{6})\.(wav|flac|mp4)$")


@dataclass(frozen=True)
class VggsoundIndex:
    """What :func:`read_vggsound` found.

    Attributes:
        root: The VGGSound root folder.
        clips: Selected rows sorted by ``(youtube_id, start_seconds, label, subset)``, each
            with ``path`` (relative to ``root``) or ``None`` when no file exists.
        rows_total: Data rows in ``vggsound.csv`` (all labels).
        rows_without_file: Selected rows with no clip file.
        files_found: Clip files found below ``root`` (distinct clip ids, any label).
        labels: All distinct labels of the CSV, sorted.
        unknown_labels: Requested labels that no CSV row has, sorted.
    """

    root: Path
    clips: list[SourceClip]
    rows_total: int
    rows_without_file: int
    files_found: int
    labels: tuple[str, ...] = ()
    unknown_labels: tuple[str, ...] = field(default=())

    @property
    def clips_with_file(self) -> list[SourceClip]:
        """Selected clips that have a file."""
        return [c for c in self.clips if c.path is not None]


def scan_clips(root: str | os.PathLike) -> dict[str, str]:
    """Map clip id ``{youtube_id}_{start:06d}`` -> POSIX path relative to ``root``.

    Walks ``root`` recursively once (following folder symlinks, each real folder once),
    skipping folders that carry the build marker (an earlier build's output). Among
    several files of one clip, the preferred extension wins (wav > flac > mp4), then the
    lexicographically smallest path. Empty files and partial downloads are skipped.
    """
    root = Path(root)
    rank = {e: i for i, e in enumerate(CLIP_EXTENSIONS)}
    best: dict[str, tuple[int, str]] = {}
    seen: set[str] = set()
    stack = [(str(root), "")]
    while stack:
        folder, rel = stack.pop()
        real = os.path.realpath(folder)
        if real in seen:
            continue
        seen.add(real)
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            name = e.name
            if name.startswith("."):
                continue
            if e.is_dir():
                if not is_build_output(e.path):  # an earlier build's cuts are no source clips
                    stack.append((e.path, f"{rel}{name}/"))
                continue
            m = _CLIP_RE.match(name)
            if m is None or not e.is_file():
                continue
            key = (rank[m.group(2)], f"{rel}{name}")
            cid = m.group(1)
            if cid in best and best[cid] <= key:
                continue
            try:
                if e.stat().st_size == 0:
                    continue
            except OSError:
                continue
            best[cid] = key
    return {cid: path for cid, (_, path) in best.items()}


def _csv_path(root: Path) -> tuple[Path, Path]:
    if root.is_file():
        return root.parent, root
    if not root.is_dir():
        raise SourceError(f"VGGSound root {root} is not a folder (expected vggsound.csv in it)")
    path = root / "vggsound.csv"
    if path.exists() and not path.is_file():
        raise SourceError(f"{path} is not a file (a folder?); put the vggsound.csv file there")
    if not path.is_file():
        raise SourceError(f"no vggsound.csv in {root}: download it from the VGGSound site")
    return root, path


def vggsound_csv_path(root: str | os.PathLike) -> Path:
    """Path of the ``vggsound.csv`` that :func:`read_vggsound` reads for ``root``.

    Raises:
        SourceError: ``root`` is neither the CSV nor a folder holding it.
    """
    return _csv_path(Path(root))[1]


def _short(row: list[str]) -> str:
    text = ",".join(row)
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _parse(path: Path) -> list[tuple[str, int, str, str, int]]:
    rows = []
    lineno = end = 0  # first and last line of the current row (quoted fields span lines)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            for row in reader:
                lineno, end = end + 1, reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if end != lineno or any("\n" in c or "\r" in c for c in row):
                    raise SourceError(
                        f"{path}:{lineno}: unclosed double quote (the row runs on to line "
                        f"{end}); close the quote or remove the stray one"
                    )
                if len(row) != 4:
                    raise SourceError(
                        f"{path}:{lineno}: expected 4 columns "
                        f"youtube_id,start_seconds,label,split, got {len(row)}: {_short(row)} "
                        "(quote labels that contain commas)"
                    )
                ytid, start, label, split = (c.strip() for c in row)
                try:
                    start_s = int(start)
                except ValueError:
                    raise SourceError(
                        f"{path}:{lineno}: start_seconds {start[:40]!r} is not an integer"
                    ) from None
                if split not in VGGSOUND_SPLITS or not ytid or not label or start_s < 0:
                    raise SourceError(
                        f"{path}:{lineno}: bad row {_short(row)} (need a youtube id, start >= 0, "
                        f"a label and split train|test)"
                    )
                rows.append((ytid, start_s, label, split, lineno))
    except UnicodeDecodeError as e:
        raise SourceError(f"{path}: not UTF-8 text: {e}") from None
    except csv.Error as e:  # e.g. "field larger than field limit": an unclosed quote
        raise SourceError(
            f"{path}:{end + 1}: malformed CSV ({e}); is a double quote left unclosed?"
        ) from None
    if not rows:
        raise SourceError(
            f"{path}: no rows (empty file); expected youtube_id,start_seconds,label,split lines"
        )
    return rows


def _check_row(
    path: Path, line: int, cid: str, label: str, split: str, first: tuple[int, str, str]
) -> None:
    """A selected row's label is one path component and its clip id is not used by another
    selected row with another label or split (one file for two labels, or a clip in train
    and test).

    Raises:
        SourceError: naming ``vggsound.csv:LINE`` and the label or clip id.
    """
    from avsynth.paths import UnsafePathError, safe_component

    try:
        safe_component(label, what=f"{path}:{line}: label")
    except UnsafePathError as e:
        raise SourceError(str(e)) from None
    if first[0] != line and (first[1], first[2]) != (label, split):
        raise SourceError(
            f"{path}:{line}: clip id {cid!r} ({label}, {split}) repeats line {first[0]} "
            f"({first[1]}, {first[2]}): a clip id must be unique"
        )


def read_vggsound(
    root: str | os.PathLike, *, labels: Collection[str] | None = None
) -> VggsoundIndex:
    """Read ``root/vggsound.csv`` and find the clip files below ``root``.

    Args:
        root: VGGSound root folder (``vggsound.csv`` inside it; the path of the CSV itself is
            accepted too, its folder then being the root).
        labels: Exact VGGSound labels to select; ``None`` selects every row.

    Returns:
        A :class:`VggsoundIndex`; ``index.rows_without_file`` counts selected rows with no file.

    Raises:
        SourceError: Missing CSV or a bad row (wrong column count, non-integer start, unknown
            split); the message names ``vggsound.csv:LINE``.
    """
    root, path = _csv_path(Path(root))
    rows = _parse(path)
    all_labels = tuple(sorted({r[2] for r in rows}))
    wanted = None if labels is None else set(labels)
    unknown = () if wanted is None else tuple(sorted(wanted - set(all_labels)))
    files = scan_clips(root)
    selected: dict[tuple[str, int, str, str], SourceClip] = {}
    first: dict[str, tuple[int, str, str]] = {}  # clip id -> (line, label, split) first seen
    for ytid, start, label, split, lineno in rows:
        if wanted is not None and label not in wanted:
            continue
        key = (ytid, start, label, split)
        if key in selected:
            continue  # exact duplicate row: keep the first
        cid = f"{ytid}_{start:06d}"
        _check_row(path, lineno, cid, label, split, first.setdefault(cid, (lineno, label, split)))
        selected[key] = SourceClip(ytid, start, label, split, files.get(cid), lineno)
    clips = [selected[k] for k in sorted(selected)]
    return VggsoundIndex(
        root=root,
        clips=clips,
        rows_total=len(rows),
        rows_without_file=sum(c.path is None for c in clips),
        files_found=len(files),
        labels=all_labels,
        unknown_labels=unknown,
    )


def vggsound_label_counts(path: str | os.PathLike) -> dict[str, int]:
    """Label -> number of rows of a ``vggsound.csv``, read by the parser the build uses.

    Raises:
        SourceError: A bad row (the message names ``vggsound.csv:LINE``).
    """
    counts: dict[str, int] = {}
    for _, _, label, _, _ in _parse(Path(path)):
        counts[label] = counts.get(label, 0) + 1
    return counts
