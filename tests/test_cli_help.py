"""Every command's ``--help`` shows its choices and defaults, the shared options mean one thing
everywhere (``--quiet``, ``--json``, ``--out`` a folder), and the old spellings still work with
a deprecation note."""

from __future__ import annotations

import re
from importlib import resources

import pytest
import typer
import yaml
from typer.testing import CliRunner

from avsmodel.cli import app as avsmodel_app
from avsynth.cli import app as avsynth_app

APPS = {"avsynth": avsynth_app, "avsmodel": avsmodel_app}


def help_rows(prog: str, command: str) -> dict[str, str]:
    """``--help``'s options table: option name -> its row text (continuation rows joined)."""
    r = CliRunner().invoke(
        APPS[prog], [command, "--help"], terminal_width=300, env={"COLUMNS": "300"}
    )
    assert r.exit_code == 0, r.output
    rows: dict[str, str] = {}
    current = None
    for line in r.output.splitlines():
        m = re.match(r"^│\s+\*?\s*(--[a-z-]+)\s", line)
        if m:
            current = m.group(1)
            rows[current] = line
        elif current and line.startswith("│") and line.strip("│ "):
            rows[current] += " " + line.strip("│ ")
        elif not line.startswith("│"):
            current = None
    return {k: " ".join(v.split()) for k, v in rows.items()}


def recipe(name: str, key: str):
    text = resources.files("avsmodel.configs").joinpath(f"{name}.yaml").read_text("utf-8")
    return yaml.safe_load(text)[key]


CHOICES = [
    ("avsynth", "build", "--on-error", ["raise", "skip"]),
    ("avsynth", "build", "--allocation", ["balanced", "proportional"]),
    ("avsynth", "build", "--silent-audio", ["keep", "skip"]),
    ("avsynth", "export-avsbench", "--subset", ["s4", "ms3"]),
    ("avsynth", "export-avsbench", "--split", ["train", "val", "test"]),
    ("avsynth", "inspect", "--split", ["train", "val", "test"]),
    ("avsmodel", "train", "--subset", ["s4", "ms3"]),
    ("avsmodel", "train", "--device", ["auto", "cpu", "cuda", "cuda:N"]),
    ("avsmodel", "eval", "--device", ["auto", "cpu", "cuda", "cuda:N"]),
    ("avsmodel", "eval", "--autocast", ["none", "bf16", "fp16"]),
    ("avsmodel", "predict", "--device", ["auto", "cpu", "cuda", "cuda:N"]),
    ("avsmodel", "eval", "--subset", ["s4", "ms3"]),
    ("avsmodel", "eval", "--audio", ["matched", "mismatched"]),
    ("avsmodel", "eval", "--oracle", ["everything", "multimask"]),
    ("avsmodel", "eval", "--score-size", ["ground_truth", "input"]),
    ("avsmodel", "eval", "--split", ["train", "val", "test"]),
]


@pytest.mark.parametrize(("prog", "command", "option", "values"), CHOICES)
def test_help_lists_every_choice(prog, command, option, values) -> None:
    row = help_rows(prog, command)[option]
    assert f"<{'|'.join(values)}>" in row, row


def test_download_help_lists_the_weight_names() -> None:
    import sys

    import avsmodel

    names = sys.modules[avsmodel.download.__module__].names  # wherever the hub module lives

    r = CliRunner().invoke(avsmodel_app, ["download", "-h"], env={"COLUMNS": "300"})
    listed = re.search(r"list\[(sam_vit_b[|a-z_]*)\]", r.output)
    assert listed is not None, r.output
    assert sorted(listed.group(1).split("|")) == names()


def test_bad_silent_audio_names_the_flag(tmp_path) -> None:
    r = CliRunner().invoke(
        avsynth_app,
        ["build", "--categories", "46", "--vggsound", "v", "--out", str(tmp_path / "o"),
         "--silent-audio", "drop"],
    )  # fmt: skip
    assert r.exit_code == 2
    assert "--silent-audio" in r.output and "silent_audio" not in r.output


@pytest.mark.parametrize(
    ("option", "key"),
    [
        ("--epochs", "epochs"),
        ("--batch-size", "batch_size"),
        ("--lr", "lr"),
        ("--loader-workers", "workers"),
        ("--seed", "seed"),
    ],
)
def test_train_help_gives_the_recipe_defaults(option, key) -> None:
    row = help_rows("avsmodel", "train")[option]
    want = f"paper.yaml: {recipe('paper', key)}, tiny.yaml: {recipe('tiny', key)}"
    assert f"from the recipe ({want})" in row, row


def test_eval_help_gives_the_batch_size_default() -> None:
    row = help_rows("avsmodel", "eval")["--batch-size"]
    assert "val_batch_size" in row
    assert f"paper.yaml: {recipe('paper', 'val_batch_size')}" in row, row
    assert f"tiny.yaml: {recipe('tiny', 'val_batch_size')}" in row, row


PLAIN_DEFAULTS = [
    ("avsynth", "build", "--seed", "0"),
    ("avsynth", "build", "--workers", "1"),
    ("avsynth", "build", "--split-sizes", "52609,5000,5000"),
    ("avsynth", "build", "--silent-audio", "keep"),
    ("avsynth", "export-avsbench", "--subset", "s4"),
    ("avsmodel", "eval", "--loader-workers", "0"),
    ("avsmodel", "eval", "--split", "test"),
    ("avsmodel", "demo", "--out", "demo_out"),
]


