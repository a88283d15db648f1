"""Reading and writing manifests: JSONL (``.jsonl`` or ``.jsonl.gz``), streamed.

Writers are atomic: records go to a unique ``<name>.<random>.tmp`` which is renamed into place
by ``close()`` only after every record was written, so a failed build never leaves a manifest
that looks complete. The sidecar ``build_info.json`` next to the manifest records provenance and the
source roots of a plan-only build.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import msgspec

from avsynth.errors import ManifestError, ManifestRecordError
from avsynth.manifest.decode import loads_or_none, record_error, syntax_error
from avsynth.manifest.encode import encode_record
from avsynth.manifest.schema import (
    CHOICES,
    Triplet,
    UnsafePathError,
    check_record,
    check_version,
)

SIDECAR = "build_info.json"
#: Roots a command line takes as options (``--lvis``, ``--openimages``, ``--vggsound``).
SOURCE_ROOTS = ("lvis", "openimages", "vggsound")


def _open_text(path: Path, mode: str, *, gz: bool | None = None) -> IO[str]:
    """``path`` as text; gzip when ``gz`` (default: when the name ends in ``.gz``)."""
    if path.name.endswith(".gz") if gz is None else gz:
        # mtime=0 keeps gzip output byte-identical across runs.
        raw = open(path, mode.replace("t", "") + "b")  # noqa: SIM115
        gz = gzip.GzipFile(fileobj=raw, mode=mode[0] + "b", mtime=0, filename="")
        return _GzText(gz, raw)
    return open(path, mode, encoding="utf-8", newline="\n")  # noqa: SIM115


def _open_bytes(path: Path) -> IO[bytes]:
    """``path`` for reading lines as bytes (gunzipped when the name ends in ``.gz``)."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # noqa: SIM115


class _GzText:
    """Text wrapper that closes both the gzip stream and the underlying file."""

    def __init__(self, gz: gzip.GzipFile, raw: IO[bytes]) -> None:
        import io

        self._gz, self._raw = gz, raw
        self._t = io.TextIOWrapper(gz, encoding="utf-8", newline="\n")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._t, name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._t)

    def close(self) -> None:
        self._t.close()
        self._raw.close()


_DECODER = msgspec.json.Decoder(Triplet)
#: What a record callback gets: a record the schema refuses (unsafe path or name, wrong type,
#: missing field, ...) as ``(line number, parsed JSON object or {}, error)``.
OnBadRecord = Callable[[int, dict[str, Any], ManifestError], None]


def decode_line(line: bytes, where: str) -> Triplet:
    """One manifest line as a :class:`Triplet`, typed by msgspec and checked
    (:func:`avsynth.manifest.schema.check_record`).

    Raises:
        ManifestRecordError: a wrong type, missing field, unknown choice or number out of
            range (``where: field: what``); UnsafePathError; ManifestError: not JSON, or an
            unknown schema version.
    """
    try:
        t = _DECODER.decode(line)
    except msgspec.ValidationError as e:
        doc = loads_or_none(line)
        if isinstance(doc, dict):
            check_version(doc.get("schema_version"), where)
        raise record_error(e, where, doc, choices=CHOICES) from None
    except msgspec.DecodeError as e:
        raise syntax_error(line, e, where) from None
    return check_record(t, where)


def iter_numbered(
    path: str | os.PathLike[str], *, on_unsafe: OnBadRecord | None = None
) -> Iterator[tuple[int, Triplet]]:
    """Yield ``(line number, triplet)`` of a manifest lazily (numbers count every line of the
    file, blank ones included).

    Args:
        path: ``manifest.jsonl`` or ``manifest.jsonl.gz``.
        on_unsafe: If given, a record the schema refuses (an unsafe path or name, a wrong
            type, a missing field, an unknown choice, a number out of range) is passed to it
            as ``(line number, parsed JSON object or {}, error)`` and skipped instead of
            raising (``avsynth verify`` lists them all).

    Raises:
        ManifestError: if the file is missing, unreadable (a corrupt ``.gz``) or holds no
            records, or a line is not valid JSON, has an unknown schema version or does not
            fit the schema (:class:`~avsynth.errors.ManifestRecordError`, naming file:line
            and the field).
    """
    p = Path(path)
    if not p.is_file():
        raise ManifestError(f"{p}: manifest not found")
    seen = 0
    f = _open_bytes(p)
    try:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            seen += 1
            if on_unsafe is None:
                yield lineno, decode_line(line, f"{p}:{lineno}")
                continue
            try:
                t = decode_line(line, f"{p}:{lineno}")
            except (UnsafePathError, ManifestRecordError) as e:
                doc = loads_or_none(line)
                on_unsafe(lineno, doc if isinstance(doc, dict) else {}, e)
                continue
            yield lineno, t
    except (OSError, EOFError, zlib.error) as e:
        raise ManifestError(f"{p}: cannot read manifest ({e})") from None
    finally:
        f.close()
    if not seen:
        raise ManifestError(f"{p}: holds no records (an empty manifest)")


