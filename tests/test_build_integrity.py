"""``build`` checks everything before it touches ``--out``, and guards the folder (issue 13,
items 4, 10, 12, 13, 15, 18): a typo never costs an earlier build, an unrelated folder is never
cleaned up, two builds never share a folder, media never go through a symlinked subfolder."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest
from build_fixtures import build_tiny, tiny_map, write_sources

from avsynth.catmap.schema import CategoryMap, LvisRef, OpenImagesRef
from avsynth.errors import MapError, OutputError, PlanError
from avsynth.storage.outfolder import LOCK_FILE, MARKER

SIZES = (12, 2, 2)


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    return write_sources(tmp_path_factory.mktemp("src"), n_lvis=16, n_oi=16, clip_seconds=1.0)


def _build(roots, out, **kw):
    kw.setdefault("split_sizes", SIZES)
    kw.setdefault("clip_seconds", 1.0)
    return build_tiny(roots, out, **kw)


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _with(cmap: CategoryMap, i: int, **changes) -> CategoryMap:
    cats = list(cmap.categories)
    cats[i] = dataclasses.replace(cats[i], **changes)
    return dataclasses.replace(cmap, categories=tuple(cats))


# ------------------------------------------------------------------ item 10: map typos


def _typo_maps():
    m = tiny_map()
    return {
        "lvis": (_with(m, 0, lvis=(LvisRef("dgo", "dog.n.01"),)), "'dgo' is not an LVIS", "dog"),
        "openimages": (
            _with(m, 1, openimages=(OpenImagesRef("/m/01yrz", "Cat"),)),
            "'/m/01yrz' is not an Open Images class MID",
            "/m/01yrx",
        ),
        "vggsound": (
            _with(m, 0, vggsound=("dog barkng", "dog howling")),
            "'dog barkng' is not a VGGSound label",
            "dog barking",
        ),
    }


@pytest.mark.parametrize("source", ["lvis", "openimages", "vggsound"])
def test_map_typo_is_one_line_with_hint_for_every_source(src, tmp_path, source):
    cmap, what, hint = _typo_maps()[source]
    with pytest.raises(MapError) as e:
        _build_map(src, tmp_path / "o", cmap)
    msg = str(e.value)
    assert "\n" not in msg and what in msg and repr(hint) in msg  # did-you-mean / 'Cat' is ..
    assert not (tmp_path / "o").exists()  # the folder it would have created is gone again


def _build_map(roots, out, cmap, **kw):
    import avsynth

    return avsynth.build(
        cmap,
        out=out,
        vggsound=roots["vggsound"],
        lvis=roots["lvis"],
        openimages=roots["openimages"],
        split_sizes=SIZES,
        clip_seconds=1.0,
        progress=False,
        **kw,
    )


def test_real_label_missing_from_partial_download_is_not_an_error(src, tmp_path):
    cmap = _with(tiny_map(), 1, vggsound=("cat meowing", "cat purring"))  # no 'cat purring' rows
    r = _build_map(src, tmp_path / "o", cmap, plan_only=True)
    assert sum(r.written.values()) == sum(SIZES)


# ------------------------------------------------------------------ item 4: validate first


def test_failed_validation_keeps_previous_build(src, tmp_path):
    out = tmp_path / "o"
    _build(src, out)
    before = _snapshot(out)
    assert {"manifest.jsonl", "build_info.json", MARKER} <= {str(p) for p in before}
    cmap, _, _ = _typo_maps()["vggsound"]
    with pytest.raises(MapError):
        _build_map(src, out, cmap)
    with pytest.raises(PlanError, match="only .* usable instances"):
        _build(src, out, split_sizes=(900, 2, 2))
    assert _snapshot(out) == before


def test_unrelated_folder_is_refused_untouched(src, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.tmp").write_text("draft")
    (out / "needed_clips.csv").write_text("my,own,file\n")
    before = _snapshot(out)
    with pytest.raises(PlanError, match=r"not an avsynth build folder .*--force"):
        _build(src, out, plan_only=True)
    assert _snapshot(out) == before
    r = _build(src, out, plan_only=True, force=True)
    assert r.manifest.is_file() and (out / MARKER).is_file() and (out / "notes.tmp").is_file()
    _build(src, out, plan_only=True)  # now marked: a rebuild needs no --force


def test_out_that_is_a_file_is_refused(src, tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match=r"--out .*f: is a file, not a folder"):
        _build(src, tmp_path / "f", plan_only=True)
    assert (tmp_path / "f").read_text() == "x"


# ------------------------------------------------------------------ item 13: symlinks


def test_symlinked_media_subfolder_is_refused(src, tmp_path):
    out, elsewhere = tmp_path / "o", tmp_path / "elsewhere"
    _build(src, out, plan_only=True)
    elsewhere.mkdir()
    (out / "audio").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(PlanError, match=r"audio/ is a symbolic link"):
        _build(src, out)
    assert list(elsewhere.iterdir()) == []


# ------------------------------------------------------------------ items 15, 18: clip seconds


@pytest.mark.parametrize("bad", [0.5, 0.974, float("nan"), float("inf"), -1.0])
def test_clip_seconds_checked_before_anything(src, tmp_path, bad):
    with pytest.raises(PlanError, match=r"--clip-seconds"):
        _build(src, tmp_path / "o", clip_seconds=bad)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("bad", ["nan", "inf", "0.5"])
def test_cli_clip_seconds_is_one_line_error(src, tmp_path, bad):
    _write_map(tmp_path / "map.yaml")
    args = [a if a != "1" else bad for a in _cli(src, tmp_path / "o")]
    env = {k: v for k, v in os.environ.items() if k != "AVSYNTH_DEBUG"}
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"error: --clip-seconds {float(bad)}: must be ")
    assert not (tmp_path / "o").exists()


def test_clip_seconds_of_one_vggish_example_is_accepted(src, tmp_path):
    from avsynth.audio.logmel import MIN_SAMPLES

    r = _build(src, tmp_path / "o", clip_seconds=MIN_SAMPLES / 16000, plan_only=True)
    assert r.manifest.is_file()


# ------------------------------------------------------------------ item 12: one build at a time

_HOLD = """
import sys, time
from avsynth.storage.outfolder import OutFolderLock
with OutFolderLock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def _cli(src, out):
    return [
        sys.executable, "-c", "from avsynth.cli import main; main()", "build",
        "--categories", str(out.parent / "map.yaml"), "--vggsound", str(src["vggsound"]),
        "--lvis", str(src["lvis"]), "--openimages", str(src["openimages"]), "--out", str(out),
        "--split-sizes", "12,2,2", "--clip-seconds", "1", "--quiet", "--plan-only",
    ]  # fmt: skip


