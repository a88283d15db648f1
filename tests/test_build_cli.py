"""``avsynth build`` end to end on the demo world (real layouts from make_world)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
from typer.testing import CliRunner

from avsynth.cli import app
from avsynth.manifest import read_manifest, read_sidecar
from avsynth.testing.world import make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    w = make_world(
        root,
        n_lvis_images=40,
        n_openimages_images=40,
        clips_per_label=15,
        image_size=64,
        clip_seconds=1.0,
        missing_clips_per_label=1,
    )
    return w, w.write_category_map(root / "map.yaml")


def _args(w, cmap, out, *extra):
    return [
        "build",
        "--categories", str(cmap),
        "--vggsound", str(w.vggsound_root),
        "--lvis", str(w.lvis_root),
        "--openimages", str(w.openimages_root),
        "--out", str(out),
        "--split-sizes", "60,10,10",
        "--clip-seconds", "1.0",
        *extra,
    ]  # fmt: skip


def test_cli_build_materialises_and_summarises(world, tmp_path):
    w, cmap = world
    res = CliRunner().invoke(app, _args(w, cmap, tmp_path / "o", "--workers", "2", "--seed", "3"))
    assert res.exit_code == 0, res.output
    assert "wrote 80 triplets (train 60, val 10, test 10)" in res.output
    assert "manifest:" in res.output and "without a clip file: 6" in res.output
    ts = read_manifest(tmp_path / "o" / "manifest.jsonl")
    assert Counter(t.split for t in ts) == {"train": 60, "val": 10, "test": 10}
    assert {t.category for t in ts} == {c.name for c in w.categories}
    for t in ts:
        assert t.audio.label == next(c.vggsound_label for c in w.categories if c.name == t.category)
    info = read_sidecar(tmp_path / "o" / "manifest.jsonl")
    assert (
        info["seed"] == 3
        and info["clips_missing"] == 6
        and len(info["category_map"]["sha256"]) == 64
    )


def test_cli_plan_only(world, tmp_path):
    w, cmap = world
    res = CliRunner().invoke(app, _args(w, cmap, tmp_path / "p", "--plan-only", "--quiet"))
    assert res.exit_code == 0, res.output
    assert res.output == ""
    assert (tmp_path / "p" / "needed_clips.csv").is_file()
    assert not (tmp_path / "p" / "audio").exists()


def test_cli_user_error_is_one_line(world, tmp_path):
    w, cmap = world
    env = dict(os.environ, AVSYNTH_DEBUG="")
    env.pop("AVSYNTH_DEBUG")
    code = "from avsynth.cli import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, *_args(w, cmap, tmp_path / "e")[:-4], "--split-sizes",
         "9000,10,10"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    assert lines[-1].startswith("error: only ") and "dog=" in lines[-1]
    assert all(x.startswith("[avsynth]") for x in lines[:-1])  # stage lines before it
    assert not (tmp_path / "e" / "manifest.jsonl").exists()


def test_cli_help_lists_examples():
    res = CliRunner().invoke(app, ["build", "--help"])
    assert res.exit_code == 0
    assert "--plan-only" in res.output and "--split-sizes" in res.output


def test_cli_build_json_summary(world, tmp_path):
    import json

    w, cmap = world
    res = CliRunner().invoke(app, _args(w, cmap, tmp_path / "o", "--json"))
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    ts = read_manifest(tmp_path / "o" / "manifest.jsonl")
    assert d["written"] == dict(Counter(t.split for t in ts))
    assert d["written"] == {"train": 60, "val": 10, "test": 10}
    assert d["triplets"] == len(ts) == 80
    assert d["manifest"] == str(tmp_path / "o" / "manifest.jsonl")
    assert d["clips_missing"] == 6  # missing_clips_per_label=1 for each of the world's labels
    per_cat = Counter((t.category, t.split) for t in ts)
    assert {(c, s): n for c, v in d["counts"].items() for s, n in v.items() if n} == dict(per_cat)


def test_build_stage_messages_are_log_records(world, tmp_path, caplog):
    """The planning stages are logged (logger avsynth.planning.from_sources), so any handler
    receives them; the CLI prints them as ``[avsynth] ...`` and ``--quiet`` silences them."""
    import logging

    from avsynth import build

    w, cmap = world
    with caplog.at_level(logging.INFO, logger="avsynth"):
        build(cmap, out=tmp_path / "api", vggsound=w.vggsound_root, lvis=w.lvis_root,
              split_sizes=(60, 10, 10), plan_only=True, progress=True)  # fmt: skip
    stages = [r for r in caplog.records if r.name == "avsynth.planning.from_sources"]
    assert stages and all(r.levelno == logging.INFO for r in stages)
    assert any(r.getMessage().endswith(" ...") for r in stages)

    args = _args(w, cmap, tmp_path / "cli", "--plan-only")
    loud = CliRunner().invoke(app, args)
    assert loud.exit_code == 0, loud.output
    logged = [x for x in loud.stderr.splitlines() if x.startswith("[avsynth]")]
    assert [x.removeprefix("[avsynth] ") for x in logged[:1]] == [stages[0].getMessage()]
    quiet = CliRunner().invoke(app, _args(w, cmap, tmp_path / "q", "--plan-only", "--quiet"))
    assert quiet.exit_code == 0, quiet.output
    assert "[avsynth]" not in quiet.stderr and quiet.stdout == ""
