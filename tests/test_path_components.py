"""Record strings that become path components (ids, labels, categories) never leave an output.

Issue 13 item 1: a manifest whose ``audio.label`` was ``../../..../tmp/x`` made export-avsbench
write outside ``--out`` and ``verify`` called it good. Every manifest string used in a file or
folder name is now checked on read (and again where it is used), and ``verify`` names each
such record on one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inspect_fixtures import make_build, run_cli

from avsynth.errors import ManifestError
from avsynth.inspection import export_avsbench, verify_report
from avsynth.manifest import iter_manifest

UNSAFE = ["../../..../tmp/x", "/tmp/abs", "a/b", "a\\b", "nul\x00byte", "..", ".", ""]
# Where each checked field lives in a record (the dotted name the error message uses).
FIELDS = [
    ("id",),
    ("category",),
    ("audio", "label"),
    ("audio", "youtube_id"),
    ("audio", "subset"),
    ("image", "subset"),
    ("image", "source_id"),
    ("mask", "source_id"),
]


def _rewrite(manifest: Path, line: int, keys: tuple[str, ...], value: str) -> None:
    """Set ``keys`` of record ``line`` (1-based) to ``value``, keeping the other lines."""
    lines = manifest.read_text(encoding="utf-8").splitlines()
    d = json.loads(lines[line - 1])
    target = d
    for k in keys[:-1]:
        target = target[k]
    target[keys[-1]] = value
    lines[line - 1] = json.dumps(d)
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return make_build(tmp_path_factory.mktemp("pc") / "b")


@pytest.mark.parametrize("keys", FIELDS, ids=[".".join(k) for k in FIELDS])
@pytest.mark.parametrize("value", UNSAFE, ids=repr)
def test_reading_rejects_unsafe_path_components(build, tmp_path, keys, value):
    m = tmp_path / "manifest.jsonl"
    m.write_bytes(build.read_bytes())
    _rewrite(m, 3, keys, value)
    with pytest.raises(ManifestError) as e:
        list(iter_manifest(m))
    msg = str(e.value)
    assert f"manifest.jsonl:3: {'.'.join(keys)} {value!r}" in msg, msg
    assert "\n" not in msg


def test_safe_labels_with_commas_spaces_and_mids_still_read(build, tmp_path):
    m = tmp_path / "manifest.jsonl"
    m.write_bytes(build.read_bytes())
    _rewrite(m, 1, ("audio", "label"), "playing violin, fiddle (solo)...")
    _rewrite(m, 2, ("mask", "source_label"), "/m/0bt9lr")  # Open Images MIDs hold slashes
    ts = list(iter_manifest(m))
    assert ts[0].audio.label == "playing violin, fiddle (solo)..."
    assert ts[1].mask.source_label == "/m/0bt9lr"


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_export_refuses_traversing_label_and_writes_nothing_outside(tmp_path, monkeypatch, capsys):
    root = tmp_path / "work"
    m = make_build(root / "b")
    _rewrite(m, 1, ("audio", "label"), "../../../../../x")
    before = _files_under(tmp_path)
    code, _, err = run_cli(
        monkeypatch, capsys, "export-avsbench", m, "--out", root / "o", "--quiet"
    )
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "audio.label" in lines[0] and "manifest.jsonl:1" in lines[0]
    assert _files_under(tmp_path) == before  # nothing written anywhere


@pytest.mark.parametrize("label", ["..,x", " .. , y", ", empty before the comma"])
def test_export_refuses_a_category_that_is_not_a_file_name(tmp_path, label):
    """A label safe as text can still spell an unusable S4 category (``..``, empty)."""
    m = make_build(tmp_path / "b")
    _rewrite(m, 4, ("audio", "label"), label)
    t = list(iter_manifest(m))[3]
    with pytest.raises(ManifestError, match=rf"triplet {t.id}: .*cannot be a folder name"):
        export_avsbench(m, tmp_path / "o", progress=False)
    assert not (tmp_path / "o" / "Single-source").exists()  # checked before any file


def test_verify_names_each_unsafe_record_and_checks_the_rest(tmp_path, monkeypatch, capsys):
    m = make_build(tmp_path / "b")
    _rewrite(m, 2, ("audio", "label"), "../../tmp/x")
    _rewrite(m, 7, ("id",), "a/b")
    _rewrite(m, 9, ("mask", "path"), "../outside.png")
    (tmp_path / "b" / "images" / "bus-03.jpg").unlink()  # an ordinary problem on line 12
    r = verify_report(m, progress=False)
    unsafe = [p for p in r.problems if "unusable record" in p]
    assert [p.split(":")[1] for p in unsafe] == ["2", "7", "9"], r.problems
    assert "audio.label '../../tmp/x'" in unsafe[0] and "[triplet dog-01]" in unsafe[0]
    assert "id 'a/b'" in unsafe[1] and "[triplet a/b]" in unsafe[1]
    assert "mask.path '../outside.png'" in unsafe[2] and "[triplet bus-00]" in unsafe[2]
    assert any("bus-03.jpg: image file missing" in p for p in r.problems)
    assert len(r.problems) == 4, r.problems
    assert r.counts["triplets"] == 9  # the three unusable records are not checked further
    code, out, _ = run_cli(monkeypatch, capsys, "verify", m, "--quiet")
    assert code == 1
    assert out.strip().splitlines()[:-1] == r.problems


def test_avsbench_meta_names_cannot_leave_the_data_folder(tmp_path, capsys):
    from _train_helpers import write_avsbench

    from avsmodel.data.avsbench import locate, read_meta
    from avsmodel.errors import DataError

    base = write_avsbench(tmp_path)
    meta, _ = locate(base, "s4")
    rows = meta.read_text().splitlines()
    rows[2] = "../../../etc,0,dog_barking,train"
    meta.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"s4_meta_data.csv:3: name '../../../etc'"):
        read_meta(meta, "s4")
    rows[2] = "vid001,0,../x,train"
    meta.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"s4_meta_data.csv:3: category '../x'"):
        read_meta(meta, "s4")


def test_verify_refuses_sidecar_input_names_outside_the_source_root(tmp_path):
    """build_info.json names the metadata files a plan-only build read: inside their root."""
    import avsynth
    from avsynth.testing.world import make_world

    w = make_world(tmp_path / "world", n_lvis_images=24, n_openimages_images=4,
                   clips_per_label=10, image_size=32, clip_seconds=1.0,
                   full_vocabulary=False)  # fmt: skip
    plan = avsynth.build(
        w.write_category_map(tmp_path / "map.yaml"), out=tmp_path / "plan", plan_only=True,
        vggsound=w.vggsound_root, lvis=w.lvis_root, split_sizes=(4, 1, 1), clip_seconds=1.0,
        progress=False,
    )  # fmt: skip
    sidecar = plan.manifest.parent / "build_info.json"
    info = json.loads(sidecar.read_text())
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    rel = "../" * len(w.lvis_root.resolve().parts) + str(outside.resolve()).lstrip("/")
    info["inputs"]["lvis"][rel] = {"bytes": 2, "blake2b": "0" * 64}
    sidecar.write_text(json.dumps(info))
    problems = verify_report(plan.manifest, progress=False).problems
    assert problems == [
        f"{sidecar}: build_info.json inputs.lvis: file name {rel!r} escapes its root"
    ], problems
