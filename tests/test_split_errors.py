"""A wrong ``--split`` names the valid splits and the ones the data holds (issue 13 item 22).

``eval --split dev`` said "build the manifest with a dev split", after loading the model.
Now every command taking a split checks it first and says ``train, val, test`` and which of
them the manifest (or AVSBench meta CSV) holds.
"""

from __future__ import annotations

import sys

import pytest
from _train_helpers import make_manifest, write_avsbench
from inspect_fixtures import make_build, run_cli

from avsynth.errors import ManifestError
from avsynth.inspection import export_avsbench
from avsynth.manifest import ManifestWriter, read_manifest


def avsmodel(args: list, capsys) -> tuple[int, str]:
    from avsmodel.cli import main

    old = sys.argv
    sys.argv = ["avsmodel", *map(str, args)]
    try:
        main()
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.argv = old
    return code, capsys.readouterr().err


def one_line(code: int, err: str) -> str:
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def train_val(tmp_path_factory):
    return make_manifest(tmp_path_factory.mktemp("tv"), n={"train": 2, "val": 1})


def test_eval_unknown_split_names_valid_and_present(train_val, tmp_path, capsys):
    # No checkpoint is needed to see the split is wrong: it is checked first.
    code, err = avsmodel(
        ["eval", tmp_path / "none.pt", "--manifest", train_val, "--split", "dev"], capsys
    )
    line = one_line(code, err)
    assert "unknown split 'dev'" in line and "train, val or test" in line, line
    assert "manifest.jsonl has train, val" in line, line


def test_eval_absent_split_names_present(train_val, tmp_path, capsys):
    code, err = avsmodel(["eval", tmp_path / "none.pt", "--manifest", train_val], capsys)
    line = one_line(code, err)
    assert "no triplets in split 'test'" in line and "manifest.jsonl has train, val" in line


def test_eval_avsbench_unknown_split(tmp_path, capsys):
    base = write_avsbench(tmp_path)
    code, err = avsmodel(
        ["eval", tmp_path / "none.pt", "--avsbench", base, "--subset", "s4", "--split", "dev"],
        capsys,
    )
    line = one_line(code, err)
    assert "unknown split 'dev'" in line and "train, val or test" in line, line
    assert "s4_meta_data.csv has train, val, test" in line, line


def test_export_split_errors_name_present_splits(tmp_path, monkeypatch, capsys):
    m = make_build(tmp_path / "b")
    code, _, err = run_cli(monkeypatch, capsys, "export-avsbench", m, "--out", tmp_path / "o",
                           "--split", "dev")  # fmt: skip
    line = one_line(code, err)
    assert "unknown split 'dev'" in line and "manifest.jsonl has train, val, test" in line, line
    no_test = tmp_path / "no_test.jsonl"
    with ManifestWriter(no_test) as w:
        w.write_all(t for t in read_manifest(m) if t.split != "test")
    with pytest.raises(ManifestError, match=r"no triplets in split 'test' .*has train, val\)"):
        export_avsbench(no_test, tmp_path / "o", split="test", progress=False)
    assert not (tmp_path / "o").exists()


def test_inspect_unknown_split(tmp_path, monkeypatch, capsys):
    m = make_build(tmp_path / "b")
    code, _, err = run_cli(monkeypatch, capsys, "inspect", m, "--split", "dev", "--no-launch")
    line = one_line(code, err)
    assert "unknown split 'dev'" in line and "manifest.jsonl has train, val, test" in line, line
