"""avsynth import-release on a tiny AVS-Synthetic release written in the authors' layout."""

from __future__ import annotations

import csv
import json
import pickle
import random

import pytest

from avsynth.errors import SourceError
from avsynth.manifest import read_manifest
from avsynth.release import import_release, read_audio_pools
from avsynth.sources.avs_synthetic import load_plain_pickle
from avsynth.testing.release import write_release

SPLIT = {"train": "train", "validate": "val", "test": "test"}


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return write_release(tmp_path_factory.mktemp("release") / "AVS_Synthetic")


def _rows(root):
    """The CSV as the authors' loader sees it: 9 values by position, plus the split."""
    with open(root / "annotations.csv", newline="") as f:
        header, *rows = list(csv.reader(f))
    s = header.index("split")
    if len(header) == 10:
        return [(r[:s] + r[s + 1 :], r[s]) for r in rows]
    return [(r, r[s]) for r in rows]


def test_records_follow_the_csv_by_position(release, tmp_path):
    rep = import_release(release, tmp_path / "out", progress=False)
    recs = {t.id: t for t in read_manifest(rep.manifest)}
    pools = pickle.loads((release / "category_for_vggsound_audios.pkl").read_bytes())
    rows = _rows(release)
    assert len(recs) == len(rows) == 24
    assert rep.written == {"train": 12, "val": 6, "test": 6}
    info = json.loads(rep.sidecar.read_text())
    assert info["roots"] == {"release": str(release.resolve())}
    for vals, split in rows:
        inst, img, _, _, cname, cid, _, _, audio = vals
        t = recs[inst]
        assert t.split == SPLIT[split] and t.category == cname
        assert (t.image.path, t.image.root) == (f"images/{img}.jpg", "release")
        assert (t.mask.path, t.mask.root) == (f"masks/{inst}.png", "release")
        assert t.extra["class_id"] == int(cid)
        if split == "train":
            assert t.audio.path.removeprefix("audios/").removesuffix(".wav") in pools[int(cid)]
        else:
            assert t.audio.path == f"audios/{audio}.wav"
    # The pools are kept for per-access drawing, as paths into the release.
    resolved = read_audio_pools(rep.manifest)
    for cname, cid in (("dog", 7), ("cat", 3), ("piano", 12)):
        assert info["audio_pools"][cname] == sorted(f"audios/{a}.wav" for a in pools[cid])
        assert resolved[cname] == [release.resolve() / "audios" / f"{a}.wav" for a in
                                   sorted(pools[cid])]  # fmt: skip


def test_split_as_a_tenth_column_reads_the_same(release, tmp_path):
    ten = write_release(tmp_path / "ten", split_extra=True)
    a = read_manifest(import_release(release, tmp_path / "a", progress=False).manifest)
    b = read_manifest(import_release(ten, tmp_path / "b", progress=False).manifest)
    assert [t.to_dict() for t in a] == [t.to_dict() for t in b]


def _clips(root, out, seed=0):
    rep = import_release(root, out, seed=seed, progress=False)
    return {t.id: t.audio.path for t in read_manifest(rep.manifest)}


