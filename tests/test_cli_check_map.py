"""``avsynth check-map``: exit codes and one-line messages, in process (CliRunner on the app)
and through the console script's entry point (``python -m avsynth.cli``, no traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from avsynth.cli import app

REPO = Path(__file__).resolve().parents[1]
MAP46 = REPO / "category_maps" / "46.yaml"
# The console script's entry point, run from this checkout (cwd first on sys.path).
AVSYNTH = [sys.executable, "-m", "avsynth.cli"]
runner = CliRunner()


def test_check_map_ok():
    result = runner.invoke(app, ["check-map", str(MAP46)])
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert "\n" not in line
    assert line.startswith(f"{MAP46}: 46 categories, ")
    assert line.endswith(": OK")


def test_check_map_misspelt_label(tmp_path):
    bad = tmp_path / "46.yaml"
    bad.write_text(MAP46.read_text("utf-8").replace("dog barking", "dog barkng"), "utf-8")
    result = runner.invoke(app, ["check-map", str(bad)])
    assert result.exit_code == 1
    assert "category 'dog': 'dog barkng' is not a VGGSound label; did you mean 'dog barking'?" in (
        result.stderr
    )
    assert result.stderr.strip().endswith("1 problem")
    assert result.stdout == ""


def test_check_map_invalid_yaml(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("schema_version: 1\nname: x\ncategories: [\n", "utf-8")
    result = runner.invoke(app, ["check-map", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:4:1: invalid YAML" in result.stderr


def test_check_map_with_user_vocabulary(tmp_path):
    classes = tmp_path / "classes.csv"
    # a V6-style list: MID /m/0cmf2 was "Airplane" before V7 named it "Fixed-wing aircraft"
    classes.write_text("/m/0cmf2,Airplane\n/m/0bt9lr,Dog\n", "utf-8")
    result = runner.invoke(app, ["check-map", str(MAP46), "--openimages-classes", str(classes)])
    assert result.exit_code == 1
    assert "Open Images /m/0cmf2 is named 'Airplane'" in result.stderr
    assert "'/m/01yrx' is not an Open Images class MID" in result.stderr


def test_console_script_error_has_no_traceback(tmp_path):
    bad = tmp_path / "46.yaml"
    bad.write_text(MAP46.read_text("utf-8").replace("playing piano", "playing pianno"), "utf-8")
    proc = subprocess.run(
        [*AVSYNTH, "check-map", str(bad)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2
    assert "'playing pianno' is not a VGGSound label; did you mean 'playing piano'?" in lines[0]
    assert "Traceback" not in proc.stderr

    missing = subprocess.run(
        [*AVSYNTH, "check-map", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        f"error: {tmp_path / 'nope.yaml'}: category map not found (give a map file, or a "
        "shipped map's name: 46, xl; e.g. `avsynth check-map 46`)"
    )


def test_console_script_ok():
    proc = subprocess.run(
        [*AVSYNTH, "check-map", str(MAP46)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(": OK")


def test_shipped_map_by_name(tmp_path, monkeypatch):
    # `46` names the map packaged with avsynth, wherever the command runs; a file of that
    # name in the current folder wins; an unknown name lists the shipped ones.
    from avsynth.catmap import load_map

    monkeypatch.chdir(tmp_path)
    for name in ("46", "46.yaml"):
        result = runner.invoke(app, ["check-map", name])
        assert result.exit_code == 0, result.output
        assert result.stdout.strip().startswith(f"{name}: 46 categories, ")
        assert load_map(name).sha256 == load_map(MAP46).sha256
    (tmp_path / "46").write_text("schema_version: 1\n", "utf-8")
    result = runner.invoke(app, ["check-map", "46"])
    assert result.exit_code == 1  # the local file, which is not a complete map
    result = runner.invoke(app, ["check-map", "47"])
    assert result.exit_code != 0
    assert "47: category map not found" in str(result.exception) + result.output
    assert "shipped map's name: 46" in str(result.exception) + result.output


def _vggsound_root(tmp_path: Path, drop: str) -> Path:
    """A VGGSound root whose vggsound.csv has one clip of every shipped label but ``drop``."""
    import csv

    root = tmp_path / "vggsound"
    root.mkdir()
    shipped = REPO / "avsynth" / "data" / "vggsound_labels.tsv"
    with open(shipped, encoding="utf-8", newline="") as f:
        labels = [r["label"] for r in csv.DictReader(f, delimiter="\t")]
    assert drop in labels
    with open(root / "vggsound.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        for i, label in enumerate(x for x in labels if x != drop):
            w.writerow([f"clip{i:07d}", 0, label, "train"])
    return root


def test_check_map_takes_dataset_roots_like_build(tmp_path):
    root = _vggsound_root(tmp_path, "playing piano")
    result = runner.invoke(app, ["check-map", str(MAP46), "--vggsound", str(root)])
    assert result.exit_code == 1
    assert "'playing piano' is not a VGGSound label" in result.stderr
    assert "note:" not in result.stderr


def test_check_map_old_file_options_still_work_and_warn(tmp_path):
    root = _vggsound_root(tmp_path, "playing piano")
    new = runner.invoke(app, ["check-map", str(MAP46), "--vggsound", str(root)])
    old = runner.invoke(
        app, ["check-map", str(MAP46), "--vggsound-csv", str(root / "vggsound.csv")]
    )
    assert old.exit_code == new.exit_code == 1
    note = "note: --vggsound-csv FILE is deprecated; use --vggsound ROOT"
    assert old.stderr.splitlines()[0] == note
    assert old.stderr.splitlines()[1:] == new.stderr.splitlines()


def test_check_map_lvis_root_reads_the_val_json(tmp_path):
    import json

    root = tmp_path / "lvis"
    root.mkdir()
    cats = [{"id": 1, "name": "dog", "synset": "dog.n.01"}]
    (root / "lvis_v1_val.json").write_text(json.dumps({"categories": cats}), "utf-8")
    result = runner.invoke(app, ["check-map", str(MAP46), "--lvis", str(root)])
    assert result.exit_code == 1
    assert f"is not an LVIS category in {root / 'lvis_v1_val.json'}" in result.stderr


def test_check_map_json(tmp_path):
    import json

    result = runner.invoke(app, ["check-map", str(MAP46), "--json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["ok"] is True and d["problems"] == [] and d["categories"] == 46
    text = runner.invoke(app, ["check-map", str(MAP46)]).stdout
    assert f"{d['categories']} categories, {d['lvis']} LVIS" in text
    root = _vggsound_root(tmp_path, "playing piano")
    bad = runner.invoke(app, ["check-map", str(MAP46), "--vggsound", str(root), "--json"])
    assert bad.exit_code == 1
    assert any("'playing piano'" in p for p in json.loads(bad.stdout)["problems"])


def test_check_map_quiet_prints_nothing_when_ok():
    result = runner.invoke(app, ["check-map", str(MAP46), "--quiet"])
    assert result.exit_code == 0 and result.stdout == ""
