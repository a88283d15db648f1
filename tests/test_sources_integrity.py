"""Source readers never lose rows silently (issue 13, items 3, 11, 19, 20): a malformed row,
a folder where a file belongs or an empty file is a one-line error naming file and line."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from avsynth.errors import SourceError
from avsynth.sources.lvis import iter_lvis_masks
from avsynth.sources.openimages import iter_openimages_masks
from avsynth.sources.vggsound import read_vggsound
from avsynth.testing.sources import write_lvis, write_openimages, write_vggsound

DOG = "/m/0bt9lr"


def _oi(root, n=14):
    m = np.zeros((8, 8), bool)
    m[2:6, 2:6] = True
    rows = [{"ImageID": f"{i:016x}", "LabelName": DOG} for i in range(n)]
    return write_openimages(root, "train", rows, [m] * n, {DOG: "Dog"})


def test_openimages_csv_reads_every_row(tmp_path):
    path = _oi(tmp_path)
    want = [r[0] for r in list(csv.reader(io.StringIO(path.read_text())))[1:]]
    got = [m.mask_file for m in iter_openimages_masks(tmp_path, [DOG])]
    assert len(want) == 14 and sorted(got) == sorted(want)


@pytest.mark.parametrize("field", ["Clicks", "PredictedIoU"])
def test_openimages_stray_quote_is_error_naming_line(tmp_path, field):
    path = _oi(tmp_path)
    lines = path.read_text().split("\n")
    if field == "Clicks":  # the last field opens a quote that never closes
        lines[3] += '"12 34 1'
    else:  # a quote after PredictedIoU swallows the following lines into one field
        lines[3] = lines[3].replace(",0.9,", ',0.9,"', 1)
    path.write_text("\n".join(lines))
    # the stdlib csv module agrees that the stray quote merges rows 4..15 into one
    assert len(list(csv.reader(io.StringIO(path.read_text())))) - 1 == 3
    with pytest.raises(SourceError, match=r"segmentation\.csv:4: unclosed double quote") as e:
        list(iter_openimages_masks(tmp_path, [DOG]))
    assert "\n" not in str(e.value)


def test_openimages_blank_lines_are_not_an_error(tmp_path):
    path = _oi(tmp_path, n=5)
    path.write_text(path.read_text().replace("\n", "\n\n", 2))
    assert len(list(iter_openimages_masks(tmp_path, [DOG]))) == 5


def test_openimages_csv_that_is_a_folder_is_an_error(tmp_path):
    _oi(tmp_path)
    (tmp_path / "validation-annotations-object-segmentation.csv").mkdir()
    with pytest.raises(SourceError, match=r"validation-annotations.*is not a file"):
        list(iter_openimages_masks(tmp_path, [DOG]))


def test_lvis_json_that_is_a_folder_is_an_error(tmp_path):
    img = {"id": 1, "width": 8, "height": 8}
    ann = {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 6, 1, 6, 6]]}
    write_lvis(tmp_path, "val", [img], [ann], [{"id": 1, "name": "dog"}])
    assert len(list(iter_lvis_masks(tmp_path, ["dog"]))) == 1
    (tmp_path / "lvis_v1_train.json").mkdir()
    with pytest.raises(SourceError, match=r"lvis_v1_train\.json is not a file"):
        list(iter_lvis_masks(tmp_path, ["dog"]))


def test_vggsound_csv_that_is_a_folder_is_an_error(tmp_path):
    (tmp_path / "vggsound.csv").mkdir()
    with pytest.raises(SourceError, match=r"vggsound\.csv is not a file"):
        read_vggsound(tmp_path)


def test_vggsound_empty_csv_is_named(tmp_path):
    (tmp_path / "vggsound.csv").write_bytes(b"")
    with pytest.raises(SourceError, match=r"vggsound\.csv: no rows \(empty file\)"):
        read_vggsound(tmp_path, labels=["dog barking"])


ROWS = [(f"yt{i:09d}", 10 * i, "dog barking", "train") for i in range(40)]


def _break_quote(root, n_after: int = 0):
    write_vggsound(root, ROWS)
    lines = (root / "vggsound.csv").read_text().split("\n")
    lines[2] = lines[2].replace("dog barking", '"dog barking')  # opened, never closed
    lines[3:3] = ["zz,1,dog barking,train"] * n_after
    (root / "vggsound.csv").write_text("\n".join(lines))


def test_vggsound_unclosed_quote_names_line_briefly(tmp_path):
    _break_quote(tmp_path)
    with pytest.raises(SourceError) as e:
        read_vggsound(tmp_path)
    msg = str(e.value)
    assert msg.startswith(f"{tmp_path / 'vggsound.csv'}:3: unclosed double quote")
    assert len(msg) < 200 and "\n" not in msg


def test_vggsound_unclosed_quote_in_big_file_names_line(tmp_path):
    _break_quote(tmp_path, n_after=8000)  # > csv.field_size_limit() characters after it
    with pytest.raises(SourceError, match=r"vggsound\.csv:3: malformed CSV \(field larger"):
        read_vggsound(tmp_path)


def test_openimages_class_list_that_is_a_folder_is_an_error(tmp_path):
    from build_fixtures import tiny_map

    from avsynth.planning.mapcheck import check_map_against_sources

    _oi(tmp_path)
    (tmp_path / "oidv7-class-descriptions-boxable.csv").unlink()
    (tmp_path / "oidv7-class-descriptions-boxable.csv").mkdir()
    with pytest.raises(SourceError, match=r"oidv7-class-descriptions-boxable\.csv is not a file"):
        check_map_against_sources(
            tiny_map(("dog",)),
            lvis=None,
            openimages=tmp_path,
            vggsound_labels=["dog barking", "dog howling"],
            vggsound_source="vggsound.csv",
        )


def test_background_worker_parses_like_the_reader_and_reraises_errors(tmp_path):
    """Planning parses the Open Images CSVs in a forked worker (BackgroundJobs): the records
    equal the in-process reader's, the results come in job order, and a malformed CSV is
    the reader's one-line error, raised by next() in the parent."""
    import os

    from avsynth.planning.background import BackgroundJobs
    from avsynth.sources.openimages import (
        openimages_files,
        openimages_records,
        parse_openimages_tables,
    )

    _oi(tmp_path)
    files = openimages_files(tmp_path)
    jobs = BackgroundJobs([lambda: parse_openimages_tables(files, [DOG]), os.getpid])
    assert jobs.in_process
    tables, secs = jobs.next()
    masks = openimages_records(tables)
    assert masks == list(iter_openimages_masks(tmp_path, [DOG])) and len(masks) == 14
    assert secs > 0
    assert jobs.next() != os.getpid()  # the second job ran in the worker
    path = tmp_path / "train-annotations-object-segmentation.csv"
    lines = path.read_text().split("\n")
    lines[3] += '"12 34 1'
    path.write_text("\n".join(lines))
    jobs = BackgroundJobs([lambda: parse_openimages_tables(files, [DOG]), os.getpid])
    with pytest.raises(SourceError, match=r"segmentation\.csv:4: unclosed double quote"):
        jobs.next()


