"""Reading and writing manifests: JSONL (``.jsonl`` or ``.jsonl.gz``), streamed.

Writers are atomic: records go to ``<name>.tmp`` which is renamed into place by ``close()``
only after every record was written, so a failed build never leaves a manifest that looks
complete. The sidecar ``build_info.json`` next to the manifest records provenance and the
source roots of a plan-only build.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from avsynth.errors import ManifestError
from avsynth.manifest.encode import encode_record
from avsynth.manifest.schema import Triplet, UnsafePathError

SIDECAR = "build_info.json"


def _open_text(path: Path, mode: str, *, gz: bool | None = None) -> IO[str]:
    """``path`` as text; gzip when ``gz`` (default: when the name ends in ``.gz``)."""
    if path.name.endswith(".gz") if gz is None else gz:
        # mtime=0 keeps gzip output byte-identical across runs.
        raw = open(path, mode.replace("t", "") + "b")  # noqa: SIM115
        gz = gzip.GzipFile(fileobj=raw, mode=mode[0] + "b", mtime=0, filename="")
        return _GzText(gz, raw)
    return open(path, mode, encoding="utf-8", newline="\n")  # noqa: SIM115


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


def iter_manifest(
    path: str | os.PathLike[str],
    *,
    on_unsafe: Callable[[int, dict[str, Any], UnsafePathError], None] | None = None,
) -> Iterator[Triplet]:
    """Yield the triplets of a manifest lazily, one line at a time.

    Args:
        path: ``manifest.jsonl`` or ``manifest.jsonl.gz``.
        on_unsafe: If given, a record with an unsafe path or name is passed to it as
            ``(line number, parsed JSON object, error)`` and skipped instead of raising
            (``avsynth verify`` lists them all).

    Raises:
        ManifestError: if the file is missing, or a line is not valid JSON, has an unknown
            schema version, misses fields or holds an unsafe path (message names file:line).
    """
    p = Path(path)
    if not p.is_file():
        raise ManifestError(f"{p}: manifest not found")
    f = _open_text(p, "rt")
    try:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{p}:{lineno}"
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                raise ManifestError(f"{where}: invalid JSON ({e.msg})") from None
            if on_unsafe is None:
                yield Triplet.from_dict(d, where=where)
                continue
            try:
                t = Triplet.from_dict(d, where=where)
            except UnsafePathError as e:
                on_unsafe(lineno, d, e)
                continue
            yield t
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise ManifestError(f"{p}: cannot read manifest ({e})") from None
    finally:
        f.close()


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
        self.tmp = self.path.with_name(self.path.name + ".tmp")
        self.count = 0
        self._f: IO[str] | None = None

    def __enter__(self) -> ManifestWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
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
        assert self._f is not None
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
            raise ManifestError(
                f"{manifest}: media root {root!r} unknown; pass it (e.g. --{root} DIR)"
            )
        base = Path(known[root]).resolve()
    full = (base / path).resolve()
    if full != base and base not in full.parents:
        raise ManifestError(f"{path!r} escapes its root {base}")
    return full
