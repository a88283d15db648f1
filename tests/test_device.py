"""Device requests (``--device auto|cpu|cuda|cuda:N``, ``device=``) and checkpoints that
load across devices; all on the CPU (the GPU count is monkeypatched where it matters)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from avsmodel.cli import app
from avsmodel.device import resolve_device
from avsmodel.errors import ConfigError

HAS_CUDA = torch.cuda.is_available()


def fake_gpus(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """Make torch report ``count`` GPUs (0: none)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


def torchrun_env(monkeypatch: pytest.MonkeyPatch, world: int | None, local: int = 0) -> None:
    for k in ("WORLD_SIZE", "LOCAL_RANK", "RANK"):
        monkeypatch.delenv(k, raising=False)
    if world is not None:
        monkeypatch.setenv("WORLD_SIZE", str(world))
        monkeypatch.setenv("LOCAL_RANK", str(local))
        monkeypatch.setenv("RANK", str(local))


# (request, GPUs, torchrun (world, local rank) or None, expected device)
TABLE = [
    ("auto", 0, None, "cpu"),
    (None, 0, None, "cpu"),
    ("cpu", 0, None, "cpu"),
    ("cpu", 4, None, "cpu"),
    ("auto", 2, None, "cuda:0"),
    ("cuda", 2, None, "cuda:0"),
    ("cuda:1", 2, None, "cuda:1"),
    ("CUDA:1", 2, None, "cuda:1"),
    ("auto", 4, (4, 3), "cuda:3"),
    ("cuda", 4, (4, 2), "cuda:2"),
    ("auto", 0, (2, 1), "cpu"),
    ("cpu", 4, (4, 3), "cpu"),
]


@pytest.mark.parametrize(("spec", "gpus", "run", "expected"), TABLE)
def test_resolution_table(monkeypatch, spec, gpus, run, expected) -> None:
    fake_gpus(monkeypatch, gpus)
    torchrun_env(monkeypatch, *(run or (None,)))
    assert resolve_device(spec) == expected


# (request, GPUs, torchrun, words the one-line error must hold)
REFUSED = [
    ("cuda", 0, None, "CUDA is not available"),
    ("cuda:0", 0, None, "CUDA is not available"),
    ("cuda:2", 2, None, "GPU 2 does not exist"),
    ("cuda", 2, (4, 3), "GPU 3 does not exist"),
    ("cuda:1", 4, (2, 0), "each process takes its LOCAL_RANK GPU"),
    ("cuda:x", 2, None, "use auto, cpu, cuda or cuda:N"),
    ("gpu", 2, None, "use auto, cpu, cuda or cuda:N"),
    ("cpu:0", 2, None, "use auto, cpu, cuda or cuda:N"),
    ("", 2, None, "use auto, cpu, cuda or cuda:N"),
]


@pytest.mark.parametrize(("spec", "gpus", "run", "words"), REFUSED)
def test_refusals_are_one_line(monkeypatch, spec, gpus, run, words) -> None:
    fake_gpus(monkeypatch, gpus)
    torchrun_env(monkeypatch, *(run or (None,)))
    with pytest.raises(ConfigError) as e:
        resolve_device(spec)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_init_distributed_takes_the_local_rank_gpu(monkeypatch) -> None:
    # One process with LOCAL_RANK set (as torchrun's single-node launch with one process
    # would): no process group is joined; CUDA's current device follows the resolution.
    from avsmodel import distributed

    fake_gpus(monkeypatch, 2)
    torchrun_env(monkeypatch, None)
    chosen: list[torch.device] = []
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: chosen.append(torch.device(d)))
    info = distributed.init_distributed("cuda:1")
    assert info.device == "cuda:1" and not info.distributed
    assert chosen == [torch.device("cuda:1")]
    assert distributed.init_distributed("cpu").device == "cpu" and len(chosen) == 1


