"""What ``train`` refuses or stops on: an existing run folder without --resume/--overwrite,
a loss that is no longer finite; and the metrics log staying strict JSON."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import pytest
from _train_helpers import make_manifest

from avsmodel.errors import ConfigError, TrainingError
from avsmodel.training import train
from avsmodel.training.plots import append_metrics, read_metrics

MODEL = "sama_avs_tiny"
FAST = dict(batch_size=4, val_batch_size=8, workers=0)


def _strict(text: str) -> list[dict]:
    def refuse(name: str) -> None:
        raise ValueError(f"bare {name} in JSON")

    return [json.loads(line, parse_constant=refuse) for line in text.splitlines()]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``avsmodel ARGS`` through the real entry point; (exit code, stderr)."""
    from avsmodel.cli import main

    old, sys.argv = sys.argv, ["avsmodel", *args]
    try:
        main()
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.argv = old
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("m"), n={"train": 8, "val": 3, "test": 3})


@pytest.mark.parametrize("marker", ["last.pt", "best.pt"])
def test_existing_run_is_refused_without_resume_or_overwrite(
    manifest: Path, tmp_path: Path, marker: str, capsys
) -> None:
    (tmp_path / marker).write_bytes(b"a finished run's checkpoint")
    with pytest.raises(ConfigError, match=rf"already holds a training run \({marker}\)"):
        train(manifest, model=MODEL, out=tmp_path, epochs=1, progress=False, **FAST)
    code, err = run_cli(["train", str(manifest), "--model", MODEL, "--out", str(tmp_path)], capsys)
    assert code == 1
    assert err.count("\n") == 1 and "use --resume to continue it or --overwrite" in err
    # Nothing was touched.
    assert (tmp_path / marker).read_bytes() == b"a finished run's checkpoint"
    with pytest.raises(ConfigError, match="not both"):
        train(manifest, model=MODEL, out=tmp_path, resume=True, overwrite=True, progress=False)


def test_non_finite_loss_stops_training_with_one_line_error(
    manifest: Path, tmp_path: Path, capsys
) -> None:
    # lr 1e3 sends the tiny model's weights far enough for the second step's loss to be NaN.
    with pytest.raises(TrainingError, match="loss is not finite"):
        train(manifest, model=MODEL, out=tmp_path / "a", epochs=2, lr=1e3, progress=False, **FAST)
    out = tmp_path / "b"
    args = ["train", str(manifest), "--model", MODEL, "--out", str(out), "--lr", "1000"]
    args += ["--batch-size", "4", "--loader-workers", "0", "--epochs", "2"]
    code, err = run_cli(args, capsys)
    assert code == 1
    # One error line (a slow machine may also show a plain progress line before it).
    lines = [x for x in err.splitlines() if not re.match(r"epoch \d+/\d+: \d+% ", x)]
    assert len(lines) == 1 and "epoch 1 step 2: the loss is not finite" in lines[0]
    assert lines[0].startswith("error: ") and err.endswith(lines[0] + "\n")
    # No weights of the diverged run were saved, as best or otherwise.
    assert not (out / "best.pt").exists() and not (out / "last.pt").exists()
    assert _strict((out / "metrics.jsonl").read_text()) == []
    # The folder holds no finished epoch, so a retry needs neither flag.
    train(manifest, model=MODEL, out=out, epochs=1, progress=False, **FAST)
    assert [r["epoch"] for r in _strict((out / "metrics.jsonl").read_text())] == [1]


def test_metrics_log_is_strict_json(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    append_metrics(path, {"epoch": 1, "train_loss": 0.5, "val_miou": math.nan, "lr": math.inf})
    assert _strict(path.read_text()) == [
        {"epoch": 1, "train_loss": 0.5, "val_miou": None, "lr": None}
    ]
    assert read_metrics(path) == [{"epoch": 1, "train_loss": 0.5, "val_miou": None, "lr": None}]