def _write_map(path):
    lines = ["schema_version: 1", "name: tiny", "categories:"]
    for c in tiny_map().categories:
        lines += [
            f"  - name: {c.name}",
            "    lvis:",
            *(f"      - {{name: {r.name}, synset: {r.synset}}}" for r in c.lvis),
            "    openimages:",
            *(f"      - {{mid: '{r.mid}', name: {r.name}}}" for r in c.openimages),
            "    vggsound:",
            *(f"      - {lab}" for lab in c.vggsound),
        ]
    path.write_text("\n".join(lines) + "\n")


def test_second_build_fails_at_once_naming_the_holder(src, tmp_path):
    out = tmp_path / "o"
    _write_map(tmp_path / "map.yaml")
    env = {k: v for k, v in os.environ.items() if k != "AVSYNTH_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), env.get("PYTHONPATH", "")])
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(out)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        t = time.monotonic()
        proc = subprocess.run(_cli(src, out), capture_output=True, text=True, env=env, timeout=60)
        assert time.monotonic() - t < 30
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert proc.stderr.strip().splitlines()[-1] == (
            f"error: --out {out} is in use by another avsynth build (pid {holder.pid}); wait "
            "for it to finish or choose another --out"
        )
        assert not (out / "manifest.jsonl").exists()
    finally:
        holder.send_signal(signal.SIGKILL)  # a killed holder releases its lock
        holder.wait()
    done = subprocess.run(_cli(src, out), capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (out / "manifest.jsonl").is_file() and not (out / LOCK_FILE).exists()