def test_failed_lvis_read_leaves_no_openimages_worker(tmp_path, monkeypatch):
    """plan() starts the Open Images worker before decoding LVIS; when LVIS fails the error
    is LVIS's and the worker is gone (here a worker that would parse for a minute)."""
    import multiprocessing
    import time

    import avsynth.sources.openimages as oi

    monkeypatch.setattr(oi, "parse_openimages_tables", lambda *a: time.sleep(60))  # forked too

    import avsynth
    from avsynth.testing.world import make_world

    w = make_world(tmp_path / "w", n_lvis_images=6, n_openimages_images=6, clips_per_label=5,
                   image_size=32, clip_seconds=1.0)  # fmt: skip
    cmap = w.write_category_map(tmp_path / "map.yaml")
    train = w.lvis_root / "lvis_v1_train.json"
    text = train.read_text()
    # corrupt an annotation (the categories at the end stay readable for the map check)
    assert '"annotations":[{"id":1,' in text
    train.write_text(text.replace('"annotations":[{"id":1,', '"annotations":[{"id":"x",', 1))
    t0 = time.perf_counter()
    with pytest.raises(SourceError, match=r"lvis_v1_train\.json"):
        avsynth.plan(cmap, vggsound=w.vggsound_root, lvis=w.lvis_root,
                     openimages=w.openimages_root, split_sizes=(4, 1, 1))  # fmt: skip
    assert multiprocessing.active_children() == []
    assert time.perf_counter() - t0 < 30


