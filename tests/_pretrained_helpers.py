"""Trained tiny checkpoints shared by the Predictor and pretrained-folder tests.

Training is the slow part (~20 s per model on CPU), so each model is trained once per test
session, in the session's base temporary folder, on one small generated world.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from _train_helpers import make_manifest

#: A few epochs at a higher rate: enough that masks are neither empty nor full.
TRAIN = dict(epochs=5, batch_size=4, val_batch_size=8, workers=0, lr=3e-3, progress=False)


def world(factory: pytest.TempPathFactory) -> Path:
    """The shared manifest (train 16, val 4, test 6)."""
    root = factory.getbasetemp() / "pretrained_world"
    manifest = root / "manifest.jsonl"
    if not manifest.exists():
        make_manifest(root, n={"train": 24, "val": 4, "test": 6})
    return manifest


def trained(factory: pytest.TempPathFactory, model: str) -> Path:
    """``best.pt`` of ``model`` trained on :func:`world` (trained on first use)."""
    from avsmodel.training import train

    out = factory.getbasetemp() / f"pretrained_run_{model}"
    if not (out / "best.pt").exists():
        train(world(factory), model=model, out=out, **TRAIN)
    return out / "best.pt"


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``avsmodel ARGS`` in-process through the real entry point."""
    from avsmodel.cli import main

    old = sys.argv
    sys.argv = ["avsmodel", *args]
    code = 0
    try:
        main()
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.argv = old
    out, err = capsys.readouterr()
    return code, out, err
