"""The documentation: the site builds with ``mkdocs build --strict`` (every page, the CLI
reference generated from the commands, the API reference from the docstrings), the committed
CLI reference is current and complete, and CITATION.cff is valid CFF 1.2.0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from cli_reference import reference  # noqa: E402

from avsmodel.cli import app as avsmodel_app  # noqa: E402
from avsynth.cli import app as avsynth_app  # noqa: E402


def test_committed_cli_reference_is_current() -> None:
    text = (ROOT / "docs" / "cli-reference.md").read_text("utf-8")
    hint = "regenerate: python scripts/cli_reference.py > docs/cli-reference.md"
    assert text == reference(), hint


def test_cli_reference_has_every_command_and_option() -> None:
    text = reference()
    n = 0
    for prog, app in (("avsynth", avsynth_app), ("avsmodel", avsmodel_app)):
        group = typer.main.get_command(app)
        for name, cmd in group.commands.items():  # type: ignore[attr-defined]
            section = text.split(f"### `{prog} {name}`\n", 1)[1].split("\n### ", 1)[0]
            for p in cmd.params:
                if getattr(p, "hidden", False):
                    continue
                for opt in p.opts if p.param_type_name == "option" else [p.name.upper()]:
                    assert f"`{opt}`" in section, (prog, name, opt)
                    n += 1
    assert n > 100


def test_citation_cff_is_valid_and_cites_the_paper() -> None:
    cff = ROOT / "CITATION.cff"
    exe = Path(sys.executable).with_name("cffconvert")
    r = subprocess.run([str(exe), "--validate", "-i", str(cff)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    d = yaml.safe_load(cff.read_text("utf-8"))
    assert d["cff-version"] == "1.2.0" and {"message", "title", "authors"} <= set(d)
    (paper,) = d["references"]
    assert paper["title"] == "Annotation-free Audio-Visual Segmentation"
    assert paper["year"] == 2024 and "WACV" in paper["conference"]["name"]
    names = [f"{a['given-names']} {a['family-names']}" for a in paper["authors"]]
    assert names == ["Jinxiang Liu", "Yu Wang", "Chen Ju", "Chaofan Ma", "Ya Zhang", "Weidi Xie"]


def test_version_is_written_only_in_pyproject() -> None:
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    for path in [*ROOT.joinpath("avsynth").rglob("*.py"), *ROOT.joinpath("avsmodel").rglob("*.py")]:
        assert f'"{version}"' not in path.read_text("utf-8"), path


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    site = tmp_path / "site"
    cli = (site / "cli-reference" / "index.html").read_text("utf-8")
    assert "avsmodel download" in cli and "silent-audio" in cli
    api = (site / "api-reference" / "index.html").read_text("utf-8")
    assert "Fetch official weight files" in api  # avsmodel.download's docstring
    assert "demo_grid.jpg" in (site / "demo" / "index.html").read_text("utf-8")
    for picture in ("demo_grid.jpg", "demo_curves.png"):
        assert (site / "img" / picture).is_file()