def _big_then_small():
    return b"x" * 5_000_000


def test_background_worker_hands_over_a_large_result_without_waiting_for_the_reader():
    """A result far larger than a pipe's buffer goes through the spool file: the worker
    finishes all its jobs (and frees their results) before the parent reads any, and the
    parent then gets each result intact, in order."""
    from avsynth.planning.background import BackgroundJobs

    jobs = BackgroundJobs([_big_then_small, lambda: 7])
    assert jobs.in_process
    jobs._proc.join(timeout=30)  # a result sent through the pipe would block it here
    assert jobs._proc.exitcode == 0
    assert jobs.next() == b"x" * 5_000_000
    assert jobs.next() == 7


def test_plan_decodes_lvis_val_in_the_worker_exactly_as_in_process(tmp_path, monkeypatch):
    """plan() hands LVIS val to the worker process (train decodes here): the manifest is
    byte-identical to the one of a build whose jobs all run in this process (one CPU)."""
    import os

    import avsynth
    import avsynth.sources.lvis as lvis_mod
    from avsynth.testing.world import make_world

    w = make_world(tmp_path / "w", n_lvis_images=30, n_openimages_images=12, clips_per_label=8,
                   image_size=32, clip_seconds=1.0)  # fmt: skip
    assert (w.lvis_root / "lvis_v1_val.json").is_file()
    cmap = w.write_category_map(tmp_path / "map.yaml")
    where = tmp_path / "val_read_by"
    real = lvis_mod.lvis_masks

    def spy(root, labels, subset):
        where.write_text(f"{subset} {os.getpid()}")
        return real(root, labels, subset)

    monkeypatch.setattr(lvis_mod, "lvis_masks", spy)
    kw = dict(vggsound=w.vggsound_root, lvis=w.lvis_root, openimages=w.openimages_root,
              split_sizes=(10, 2, 2), plan_only=True, progress=False)  # fmt: skip
    avsynth.build(cmap, out=tmp_path / "forked", **kw)
    assert where.read_text().split()[0] == "val"
    assert int(where.read_text().split()[1]) != os.getpid()
    monkeypatch.setattr(os, "cpu_count", lambda: 1)  # jobs run here, in order
    avsynth.build(cmap, out=tmp_path / "here", **kw)
    assert int(where.read_text().split()[1]) == os.getpid()
    for name in ("manifest.jsonl", "needed_images_lvis.txt"):
        assert (tmp_path / "forked" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()
    lvis_lines = (tmp_path / "here" / "needed_images_lvis.txt").read_text().split()
    assert any("val2017" in x for x in lvis_lines)  # val images were planned


def test_background_jobs_run_here_without_a_writable_temp_folder(tmp_path, monkeypatch):
    """No writable $TMPDIR for the spool file: the jobs run in this process, in order."""
    import os
    import tempfile

    from avsynth.planning.background import BackgroundJobs

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    jobs = BackgroundJobs([os.getpid, lambda: 7])
    assert not jobs.in_process
    assert jobs.next() == os.getpid()
    assert jobs.next() == 7