def iter_manifest(
    path: str | os.PathLike[str], *, on_unsafe: OnBadRecord | None = None
) -> Iterator[Triplet]:
    """Yield the triplets of a manifest lazily, one line at a time.

    Every record is decoded by msgspec against the record types, so every reader gets the
    same checks (see :func:`iter_numbered`).

    Args:
        path: ``manifest.jsonl`` or ``manifest.jsonl.gz``.
        on_unsafe: If given, a record the schema refuses is passed to it as
            ``(line number, parsed JSON object or {}, error)`` and skipped instead of raising.

    Raises:
        ManifestError: if the file is missing, unreadable or empty, or a line is not valid
            JSON, has an unknown schema version, does not fit the schema
            (:class:`~avsynth.errors.ManifestRecordError`) or holds an unsafe path (message
            names file:line and the field).
    """
    for _, t in iter_numbered(path, on_unsafe=on_unsafe):
        yield t


def read_manifest(
    path: str | os.PathLike[str], *, split: str | None = None, category: str | None = None
) -> list[Triplet]:
    """Read a whole manifest (optionally one split / category) into a list of triplets.

    Args:
        path: ``manifest.jsonl`` or ``manifest.jsonl.gz``.
        split: Keep only this split (``train``, ``val`` or ``test``).
        category: Keep only this category.

    Returns:
        The triplets in file order.
    """
    out = []
    for t in iter_manifest(path):
        if split is not None and t.split != split:
            continue
        if category is not None and t.category != category:
            continue
        out.append(t)
    return out


class ManifestWriter:
    """Write records one at a time to ``path`` atomically.

    Use as a context manager: the file appears under its final name only when the block
    exits without an exception; on error the temporary file is removed.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.tmp: Path | None = None
        self.count = 0
        self._f: IO[str] | None = None

    def __enter__(self) -> ManifestWriter:
        from avsynth.storage.atomic import unique_temp

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = unique_temp(self.path, suffix=".tmp")  # unique: writers never share it
        os.close(fd)
        # compressed as the final name says (the temporary name ends in ".tmp")
        self._f = _open_text(self.tmp, "wt", gz=self.path.name.endswith(".gz"))
        return self

    def write(self, t: Triplet) -> None:
        assert self._f is not None, "use ManifestWriter as a context manager"
        self._f.write(encode_record(t).decode("utf-8"))
        self._f.write("\n")
        self.count += 1

    def write_encoded(self, lines: bytes, count: int) -> None:
        """Append ``count`` records already encoded as UTF-8 lines (each as
        :func:`~avsynth.manifest.encode.encode_record` writes it, ending in a newline), e.g.
        from :func:`avsynth.planning.encode.manifest_lines`."""
        assert self._f is not None, "use ManifestWriter as a context manager"
        self._f.flush()
        self._f.buffer.write(lines)
        self.count += count

    def write_all(self, records: Iterable[Triplet]) -> int:
        for t in records:
            self.write(t)
        return self.count

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._f is not None and self.tmp is not None
        self._f.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def read_sidecar(manifest: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``build_info.json`` next to a manifest (empty dict if there is none)."""
    p = Path(manifest).parent / SIDECAR
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ManifestError(f"{p}: invalid JSON ({e.msg})") from None


def resolve_media_path(
    manifest: str | os.PathLike[str],
    path: str,
    root: str,
    *,
    roots: dict[str, str | os.PathLike[str]] | None = None,
) -> Path:
    """Absolute path of a media reference.

    Args:
        manifest: The manifest the reference comes from.
        path: The reference's relative path.
        root: ``"manifest"`` or a source name.
        roots: Overrides for source roots (else taken from the sidecar's ``roots``).

    Raises:
        ManifestError: if the root is unknown or the resolved path escapes it.
    """
    from avsynth.manifest.schema import safe_relpath

    safe_relpath(path)
    if root == "manifest":
        base = Path(manifest).resolve().parent
    else:
        known = dict(read_sidecar(manifest).get("roots", {}))
        known.update({k: str(v) for k, v in (roots or {}).items()})
        if root not in known or not known[root]:
            how = (
                f"pass it (e.g. --{root} DIR)"
                if root in SOURCE_ROOTS
                else f"give the folder as roots.{root} in {SIDECAR} (or re-run the command "
                "that wrote the manifest, e.g. `avsynth import-release`)"
            )
            raise ManifestError(f"{manifest}: media root {root!r} unknown; {how}")
        base = Path(known[root]).resolve()
    full = (base / path).resolve()
    if full != base and base not in full.parents:
        raise ManifestError(f"{path!r} escapes its root {base}")
    return full
