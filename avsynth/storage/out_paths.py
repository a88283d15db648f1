"""Checking output paths before any work is done, so a bad ``--out`` is one clear line.

Every command that writes (``avsynth build``, ``stats``, ``export-avsbench``; ``avsmodel
train``, ``predict``) checks its output path first: a folder must not be an existing file or
lie below one, and its nearest existing folder must be writable; an output file must not be
a folder and must have an extension its format can be written under. Nothing is created by
the checks. :func:`os_error_message` words the ``OSError`` of a write that fails later anyway
(a folder made read-only meanwhile, a full disk) the same way for the command lines.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path

from avsynth.errors import OutputError

#: ``errno`` values the command lines report as one line (the environment, not a bug).
USER_ERRNOS = frozenset(
    getattr(errno, n)
    for n in (
        "EEXIST",
        "ENOTDIR",
        "EISDIR",
        "EACCES",
        "EPERM",
        "EROFS",
        "ENOSPC",
        "EDQUOT",
        "ENAMETOOLONG",
        "ELOOP",
    )  # fmt: skip
    if hasattr(errno, n)
)


def _first_existing(p: Path) -> Path:
    """``p`` or its nearest ancestor that exists (``lexists``: a dangling link counts)."""
    probe = p
    while not os.path.lexists(probe) and probe.parent != probe:
        probe = probe.parent
    return probe


def _folder_problem(p: Path) -> str | None:
    """Why ``p`` cannot be (or be created as) a folder we write in; ``None`` if it can."""
    probe = _first_existing(p)
    if not probe.is_dir():
        if probe.is_symlink() and not probe.exists():
            return f"{probe} is a broken symbolic link"
        if probe == p:
            return "is a file, not a folder"
        return f"{probe} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"no permission to write in {probe}"
    return None


def check_out_dir(path: str | os.PathLike[str], *, option: str = "--out") -> Path:
    """Check that ``path`` is a writable folder or can be created as one; create nothing.

    Args:
        path: The output folder.
        option: How the message names it (the command-line option).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OutputError: e.g. ``--out runs/x: is a file, not a folder``, ``--out a.txt/run:
            a.txt is a file, not a folder``, ``--out ro/run: no permission to write in ro``.
    """
    p = Path(path)
    problem = _folder_problem(p)
    if problem:
        raise OutputError(f"{option} {p}: {problem}")
    return p


def image_suffixes() -> frozenset[str]:
    """File extensions PIL can write an image under (``.png``, ``.jpg``, ``.webp``, ...)."""
    from PIL import Image

    return frozenset(ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.SAVE)


def check_out_file(
    path: str | os.PathLike[str],
    *,
    option: str = "--out",
    suffixes: Iterable[str] | None = None,
) -> Path:
    """Check that a file can be written at ``path`` (its folder is checked as in
    :func:`check_out_dir`); create nothing.

    Args:
        path: The output file.
        option: How the message names it.
        suffixes: Extensions allowed (lower case, with the dot), e.g. ``{".png"}``.

    Raises:
        OutputError: if ``path`` is a folder, has another extension, or its folder cannot be
            written.
    """
    p = Path(path)
    allowed = sorted(suffixes) if suffixes is not None else None
    if p.is_dir():
        example = p / ("out" + (allowed[0] if allowed else ""))
        raise OutputError(f"{option} {p}: is a folder; give a file name, e.g. {example}")
    if allowed is not None and p.suffix.lower() not in allowed:
        shown = " or ".join(s for s in (".png", ".jpg") if s in allowed) or ", ".join(allowed)
        got = f"extension {p.suffix!r}" if p.suffix else "no extension"
        raise OutputError(f"{option} {p}: {got}; use a {shown} name")
    problem = _folder_problem(p.parent)
    if problem:
        if problem == "is a file, not a folder":
            problem = f"{p.parent} is a file, not a folder"
        raise OutputError(f"{option} {p}: {problem}")
    return p


def os_error_message(e: OSError) -> str:
    """One line for an ``OSError`` of writing or reading a file, naming the file."""
    name = e.filename
    if name is None:
        return e.strerror or str(e)
    p = Path(os.fsdecode(name))
    if e.errno in (errno.EEXIST, errno.ENOTDIR):
        problem = _folder_problem(p)
        if problem and "not a folder" in problem:
            return f"{p}: {problem}"
    if e.errno in (errno.EACCES, errno.EPERM):
        return f"{p}: no permission ({e.strerror})"
    text = f"{p}: {e.strerror or e}"
    if e.filename2 is not None:
        text += f" (-> {os.fsdecode(e.filename2)})"
    return text