def test_default_clips_are_seeded_and_order_independent(release, tmp_path):
    a = _clips(release, tmp_path / "a")
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for sub in ("images", "masks", "audios"):
        (shuffled / sub).symlink_to(release / sub)
    (shuffled / "category_for_vggsound_audios.pkl").write_bytes(
        (release / "category_for_vggsound_audios.pkl").read_bytes()
    )
    lines = (release / "annotations.csv").read_text().splitlines()
    body = lines[1:]
    random.Random(1).shuffle(body)
    (shuffled / "annotations.csv").write_text("\n".join([lines[0], *body]) + "\n")
    b = _clips(shuffled, tmp_path / "b")
    assert a == b
    c = _clips(release, tmp_path / "c", seed=5)
    assert any(a[k] != c[k] for k in a)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_that_would_run_code_is_refused(release, tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil"
    evil.mkdir()
    for sub in ("images", "masks", "audios"):
        (evil / sub).symlink_to(release / sub)
    (evil / "annotations.csv").write_bytes((release / "annotations.csv").read_bytes())
    # The standard loader runs it (on a control file): the pickle really would run code.
    pickle.loads(pickle.dumps(_Evil(str(tmp_path / "control")))).close()
    assert (tmp_path / "control").exists()
    (evil / "category_for_vggsound_audios.pkl").write_bytes(pickle.dumps({7: [_Evil(str(marker))]}))
    with pytest.raises(SourceError) as e:
        import_release(evil, tmp_path / "out", progress=False)
    assert "refused to unpickle io.open" in str(e.value) and "\n" not in str(e.value)
    assert not marker.exists()
    assert not (tmp_path / "out" / "manifest.jsonl").exists()
    # Plain data that is not a container of strings/numbers is refused too.
    (tmp_path / "set.pkl").write_bytes(pickle.dumps({1: {"a"}}))
    with pytest.raises(SourceError, match="holds a set"):
        load_plain_pickle(tmp_path / "set.pkl")
    (tmp_path / "ok.pkl").write_bytes(pickle.dumps({1: ["a", "b"], 2: ("c",)}))
    assert load_plain_pickle(tmp_path / "ok.pkl") == {1: ["a", "b"], 2: ("c",)}


def test_missing_files_are_skipped_and_counted(tmp_path):
    from avsynth.inspection.verify import verify_report

    root = write_release(tmp_path / "rel")
    rows = _rows(root)
    (root / "images" / f"{rows[0][0][1]}.jpg").unlink()  # a train row's image
    (root / "masks" / f"{rows[13][0][0]}.png").unlink()  # a val row's mask
    val_clip = rows[-1][0][8]  # a test row's clip, also a pool clip of its class
    (root / "audios" / f"{val_clip}.wav").unlink()
    users = [i for i, (v, s) in enumerate(rows) if s != "train" and v[8] == val_clip]
    assert len(users) == 2 and 13 not in users
    rep = import_release(root, tmp_path / "out", progress=False)
    assert rep.skipped == {"image missing": 1, "mask missing": 1, "audio missing": 2}
    assert rep.pool_missing == 1
    assert sum(rep.written.values()) == 24 - 4
    info = json.loads(rep.sidecar.read_text())
    assert all(f"audios/{val_clip}.wav" not in p for p in info["audio_pools"].values())
    assert verify_report(rep.manifest, progress=False).problems == []


def test_malformed_csv_names_the_line(tmp_path):
    root = write_release(tmp_path / "rel", per_class=(1, 1, 1))
    text = (root / "annotations.csv").read_text().replace(",validate,", ",valid,", 1)
    (root / "annotations.csv").write_text(text)
    with pytest.raises(SourceError, match=r"annotations.csv:\d+: split 'valid'"):
        import_release(root, tmp_path / "out", progress=False)
    with pytest.raises(SourceError, match="not found"):
        import_release(tmp_path / "nowhere", tmp_path / "out", progress=False)


@pytest.mark.slow
def test_imported_release_verifies_trains_and_evaluates(tmp_path, capsys):
    """As a new user would: import, verify, stats, export, inspect media, train, eval (CLI)."""
    import numpy as np
    from PIL import Image

    from avsmodel.evaluation import evaluate
    from avsynth.cli import main as avsynth_main
    from avsynth.inspection import export_avsbench, stats, verify_report
    from avsynth.inspection.fiftyone_app import _media

    root = write_release(tmp_path / "AVS_Synthetic")
    out = tmp_path / "avss"
    _cli(avsynth_main, ["avsynth", "import-release", str(root), "--out", str(out), "--quiet"])
    assert "imported 24 triplets" in capsys.readouterr().out
    manifest = out / "manifest.jsonl"
    assert verify_report(manifest, progress=False).problems == []
    rep = stats(manifest, tmp_path / "stats", progress=False)
    assert (tmp_path / "stats" / "counts.csv").is_file() and "24 triplets" in rep.summary()
    exp = export_avsbench(manifest, tmp_path / "avsb", progress=False)
    t = read_manifest(manifest, split="test")[0]
    gt = sorted((tmp_path / "avsb").rglob(f"gt_masks/test/*/{t.id}/*_1.png"))
    assert exp is not None and len(gt) == 1
    src = np.asarray(Image.open(root / "masks" / f"{t.id}.png")) > 0
    assert src.any() and (np.asarray(Image.open(gt[0])) > 0).any()
    rows = _media(manifest, [t], None, spectrograms=True, workers=1, progress=False)
    assert rows[0]["mask"] == root / "masks" / f"{t.id}.png" and rows[0]["preview"].is_file()

    from avsmodel.cli import main as avsmodel_main

    run = tmp_path / "run"
    _cli(avsmodel_main, ["avsmodel", "train", str(manifest), "--model", "sama_avs_tiny",
                         "--out", str(run), "--epochs", "1", "--batch-size", "4",
                         "--workers", "0"])  # fmt: skip
    assert "epoch 1/1" in capsys.readouterr().out and (run / "best.pt").is_file()
    m = evaluate(run / "best.pt", manifest=manifest, split="test", progress=False)
    assert (m["n"], m["split"]) == (6, "test")  # the CSV's six test rows, read from the release
    _cli(avsmodel_main, ["avsmodel", "eval", str(run / "best.pt"), "--manifest", str(manifest),
                         "--split", "test"])  # fmt: skip
    assert f"{m['miou']:.4f}" in capsys.readouterr().out


def _cli(main, argv):
    import sys

    old = sys.argv
    sys.argv = argv
    try:
        main()
    except SystemExit as e:
        assert not e.code, f"{argv[:2]} exited {e.code}"
    finally:
        sys.argv = old


def test_cli_refused_pickle_is_one_line(release, tmp_path):
    import os
    import subprocess
    import sys

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "annotations.csv").write_bytes((release / "annotations.csv").read_bytes())
    (bad / "category_for_vggsound_audios.pkl").write_bytes(
        pickle.dumps({7: [_Evil(str(tmp_path / "pwned"))]})
    )
    r = subprocess.run(
        [sys.executable, "-c", "from avsynth.cli import main; main()", "import-release",
         str(bad), "--out", str(tmp_path / "o"), "--quiet"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1
    assert "refused to unpickle" in r.stderr and not (tmp_path / "pwned").exists()


def test_output_is_byte_identical_for_any_worker_count(tmp_path):
    root = write_release(tmp_path / "rel", per_class=(12, 5, 5))  # 66 rows: workers engage
    a = import_release(root, tmp_path / "a", workers=1, progress=False)
    b = import_release(root, tmp_path / "b", workers=2, progress=False)
    assert a.manifest.read_bytes() == b.manifest.read_bytes()
    assert a.sidecar.read_bytes() == b.sidecar.read_bytes()
    assert sum(a.written.values()) == 66


def test_cli_help_has_examples():
    from typer.testing import CliRunner

    from avsynth.cli import app

    res = CliRunner().invoke(app, ["import-release", "--help"])
    assert res.exit_code == 0 and "avsynth import-release AVS_Synthetic --out avss" in res.output


def test_out_that_is_a_file_is_refused_before_work(release, tmp_path):
    from avsynth.errors import OutputError

    (tmp_path / "taken").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        import_release(release, tmp_path / "taken", progress=False)


def test_names_that_are_not_one_path_component_are_refused(tmp_path):
    root = write_release(tmp_path / "rel", per_class=(1, 1, 1))
    text = (root / "annotations.csv").read_text().replace(",dog,", ",do/g,", 1)
    (root / "annotations.csv").write_text(text)
    with pytest.raises(SourceError, match=r"annotations.csv:2: class 'do/g' cannot be used"):
        import_release(root, tmp_path / "out", progress=False)


def test_clips_too_short_for_one_example_are_left_out(tmp_path):
    import soundfile as sf

    from avsynth.audio.logmel import MIN_SAMPLES

    root = write_release(tmp_path / "rel")
    rows = _rows(root)
    short = rows[-1][0][8]  # a test row's clip, also in its class's pool
    sf.write(root / "audios" / f"{short}.wav", [0.1] * (MIN_SAMPLES - 1), 16000, subtype="PCM_16")
    users = [v for v, s in rows if s != "train" and v[8] == short]
    rep = import_release(root, tmp_path / "out", progress=False)
    assert rep.skipped == {"audio shorter than 0.975 s": len(users)} and rep.pool_missing == 1
    info = json.loads(rep.sidecar.read_text())
    assert all(f"audios/{short}.wav" not in p for p in info["audio_pools"].values())
    assert all(t.audio.duration >= 0.975 for t in read_manifest(rep.manifest))


def test_annotations_csv_short_row_bom_and_blank_lines(tmp_path):
    """The csv module reads annotations.csv: a BOM before the header and blank lines are
    fine; a row with a missing field is one error naming its physical line."""
    from avsynth.sources.avs_synthetic import read_annotations

    root = write_release(tmp_path / "rel", per_class=(1, 1, 1))
    path = root / "annotations.csv"
    header, *body = path.read_text().splitlines()
    want = [(i + 2, r) for i, r in enumerate(body)]  # line numbers of the plain file
    path.write_text("\ufeff" + "\n".join([header, "", *body, ""]) + "\n")
    got = read_annotations(path)
    assert [line for line, _ in got] == [n + 1 for n, _ in want]  # one blank line above
    assert [r["instance"] for _, r in got] == [b.split(",")[0] for _, b in want]
    short = body[1].rsplit(",", 1)[0]
    path.write_text("\n".join([header, body[0], short, *body[2:]]) + "\n")
    n = len(header.split(","))
    msg = rf"annotations.csv:3: {n - 1} fields; the header has {n}"
    with pytest.raises(SourceError, match=msg):
        read_annotations(path)


def _blank(path, value=0):
    """Overwrite a mask PNG with one grey level (0: an empty mask)."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        size = im.size
    Image.fromarray(np.full(size[::-1], value, np.uint8)).save(path)


def test_empty_mask_rows_are_kept_and_counted_or_dropped(tmp_path):
    from _authors_reference import authors_binary

    from avsynth.inspection.verify import verify_report

    root = write_release(tmp_path / "rel")
    rows = _rows(root)
    emptied = {rows[1][0][0]: "train", rows[13][0][0]: SPLIT[rows[13][1]]}
    for inst in emptied:
        _blank(root / "masks" / f"{inst}.png")
    # Reference: the authors' loader keeps every row; their convert("1") reads these empty.
    assert all(not authors_binary(root / "masks" / f"{i}.png").any() for i in emptied)
    rep = import_release(root, tmp_path / "keep", progress=False)
    ids = {t.id: t for t in read_manifest(rep.manifest)}
    assert set(emptied) <= set(ids) and sum(rep.written.values()) == len(rows)
    assert all(ids[i].mask.area_fraction == 0.0 and ids[i].split == s for i, s in emptied.items())
    want = {"train": 0, "val": 0, "test": 0}
    for s in emptied.values():
        want[s] += 1
    assert rep.empty_masks == want and not rep.skipped
    info = json.loads(rep.sidecar.read_text())
    assert info["empty_masks"] == want and info["mask_binarize"] == "threshold"
    assert "rows with an empty mask" in rep.summary() and "(kept)" in rep.summary()
    assert verify_report(rep.manifest, progress=False).problems == []
    drop = import_release(root, tmp_path / "drop", progress=False, drop_empty=True)
    assert not set(emptied) & {t.id for t in read_manifest(drop.manifest)}
    assert drop.skipped == {"mask empty": 2} and sum(drop.written.values()) == len(rows) - 2


def test_pil_binarisation_is_the_authors_convert_1(tmp_path):
    import numpy as np
    from _authors_reference import authors_binary
    from PIL import Image

    from avsynth.manifest.media import ManifestMedia

    root = write_release(tmp_path / "rel")
    inst = _rows(root)[0][0][0]
    path = root / "masks" / f"{inst}.png"
    with Image.open(path) as im:
        w, h = im.size
    grey = np.tile(np.linspace(0, 255, w).astype(np.uint8), (h, 1))  # a ramp: not 0/255
    Image.fromarray(grey).save(path)
    theirs = authors_binary(path)
    pil = import_release(root, tmp_path / "pil", progress=False, binarize="pil")
    thr = import_release(root, tmp_path / "thr", progress=False)
    t_pil = next(t for t in read_manifest(pil.manifest) if t.id == inst)
    t_thr = next(t for t in read_manifest(thr.manifest) if t.id == inst)
    assert t_pil.mask.area_fraction == pytest.approx(float(theirs.mean()), abs=1e-6)
    assert np.array_equal(ManifestMedia(pil.manifest).mask(t_pil), theirs)
    assert np.array_equal(ManifestMedia(thr.manifest).mask(t_thr), grey >= 128)
    assert not np.array_equal(theirs, grey >= 128)  # dithering: the two differ off 0/255
    assert json.loads(pil.sidecar.read_text())["mask_binarize"] == "pil"