@pytest.mark.parametrize(("prog", "command", "option", "default"), PLAIN_DEFAULTS)
def test_help_shows_defaults(prog, command, option, default) -> None:
    assert f"[default: {default}]" in help_rows(prog, command)[option]


QUIET = {
    "avsynth": ["build", "check-map", "export-avsbench", "import-release", "inspect", "stats",
                "verify"],
    "avsmodel": ["train", "eval", "predict", "params", "import-checkpoint", "download", "demo"],
}  # fmt: skip
JSON = {
    "avsynth": ["verify", "check-map", "build"],
    "avsmodel": ["eval", "params", "download", "predict"],
}


@pytest.mark.parametrize(("prog", "command"), [(p, c) for p, cs in QUIET.items() for c in cs])
def test_quiet_everywhere(prog, command) -> None:
    assert "--quiet" in help_rows(prog, command)


@pytest.mark.parametrize(("prog", "command"), [(p, c) for p, cs in JSON.items() for c in cs])
def test_json_where_a_summary_is_printed(prog, command) -> None:
    assert "--json" in help_rows(prog, command)


def test_out_is_always_a_folder() -> None:
    """Wherever ``--out`` exists it names a folder; file outputs are ``--output``."""
    seen = 0
    for prog, app in APPS.items():
        for name in typer.main.get_command(app).commands:  # type: ignore[attr-defined]
            row = help_rows(prog, name).get("--out")
            if row is not None:
                seen += 1
                assert re.search(r"folder|Folder", row), (name, row)
    assert seen >= 7
    assert "--output" in help_rows("avsmodel", "predict")
    assert "--output" in help_rows("avsmodel", "import-checkpoint")


def test_workers_means_worker_processes_and_loader_workers_is_apart() -> None:
    for prog, command in [("avsynth", "build"), ("avsynth", "import-release"),
                          ("avsynth", "inspect")]:  # fmt: skip
        assert "--loader-workers" not in help_rows(prog, command)
        assert re.search(r"[Pp]rocesses", help_rows(prog, command)["--workers"])
    for command in ("train", "eval"):
        rows = help_rows("avsmodel", command)
        assert "--workers" not in rows and "DataLoader" in rows["--loader-workers"]


@pytest.mark.parametrize(
    ("args", "note"),
    [
        (["predict", "none.pt", "--image", "i.png", "--audio", "a.wav", "--out", "m.png"],
         "note: --out is deprecated; use --output"),
        (["import-checkpoint", "none.pth", "--out", "x.pt"],
         "note: --out is deprecated; use --output"),
        (["train", "none.jsonl", "--model", "sama_avs_tiny", "--out", "RUN", "--workers", "0"],
         "note: --workers is deprecated; use --loader-workers"),
        (["eval", "none.pt", "--manifest", "none.jsonl", "--workers=0"],
         "note: --workers is deprecated; use --loader-workers"),
    ],
)  # fmt: skip
def test_old_spellings_still_parse_and_warn(args, note, tmp_path, monkeypatch) -> None:
    """The old spelling is accepted (the run gets past parsing to the library's own error about
    the missing input, exit 1, not a usage error) and a note says what to write instead."""
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(avsmodel_app, [a.replace("RUN", str(tmp_path / "r")) for a in args])
    assert r.exit_code == 1, r.output
    assert r.exception is not None and type(r.exception).__name__.endswith("Error")
    assert r.stderr.splitlines()[0] == note


def test_help_lists_deprecated_spellings() -> None:
    r = CliRunner().invoke(avsmodel_app, ["download", "-h"], env={"COLUMNS": "300"})
    assert "Deprecated spellings, still accepted: --dir (use --out)." in r.output


def test_predict_json_and_quiet(monkeypatch, tmp_path) -> None:
    """``predict --json`` prints the library's result as JSON; ``--quiet`` prints nothing."""
    import json
    from pathlib import Path

    import avsmodel.inference

    result = {"mask": Path("m.png"), "overlay": None, "area_fraction": 0.25, "model": "x"}
    monkeypatch.setattr(avsmodel.inference, "predict", lambda *a, **k: result)
    args = ["predict", "c.pt", "--image", "i.png", "--audio", "a.wav", "--output", "m.png"]
    r = CliRunner().invoke(avsmodel_app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"mask": "m.png", "overlay": None, "area_fraction": 0.25,
                                    "model": "x"}  # fmt: skip
    r = CliRunner().invoke(avsmodel_app, [*args, "--quiet"])
    assert r.exit_code == 0 and r.stdout == ""


ALL_COMMANDS = [
    (prog, name)
    for prog, app in APPS.items()
    for name in typer.main.get_command(app).commands  # type: ignore[attr-defined]
]


@pytest.mark.parametrize(("prog", "command"), ALL_COMMANDS)
def test_every_option_shows_its_default_and_choices(prog, command) -> None:
    """Generic over every command: an option with a default shows it, a choice option lists
    every value its enum holds."""
    import enum
    import typing

    cmd = typer.main.get_command(APPS[prog]).commands[command]  # type: ignore[attr-defined]
    rows = help_rows(prog, command)
    for p in cmd.params:
        if p.param_type_name != "option" or getattr(p, "hidden", False):
            continue
        row = rows[p.opts[0]]
        annotation = p.type_descriptor.annotation
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        kind = args[0] if args else annotation
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            assert "<" + "|".join(m.value for m in kind) + ">" in row, row
        default = p.default
        if default is None or p.is_flag or getattr(p, "count", False):
            continue
        shown = default.value if isinstance(default, enum.Enum) else default
        assert f"[default: {shown}]" in row, row
