"""Atomic writes use a unique temporary file in the target's folder: two writers of one path
both succeed, and the file left is one of the two complete contents (never a mix, never a
leftover temporary)."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from avsynth.manifest import ManifestWriter, read_manifest
from avsynth.materialise.writes import write_media
from avsynth.storage.atomic import atomic_path, atomic_write_bytes, unique_temp

SIZE = 4 << 20  # big enough that the two writes overlap in time


def _race(write: Callable[[bytes], object], contents: list[bytes], rounds: int = 5) -> list:
    """Run one writer thread per content, all started together, ``rounds`` times; returns the
    exceptions the writers raised."""
    errors: list[BaseException] = []
    for _ in range(rounds):
        barrier = threading.Barrier(len(contents))

        def run(data: bytes, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                write(data)
            except BaseException as e:  # noqa: BLE001 - collected for the assertion
                errors.append(e)

        threads = [threading.Thread(target=run, args=(c,)) for c in contents]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return errors


def _contents() -> list[bytes]:
    return [bytes([65 + i]) * SIZE for i in range(2)]  # b"AAAA..." and b"BBBB..."


@pytest.mark.parametrize(
    "writer",
    [
        atomic_write_bytes,
        write_media,
        lambda p, d: _via_atomic_path(p, d),
    ],
    ids=["atomic_write_bytes", "write_media", "atomic_path"],
)
def test_two_writers_of_one_path_both_succeed(tmp_path: Path, writer) -> None:
    dest = tmp_path / "sub" / "x.png"
    dest.parent.mkdir()
    contents = _contents()
    errors = _race(lambda d: writer(dest, d), contents)
    assert errors == []
    assert dest.read_bytes() in contents  # one whole content, not a mix or a truncation
    assert sorted(p.name for p in dest.parent.iterdir()) == ["x.png"]  # no temporary left


def _via_atomic_path(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def test_two_manifest_writers_of_one_path_both_succeed(tmp_path: Path) -> None:
    from inspect_fixtures import make_build

    records = read_manifest(make_build(tmp_path / "b"))
    sets = [records[:3], records[3:8]]
    path = tmp_path / "out" / "manifest.jsonl"

    def write(i: int) -> None:
        with ManifestWriter(path) as w:
            w.write_all(sets[i])

    errors = _race(write, [0, 1])  # type: ignore[list-item]
    assert errors == []
    got = [t.id for t in read_manifest(path)]
    assert got in ([t.id for t in sets[0]], [t.id for t in sets[1]])
    assert [p.name for p in path.parent.iterdir()] == ["manifest.jsonl"]


def test_temporary_names_are_unique_and_keep_the_suffix(tmp_path: Path) -> None:
    dest = tmp_path / "mask.png"
    made = [unique_temp(dest) for _ in range(20)]
    for fd, _ in made:
        os.close(fd)
    names = [p.name for _, p in made]
    assert len(set(names)) == 20
    assert all(n.startswith("mask.png.") and n.endswith(".tmp.png") for n in names)
    assert all(p.parent == tmp_path for _, p in made)


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    """mkstemp makes 0600 files; a written file has the umask's mode, as open() would give."""
    mask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a.txt", b"x")
        with open(tmp_path / "b.txt", "wb") as f:  # the reference: a plain new file
            f.write(b"x")
    finally:
        os.umask(mask)
    mode = stat.S_IMODE((tmp_path / "a.txt").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o644