@pytest.mark.parametrize("command", ["train", "eval", "predict"])
def test_help_lists_the_device_choices(command) -> None:
    r = CliRunner().invoke(app, [command, "--help"], terminal_width=240, env={"COLUMNS": "240"})
    assert r.exit_code == 0, r.output
    line = next(x for x in r.output.splitlines() if re.search(r"^│\s+--device\s", x))
    assert "<auto|cpu|cuda|cuda:N>" in line, line


ARGS = {
    "train": ["train", "m.jsonl", "--model", "sama_avs_tiny", "--out", "o"],
    "eval": ["eval", "best.pt", "--manifest", "m.jsonl"],
    "predict": ["predict", "best.pt", "--image", "a.png", "--audio", "a.wav", "--output", "o.png"],
}


@pytest.mark.parametrize("command", ["train", "eval", "predict"])
def test_malformed_device_is_a_usage_error(command) -> None:
    r = CliRunner().invoke(app, [*ARGS[command], "--device", "cuda:x"])
    assert r.exit_code == 2
    assert "Invalid value for '--device'" in r.output and "cuda:x" in r.output


@pytest.mark.skipif(HAS_CUDA, reason="needs a machine without a GPU")
@pytest.mark.parametrize("command", ["eval", "predict"])
def test_cuda_without_a_gpu_is_one_line(command, tmp_path: Path, capsys) -> None:
    import sys

    from avsmodel.cli import main

    old, sys.argv = sys.argv, ["avsmodel", *ARGS[command], "--device", "cuda"]
    try:
        with pytest.raises(SystemExit) as e:
            main()
    finally:
        sys.argv = old
    err = capsys.readouterr().err.strip()
    assert e.value.code == 1  # a runtime failure (usage errors exit 2)
    assert (
        err
        == "error: device 'cuda': CUDA is not available here (torch sees no GPU); use --device cpu"
    )


# ----------------------------------------------------------------------------- checkpoints
def retag_storages(path: Path, device: str) -> None:
    """Rewrite a torch.save file so that every storage says it was saved on ``device``.

    ``torch.save`` records each storage's location (``'cpu'``, ``'cuda:0'``) as a pickled
    string in ``data.pkl``; a GPU run's checkpoint differs from a CPU one's exactly there.
    """
    src = zipfile.ZipFile(path)
    buf = io.BytesIO()
    old = b"X\x03\x00\x00\x00cpu"  # BINUNICODE 'cpu' (pickle protocol 2, torch's default)
    new = b"X" + len(device).to_bytes(4, "little") + device.encode()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith("/data.pkl"):
                assert old in data
                data = data.replace(old, new)
            dst.writestr(item.filename, data)
    src.close()
    path.write_bytes(buf.getvalue())


def test_checkpoint_saved_on_a_gpu_loads_on_the_cpu(tmp_path: Path) -> None:
    import avsmodel
    from avsmodel.checkpoint import Checkpoint, save_checkpoint
    from avsmodel.pretrained.build import build_from_checkpoint

    torch.manual_seed(0)
    trained = avsmodel.build_model("sama_avs_tiny")
    state = {k: v + 0.25 for k, v in trained.trainable_state_dict().items()}  # "trained"
    path = tmp_path / "gpu_run.pt"
    save_checkpoint(
        path, Checkpoint(model="sama_avs_tiny", train_config={"seed": 0}, state_dict=state)
    )
    retag_storages(path, "cuda:0")
    if not HAS_CUDA:  # the file really is a GPU checkpoint: without map_location it fails here
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(path, weights_only=True)
    model, meta = build_from_checkpoint(path, device="cpu")
    params = dict(model.named_parameters())
    assert meta.model == "sama_avs_tiny"
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    for k, v in state.items():
        assert torch.equal(params[k].detach(), v), k


def test_build_model_device(monkeypatch) -> None:
    import avsmodel

    m = avsmodel.build_model("sama_avs_tiny", device="cpu")
    assert {p.device.type for p in m.parameters()} == {"cpu"}
    fake_gpus(monkeypatch, 0)
    with pytest.raises(ConfigError, match="CUDA is not available"):
        avsmodel.build_model("sama_avs_tiny", device="cuda")
