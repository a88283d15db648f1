"""``avsynth import-release``: normalised boxes, duplicate rows, hostile pool pickles, plain
progress lines; the release root's hint; export's full-disk message."""

from __future__ import annotations

import csv
import errno
import pickle
import time

import numpy as np
import pytest
from PIL import Image

from avsynth.errors import ManifestError, OutputError, SourceError
from avsynth.manifest import read_manifest, resolve_media_path
from avsynth.release import import_release
from avsynth.sources.avs_synthetic import MAX_DEPTH, load_plain_pickle
from avsynth.testing.release import write_release


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return write_release(tmp_path_factory.mktemp("release") / "AVS_Synthetic", size=48)


def _box_of(path):
    """Normalised (x, y, w, h) of a mask PNG's pixels >= 128, computed here with numpy."""
    m = np.asarray(Image.open(path).convert("L")) >= 128
    h, w = m.shape
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    x0, x1, y0, y1 = cols[0], cols[-1] + 1, rows[0], rows[-1] + 1
    return (x0 / w, y0 / h, (x1 - x0) / w, (y1 - y0) / h)


def test_release_boxes_are_normalised_like_built_manifests(release, tmp_path):
    rep = import_release(release, tmp_path / "out", progress=False)
    records = read_manifest(rep.manifest)
    assert len(records) == 24
    for t in records:
        want = _box_of(release / t.mask.path)
        assert t.mask.bbox == pytest.approx(want, abs=1e-6), t.id
        assert all(0.0 <= v <= 1.0 for v in t.mask.bbox)


@pytest.mark.parametrize("change", ["same", "other class", "other split", "first skipped"])
def test_duplicate_release_rows_name_the_id(release, tmp_path, change):
    import shutil

    root = tmp_path / "rel"
    shutil.copytree(release, root)
    path = root / "annotations.csv"
    with open(path, newline="") as f:
        header, *rows = list(csv.reader(f))
    s = header.index("split")
    i = next(k for k, r in enumerate(rows) if r[s] == "test")  # a row with an audio name
    dup = list(rows[i])
    if change == "other class":
        dup[4], dup[5] = rows[0][4], rows[0][5]
    elif change == "other split":
        dup[s] = "validate"
    elif change == "first skipped":  # the first row is dropped (image missing), the repeat not
        (root / "images" / f"{rows[i][1]}.jpg").unlink()
        (root / "images" / f"{rows[i][1]}.jpg").write_bytes(b"")
        dup[1] = rows[0][1]
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows, dup])
    with pytest.raises(SourceError) as e:
        import_release(root, tmp_path / "out", progress=False)
    last = len(rows) + 2
    assert str(e.value) == f"{path}:{last}: instance id {rows[i][0]!r} repeats line {i + 2}"
    assert not (tmp_path / "out" / "manifest.jsonl").exists()


def _shared_lists(depth):
    x = ["a"]
    for _ in range(depth):
        x = [x, x]  # each level references the one below twice: 2**depth paths
    return x


def _shared_dicts(depth):
    x = {1: ["a"]}
    for _ in range(depth):
        x = {1: x, 2: x}
    return x


@pytest.mark.parametrize("make", [_shared_lists, _shared_dicts])
def test_shared_nested_pickle_is_walked_fast(tmp_path, make):
    path = tmp_path / "p.pkl"
    path.write_bytes(pickle.dumps(make(MAX_DEPTH - 2), protocol=4))
    assert len(path.read_bytes()) < 2000  # a small file
    t0 = time.perf_counter()
    obj = load_plain_pickle(path)
    assert time.perf_counter() - t0 < 5.0
    assert isinstance(obj, list | dict)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 200, 5000])
@pytest.mark.parametrize("make", [_shared_lists, _shared_dicts])
def test_too_deep_pickle_is_one_line(tmp_path, make, depth):
    import sys

    path = tmp_path / "p.pkl"
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, depth * 4 + 100))
    try:
        path.write_bytes(pickle.dumps(make(depth), protocol=4))
    finally:
        sys.setrecursionlimit(old)
    t0 = time.perf_counter()
    with pytest.raises(SourceError) as e:
        load_plain_pickle(path)
    assert time.perf_counter() - t0 < 5.0
    assert str(e.value).startswith(f"{path}: ") and "\n" not in str(e.value)
    assert f"nested more than {MAX_DEPTH} deep" in str(e.value) or "not a readable" in str(e.value)


def test_import_progress_has_no_carriage_returns(release, tmp_path, capsys):
    import_release(release, tmp_path / "out", progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "import: 100%" in err and "(24/24 rows)" in err, err


@pytest.mark.parametrize(
    "root,hint",
    [
        ("release", "give the folder as roots.release in build_info.json"),
        ("lvis", "pass it (e.g. --lvis DIR)"),
        ("vggsound", "pass it (e.g. --vggsound DIR)"),
    ],
)
def test_root_hint_names_only_real_options(tmp_path, root, hint):
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("")
    with pytest.raises(ManifestError) as e:
        resolve_media_path(manifest, "images/x.jpg", root)
    assert str(e.value) == f"{manifest}: media root {root!r} unknown; {hint}" + (
        " (or re-run the command that wrote the manifest, e.g. `avsynth import-release`)"
        if root == "release"
        else ""
    )
    assert "--release" not in str(e.value)


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
def test_failed_atomic_write_names_the_file(tmp_path, monkeypatch, err):
    from pathlib import Path

    from avsynth.storage.atomic import atomic_write_bytes

    def full(self, data):
        raise OSError(err, __import__("os").strerror(err))

    monkeypatch.setattr(Path, "write_bytes", full)
    target = tmp_path / "Single-source" / "x.png"
    with pytest.raises(OutputError) as e:
        atomic_write_bytes(target, b"data")
    assert str(e.value).startswith(f"{target}: cannot write")
    assert not list(target.parent.iterdir())  # no temporary file left


def test_export_on_full_disk_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    from inspect_fixtures import make_build, run_cli

    m = make_build(tmp_path / "b")
    import avsynth.storage.atomic as files

    real = files.atomic_path
    calls = {"n": 0}

    def failing(path):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path)

    monkeypatch.setattr(files, "atomic_path", failing)
    code, _, err = run_cli(monkeypatch, capsys, "export-avsbench", m, "--out", tmp_path / "ex",
                           "--quiet")  # fmt: skip
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert "cannot write (No space left on device)" in lines[0]
    assert str(tmp_path / "ex") in lines[0] and lines[0].split(": cannot")[0].endswith(".png")
