"""Choice options are Enums: ``--help`` lists their values and other values are refused.
``--split`` lists its values too; a wrong one is refused by the library, with the splits the
data holds (tests/test_split_errors.py)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from avsmodel.cli import app as avsmodel_app
from avsynth.cli import app as avsynth_app

CASES = [
    (avsynth_app, "build", "--on-error", ["raise", "skip"]),
    (avsynth_app, "build", "--allocation", ["balanced", "proportional"]),
    (avsmodel_app, "train", "--subset", ["s4", "ms3"]),
    (avsmodel_app, "eval", "--subset", ["s4", "ms3"]),
    (avsmodel_app, "eval", "--audio", ["matched", "mismatched"]),
    (avsmodel_app, "eval", "--autocast", ["none", "bf16", "fp16"]),
]
SPLITS = [
    (avsynth_app, "export-avsbench", "--split", ["train", "val", "test"]),
    (avsynth_app, "inspect", "--split", ["train", "val", "test"]),
    (avsmodel_app, "eval", "--split", ["train", "val", "test"]),
]


@pytest.mark.parametrize(("app", "command", "option", "values"), CASES + SPLITS)
def test_help_lists_the_choices(app, command, option, values) -> None:
    r = CliRunner().invoke(app, [command, "--help"], terminal_width=240, env={"COLUMNS": "240"})
    assert r.exit_code == 0, r.output
    # the option's row of the options table (the examples above it may use the option too)
    line = next(x for x in r.output.splitlines() if re.search(rf"^│\s+{option}\s", x))
    assert f"<{'|'.join(values)}>" in line or f"[{'|'.join(values)}]" in line, line


@pytest.mark.parametrize(("app", "command", "option", "values"), CASES)
def test_other_values_are_refused(app, command, option, values, tmp_path) -> None:
    args = {
        "build": ["build", "--categories", "46", "--out", str(tmp_path / "o")],
        "export-avsbench": ["export-avsbench", "m.jsonl", "--out", str(tmp_path / "o")],
        "inspect": ["inspect", "m.jsonl"],
        "train": ["train", "--model", "sama_avs_tiny", "--out", str(tmp_path / "o")],
        "eval": ["eval", "best.pt"],
    }[command]
    r = CliRunner().invoke(app, [*args, option, "bogus"])
    assert r.exit_code == 2
    assert "Invalid value" in r.output and "bogus" in r.output
    for v in values:
        assert v in r.output
