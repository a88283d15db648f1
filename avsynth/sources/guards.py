"""Checks that keep a build's sources and its output apart, and read only regular files.

* :func:`check_out_outside_sources`: an ``--out`` inside (or equal to) a source root is
  refused, so a build never writes where a later build would read it as source data (VGGSound
  clips are found anywhere below the root, and a build's ``audio/`` holds WAVs named as
  VGGSound clips).
* :func:`is_build_output`: a folder carrying the build marker (``.avsynth-build``) or an
  avsynth ``build_info.json`` is an earlier build's output; source scans skip it.
* :func:`check_unique`: every id space of a source (LVIS image, annotation and category ids
  and category names; Open Images ids; VGGSound clips; release rows) holds each id once.
* :func:`regular_file`: source media are read only from regular files; a FIFO, a device or a
  socket would block or stream forever, so it is one line naming the file instead.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Hashable, Iterable
from pathlib import Path

from avsynth.errors import MediaError, OutputError, SourceError


def _root_folder(root: str | os.PathLike[str]) -> Path:
    """The folder of a source root given as a folder or as its metadata file."""
    p = Path(root).expanduser().resolve()
    return p.parent if p.is_file() else p


def check_build_inputs(
    out: str | os.PathLike[str], clip_seconds: float, **roots: str | os.PathLike[str] | None
) -> None:
    """The build's checks that keep it from writing what its own readers refuse or read:
    ``--out`` outside every source root (:func:`check_out_outside_sources`) and
    ``clip_seconds`` no longer than a manifest record may say
    (:data:`avsynth.constants.MAX_SECONDS`).

    Raises:
        OutputError: ``--out`` inside a source root. PlanError: ``clip_seconds`` too long.
    """
    from avsynth.constants import MAX_SECONDS
    from avsynth.errors import PlanError

    if isinstance(clip_seconds, int | float) and clip_seconds > MAX_SECONDS:
        raise PlanError(
            f"--clip-seconds {clip_seconds}: must be <= {MAX_SECONDS:g} (the longest clip a "
            "manifest record may hold)"
        )
    check_out_outside_sources(out, **roots)


def check_out_outside_sources(
    out: str | os.PathLike[str], **roots: str | os.PathLike[str] | None
) -> None:
    """Refuse an output folder inside (or equal to) any source root.

    Args:
        out: The build's ``--out``.
        **roots: Source roots by name (``vggsound=...``, ``lvis=...``); ``None`` is skipped.

    Raises:
        OutputError: ``--out DIR lies inside the vggsound root ROOT: ...`` (nothing is read or
            written before).
    """
    o = Path(out).expanduser().resolve()
    for name, root in roots.items():
        if root is None:
            continue
        r = _root_folder(root)
        if o == r or r in o.parents:
            raise OutputError(
                f"--out {out} lies inside the {name} root {r}: a later build would read this "
                "build's files as source data; write the build outside every source root"
            )


def is_build_output(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` is an avsynth build's output (carries the build marker, or an
    avsynth ``build_info.json``): source scans never read it."""
    from avsynth.paths import is_build_folder

    return is_build_folder(Path(folder))


def regular_file(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` if it is a regular file (symbolic links followed).

    Args:
        path: The file about to be read.
        what: What it is, for the message (``image``, ``mask``, ``clip``).

    Raises:
        MediaError: ``PATH: image not found`` or ``PATH: image is not a regular file (a FIFO,
            socket or device); only regular files are read``.
    """
    p = Path(path)
    if not p.exists():
        raise MediaError(f"{p}: {what} not found")
    return refuse_special(p, what)


def refuse_special(path: str | os.PathLike[str], what: str) -> Path:
    """``path``, unless it exists and is not a regular file (a FIFO, socket, device or
    folder): reading one would block, stream forever or fail obscurely. A missing file is
    left to the caller's own message.

    Raises:
        MediaError: ``PATH: image is not a regular file (a FIFO, socket or device); only
            regular files are read``.
    """
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        return p
    except OSError as e:
        raise MediaError(f"{p}: cannot read {what} ({e.strerror})") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO, socket or device"
        raise MediaError(f"{p}: {what} is not a regular file ({kind}); only regular files are read")
    return p


def check_unique(values: Iterable[Hashable], what: str, where: str) -> None:
    """Refuse a repeated id or name in one id space of a source file.

    Args:
        values: The ids (or names) in file order.
        what: What they are, for the message (``image id``, ``category name``).
        where: The file (and entry) they come from.

    Raises:
        SourceError: ``lvis_v1_train.json: image id 7 appears twice (ids must be unique: a
            repeated one would join one entry's annotations to another's picture)``.
    """
    items = values if isinstance(values, list) else list(values)
    if len(set(items)) == len(items):  # the usual case, at C speed
        return
    seen: set[Hashable] = set()
    for v in items:
        if v in seen:
            raise SourceError(
                f"{where}: {what} {v!r} appears more than once ({what}s must be unique: "
                "a repeated one would mix up two entries)"
            )
        seen.add(v)
