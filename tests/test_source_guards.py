"""Sources are read safely: unique ids in every id space, labels usable as names, only regular
files, no output inside a source root, no build output read as a source; check-map's vocab
files and missing maps are one line."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest
from build_fixtures import CATS, build_tiny, write_sources

from avsynth.errors import MapError, MediaError, OutputError, SourceError
from avsynth.sources.lvis import lvis_masks, read_lvis_categories
from avsynth.sources.openimages import iter_openimages_masks
from avsynth.sources.vggsound import read_vggsound, scan_clips
from avsynth.testing.sources import write_vggsound


@pytest.fixture
def roots(tmp_path):
    return write_sources(tmp_path / "src", n_lvis=6, n_oi=6, clips_per_label=3)


def _edit_lvis(roots, edit):
    path = roots["lvis"] / "lvis_v1_train.json"
    doc = json.loads(path.read_text())
    want = edit(doc)
    path.write_text(json.dumps(doc))
    return path, want


LVIS_DUPES = {
    "image id": lambda d: (d["images"].append(dict(d["images"][0])), d["images"][0]["id"])[1],
    "annotation id": lambda d: (
        d["annotations"].append(dict(d["annotations"][0], image_id=d["images"][1]["id"])),
        d["annotations"][0]["id"],
    )[1],
    "category name": lambda d: (
        d["categories"].append(dict(d["categories"][0], id=99)),
        d["categories"][0]["name"],
    )[1],
    "category id": lambda d: (
        d["categories"].append(dict(d["categories"][0], name="zebra")),
        d["categories"][0]["id"],
    )[1],
}


@pytest.mark.parametrize("what", sorted(LVIS_DUPES))
def test_lvis_duplicate_ids_name_the_id(roots, what):
    path, value = _edit_lvis(roots, LVIS_DUPES[what])
    with pytest.raises(SourceError) as e:
        lvis_masks(roots["lvis"], {"dog", "cat"}, "train")
    assert str(e.value).startswith(f"{path}: {what} {value!r} appears more than once")


def test_lvis_duplicate_category_name_in_check_map_vocabulary(roots):
    path, value = _edit_lvis(roots, LVIS_DUPES["category name"])
    with pytest.raises(SourceError, match=f"category name {value!r} appears more than once"):
        read_lvis_categories(path)


@pytest.mark.parametrize("copies", [2, 3])
def test_openimages_duplicate_mask_path_names_it(roots, copies):
    csv = roots["openimages"] / "train-annotations-object-segmentation.csv"
    header, first, *rest = csv.read_text().splitlines()
    csv.write_text("\n".join([header, *([first] * copies), *rest]) + "\n")
    mask_path = first.split(",")[0]
    with pytest.raises(SourceError) as e:
        list(iter_openimages_masks(roots["openimages"], {c[1] for c in CATS}))
    assert f"MaskPath {mask_path!r} appears more than once" in str(e.value)


@pytest.mark.parametrize(
    "second,ok",
    [
        (("abcdefghijk", 30, "dog barking", "train"), True),  # exact repeat: kept once
        (("abcdefghijk", 30, "cat meowing", "train"), False),  # one clip, two labels
        (("abcdefghijk", 30, "dog barking", "test"), False),  # one clip in train and test
    ],
)
def test_vggsound_clip_ids_are_unique(tmp_path, second, ok):
    root = write_vggsound(
        tmp_path / "v", [("abcdefghijk", 30, "dog barking", "train"), second]
    ).parent
    if ok:
        assert len(read_vggsound(root).clips) == 1
        return
    with pytest.raises(SourceError) as e:
        read_vggsound(root)
    assert str(e.value).startswith(f"{root / 'vggsound.csv'}:2: clip id 'abcdefghijk_000030'")
    assert "repeats line 1" in str(e.value)


@pytest.mark.parametrize("label", ["AC/DC", "..", ".", "a\\b", "x" * 250])
def test_unusable_vggsound_label_is_refused_at_build_time(tmp_path, label):
    rows = [("abcdefghijk", 30, "dog barking", "train"), ("bcdefghijkl", 0, label, "test")]
    root = write_vggsound(tmp_path / "v", rows).parent
    with pytest.raises(SourceError) as e:
        read_vggsound(root, labels={label, "dog barking"})
    msg = str(e.value)
    assert msg.startswith(f"{root / 'vggsound.csv'}:2: label ") and "\n" not in msg


@pytest.mark.parametrize("label", ["AC/DC", "..", "."])
def test_unusable_vggsound_label_in_map_is_a_check_map_problem(tmp_path, label):
    from build_fixtures import tiny_map

    from avsynth.catmap import check_map
    from avsynth.catmap.schema import Category

    m = tiny_map()
    last = m.categories[-1]
    cats = (*m.categories[:-1], Category(last.name, last.lvis, last.openimages, (label,)))
    bad = type(m)(m.schema_version, m.name, cats, sha256=m.sha256)
    problems = check_map(bad)
    hits = [p for p in problems if repr(label) in p]
    assert len(hits) == 1 and "cannot be a file or folder name" in hits[0], problems


# ------------------------------------------------------------------ regular files only


def _fifo(path):
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    return path


def _no_hang(fifo, fn, *args, **kw):
    """``fn(*args)`` in a thread: ``{"value": ...}`` or ``{"error": ...}``; fails the test
    (instead of hanging the suite) if it blocks on ``fifo``."""
    box = {}

    def run():
        try:
            box["value"] = fn(*args, **kw)
        except BaseException as e:  # noqa: BLE001
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(60)
    if t.is_alive():
        os.close(os.open(fifo, os.O_RDWR))  # let a blocked open return, so the thread ends
        pytest.fail(f"{fn.__name__} blocked on {fifo}")
    return box


@pytest.mark.parametrize("reader", ["read_image", "read_image_size", "read_mask"])
def test_fifo_source_file_is_one_line(tmp_path, reader):
    from avsynth.sources import images as media

    path = _fifo(tmp_path / "x.jpg")
    box = _no_hang(path, getattr(media, reader), path)
    assert isinstance(box.get("error"), MediaError), box
    assert str(box["error"]) == (
        f"{path}: {'mask' if reader == 'read_mask' else 'image'} is not a regular file "
        "(a FIFO, socket or device); only regular files are read"
    )


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_build_with_fifo_image_follows_on_error(tmp_path, on_error):
    roots = write_sources(tmp_path / "src", n_lvis=12, n_oi=12)
    fifos = [_fifo(p) for p in sorted((roots["lvis"] / "train2017").glob("*.jpg"))]
    assert len(fifos) == 12  # every LVIS image: whichever the plan takes is a FIFO
    out = tmp_path / "out"
    box = _no_hang(fifos[0], build_tiny, roots, out, split_sizes=(4, 2, 2), on_error=on_error)
    if on_error == "raise":
        assert isinstance(box.get("error"), MediaError), box
        msg = str(box["error"])
        assert any(msg.startswith(f"{f}: image is not a regular file") for f in fifos), msg
        assert not (out / "manifest.jsonl").exists()
    else:
        assert "error" not in box, box
        info = json.loads((out / "build_info.json").read_text())
        skipped = json.dumps(info["media_skips"])
        assert any(f.name in skipped for f in fifos), info["media_skips"]
        assert "not a regular file" in skipped
        assert '"source":"lvis"' not in (out / "manifest.jsonl").read_text()


# ------------------------------------------------------------------ outputs vs sources


@pytest.mark.parametrize("source", ["vggsound", "lvis", "openimages"])
@pytest.mark.parametrize("below", ["", "out", "a/b/out"])
def test_out_inside_a_source_root_is_refused(roots, source, below):
    out = roots[source] / below if below else roots[source]
    before = sorted(p.relative_to(roots[source]) for p in roots[source].rglob("*"))
    with pytest.raises(OutputError) as e:
        build_tiny(roots, out, split_sizes=(4, 2, 2))
    assert str(e.value).startswith(f"--out {out} lies inside the {source} root")
    assert sorted(p.relative_to(roots[source]) for p in roots[source].rglob("*")) == before


@pytest.mark.parametrize(
    "marker", [(".avsynth-build", "{}"), ("build_info.json", '{"avsynth_version": "0.1"}')]
)
@pytest.mark.parametrize("where", ["cuts", "runs/cuts"])
def test_clip_scan_skips_build_outputs(tmp_path, marker, where):
    import soundfile as sf

    y = np.zeros(16000, np.float32)
    rows = [("abcdefghijk", 30, "dog barking", "train")]
    root = write_vggsound(tmp_path / "v", rows, clips={"abcdefghijk_000030": y}, fmt="flac").parent
    build = root / where  # an earlier build's output inside the root, its 1 s cut a .wav
    (build / "audio").mkdir(parents=True)
    sf.write(str(build / "audio" / "abcdefghijk_000030.wav"), y, 16000)
    assert scan_clips(root)["abcdefghijk_000030"].startswith(where)  # wav wins: the bug
    (build / marker[0]).write_text(marker[1])
    found = scan_clips(root)
    assert found["abcdefghijk_000030"].endswith(".flac"), found


# ------------------------------------------------------------------ check-map files


@pytest.mark.parametrize(
    "name,body",
    [
        ("stat.csv", "caf\xe9 noise,12,animals\n"),
        ("test.csv", "abcdefghijk_000030.mp4,caf\xe9 noise\n"),
        ("labels.txt", "caf\xe9 noise\n"),
        ("vggsound.csv", "abcdefghijk,30,caf\xe9 noise,train\n"),
    ],
)
def test_non_utf8_vggsound_csv_is_one_line(tmp_path, name, body):
    from avsynth.catmap.vocab import read_vggsound_labels

    path = tmp_path / name
    path.write_bytes(body.encode("latin-1"))
    with pytest.raises(SourceError) as e:
        read_vggsound_labels(path)
    assert str(e.value).startswith(f"{path}: not UTF-8 text") and "\n" not in str(e.value)


def test_non_utf8_vggsound_csv_in_check_map_cli(tmp_path, monkeypatch, capsys):
    from inspect_fixtures import run_cli

    path = tmp_path / "vggsound.csv"
    path.write_bytes("caf\xe9 noise,12,animals\n".encode("latin-1"))
    code, out, err = run_cli(monkeypatch, capsys, "check-map", "46", "--vggsound", tmp_path)
    assert code == 1
    assert err.strip() == (
        f"error: {path}: not UTF-8 text (byte 0xe9 at offset 3); save it as UTF-8"
    )


@pytest.mark.parametrize("name", ["category_maps/47.yaml", "maps/46.yaml", "nope"])
def test_missing_map_names_the_shipped_maps(tmp_path, monkeypatch, name):
    from avsynth.catmap import load_map

    monkeypatch.chdir(tmp_path)
    with pytest.raises(MapError) as e:
        load_map(name)
    # The shipped maps, listed from the package folder here (46 and xl today).
    from pathlib import Path

    import avsynth

    shipped = sorted(
        p.stem for p in (Path(avsynth.__file__).parent / "data" / "category_maps").glob("*.yaml")
    )
    assert "46" in shipped
    assert str(e.value) == (
        f"{name}: category map not found (give a map file, or a shipped map's name: "
        f"{', '.join(shipped)}; e.g. `avsynth check-map 46`)"
    )


def test_readme_path_works_without_a_source_tree(tmp_path, monkeypatch):
    from avsynth.catmap import load_map
    from avsynth.catmap.vocab import data_path

    monkeypatch.chdir(tmp_path)  # no category_maps/ here, as for a pip user
    m = load_map("category_maps/46.yaml")
    assert m.sha256 == load_map(data_path("category_maps/46.yaml")).sha256


@pytest.mark.parametrize("seconds", [3600.5, 1e9])
def test_clip_longer_than_records_allow_is_refused(roots, tmp_path, seconds):
    from avsynth.errors import PlanError

    with pytest.raises(PlanError, match=rf"--clip-seconds {seconds}: must be <= 3600"):
        build_tiny(roots, tmp_path / "out", clip_seconds=seconds, plan_only=True)
    assert not (tmp_path / "out").exists()
