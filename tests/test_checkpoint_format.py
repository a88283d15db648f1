"""Checkpoints: the typed record, its layout on disk, and its place below training."""

from __future__ import annotations

import json
import subprocess
import sys


def _modules_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_importing_checkpoint_does_not_import_the_training_loop() -> None:
    loaded = _modules_after("import avsmodel.checkpoint")
    assert "avsmodel.checkpoint" in loaded  # the probe saw the import happen
    assert not {m for m in loaded if m.startswith("avsmodel.training")}


def test_evaluation_and_inference_do_not_import_the_training_loop() -> None:
    loaded = _modules_after("import avsmodel.evaluation, avsmodel.inference")
    assert {"avsmodel.evaluation.evaluate", "avsmodel.inference"} <= loaded
    assert "avsmodel.training.loop" not in loaded


def _layout(**extra: object) -> dict[str, object]:
    import torch

    # Keys in the order train writes them (avsmodel.checkpoint's module docstring).
    d: dict[str, object] = {
        "model": "sama_avs_tiny",
        "model_overrides": {"audio_examples": 1},
        "run_options": {"attention": "eager"},
        "model_config": {"name": "sama_avs_tiny"},
        "train_config": {"seed": 3},
        "data": {"kind": "manifest", "sha256": "ab"},
        "sam_checkpoint": None,
        "vggish_checkpoint": "/w/vggish.pth",
        "init": None,
        "world_size": 2,
        "frozen_state": {"pe": torch.ones(2)},
        "epoch": 4,
        "best_miou": 0.5,
        "best_epoch": 3,
        "metrics": {"val_miou": 0.4},
        "state_dict": {"w": torch.zeros(3)},
    }
    d.update(extra)
    return d


def test_typed_checkpoint_round_trips_the_dict_on_disk() -> None:
    from avsmodel.checkpoint import Checkpoint

    resume = {"optimizer": {"state": {}}, "scheduler": {"last_epoch": 7}}
    for d in (_layout(), _layout(resume=resume)):
        ck = Checkpoint.from_dict(d)
        assert list(ck.to_dict()) == list(d) and ck.to_dict() == d
    ck = Checkpoint.from_dict(_layout(resume=resume))
    assert ck.resume is not None and ck.resume.scheduler == {"last_epoch": 7}
    assert ck.world_size == 2 and ck.train_config == {"seed": 3}


def test_optional_keys_stay_absent_and_older_extras_are_dropped() -> None:
    from avsmodel.checkpoint import Checkpoint

    d = _layout()
    for k in ("world_size", "frozen_state", "best_epoch"):
        del d[k]
    assert list(Checkpoint.from_dict(d).to_dict()) == list(d)
    old = _layout(resume={"optimizer": {}, "scheduler": {}, "rng": {"torch": 1}})
    old.update(format="avsmodel-checkpoint", version=1)
    back = Checkpoint.from_dict(old).to_dict()
    assert back["resume"] == {"optimizer": {}, "scheduler": {}}
    assert "format" not in back and "version" not in back


def test_saved_checkpoint_reads_back_typed(tmp_path) -> None:
    import torch

    from avsmodel.checkpoint import Checkpoint, read_checkpoint, save_checkpoint

    save_checkpoint(tmp_path / "c.pt", Checkpoint.from_dict(_layout()))
    raw = torch.load(tmp_path / "c.pt", map_location="cpu", weights_only=True)
    assert list(raw) == ["format", "version", *_layout()]
    ck = read_checkpoint(tmp_path / "c.pt")
    assert ck.epoch == 4 and torch.equal(ck.state_dict["w"], torch.zeros(3))
    assert ck.frozen_state is not None and torch.equal(ck.frozen_state["pe"], torch.ones(2))
