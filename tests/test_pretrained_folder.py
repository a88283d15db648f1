"""Pretrained folders: exact round trips, deterministic bytes, `eval DIR` == `eval CKPT`,
adapters-only folders that load with the official files, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from _pretrained_helpers import run_cli
from _train_helpers import make_manifest

import avsmodel
from avsmodel.checkpoint import Checkpoint, save_checkpoint
from avsmodel.errors import CheckpointError
from avsmodel.modeling.sam_parts import SamParts
from avsmodel.pretrained.build import build_from_checkpoint, parameter_counts
from avsmodel.pretrained.folder import pretrained_tensors
from avsmodel.pretrained.registry import get_config
from avsmodel.recipe import load_config
from avsynth.storage.atomic import file_sha256

FILES = ("model.safetensors", "config.json", "README.md")


def craft(path: Path, name: str, *, noise_seed: int = 7, sam: Path | None = None, **arch) -> Path:
    """A run checkpoint of ``name`` with perturbed trainable weights (no training needed)."""
    cfg = load_config(name)
    torch.manual_seed(cfg.seed)
    net = avsmodel.build_model(name, sam_checkpoint=sam, **arch, **cfg.model)
    g = torch.Generator().manual_seed(noise_seed)
    state = {
        k: v + 0.05 * torch.randn(v.shape, generator=g)
        for k, v in net.trainable_state_dict().items()
    }
    ck = Checkpoint(
        model=name,
        model_overrides=dict(arch),
        run_options=net.run.to_dict(),
        model_config=net.config.to_dict(),
        train_config=cfg.to_dict(),
        data={"kind": "manifest", "manifest": "/data/x/manifest.jsonl", "sha256": "ab" * 32},
        sam_checkpoint=None if sam is None else str(sam),
        epoch=3,
        best_miou=0.5,
        best_epoch=2,
        metrics={"val_miou": 0.5, "val_fscore": 0.6},
        state_dict=state,
    )
    save_checkpoint(path, ck)
    return path


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("m"), n={"train": 2, "val": 2, "test": 6})


@pytest.fixture(scope="module")
def tiny_sam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SAM in the official key layout (what sam_vit_*.pth holds, at tiny sizes)."""
    torch.manual_seed(123)
    path = tmp_path_factory.mktemp("sam") / "sam_tiny.pth"
    torch.save(SamParts(get_config("sama_avs_tiny")).state_dict(), path)
    return path


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return model.state_dict()


def _assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = _state(a), _state(b)
    assert set(sa) == set(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


@pytest.mark.parametrize("name", ["sama_avs_tiny", "ap_sam_tiny"])
def test_full_folder_round_trips_every_tensor(name, tmp_path) -> None:
    from safetensors import safe_open

    ckpt = craft(tmp_path / "best.pt", name)
    folder = avsmodel.export_pretrained(ckpt, tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    ref, _ = build_from_checkpoint(ckpt)
    _assert_same_state(avsmodel.from_pretrained(folder), ref)
    # Read with safetensors' own reader: every tensor of the model, by value.
    with safe_open(folder / "model.safetensors", framework="pt") as f:
        assert set(f.keys()) == set(ref.state_dict())
        for k, v in ref.state_dict().items():
            assert torch.equal(f.get_tensor(k), v), k
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["weights"] == "full" and cfg["model"] == name
    assert cfg["geometry"]["image_size"] == 128 and cfg["geometry"]["resize"] == "pad"
    assert cfg["data"]["manifest"] == "manifest.jsonl"  # no absolute paths
    card = (folder / "README.md").read_text()
    assert "Apache License 2.0" in card and "VGGish" in card and "0.5000" in card


def test_loading_never_unpickles(tmp_path, monkeypatch) -> None:
    ckpt = craft(tmp_path / "best.pt", "sama_avs_tiny")
    folder = avsmodel.export_pretrained(ckpt, tmp_path / "model")
    ref, _ = build_from_checkpoint(ckpt)

    def refuse(*a, **k):
        raise AssertionError("torch.load called")

    monkeypatch.setattr(torch, "load", refuse)
    _assert_same_state(avsmodel.from_pretrained(folder), ref)


def test_export_is_byte_deterministic(tmp_path) -> None:
    ckpt = craft(tmp_path / "best.pt", "ap_sam_tiny")
    a = avsmodel.export_pretrained(ckpt, tmp_path / "a")
    b = avsmodel.export_pretrained(ckpt, tmp_path / "b", adapters_only=False)
    for f in FILES:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_eval_folder_equals_eval_checkpoint(tmp_path, manifest, capsys) -> None:
    ckpt = craft(tmp_path / "best.pt", "sama_avs_tiny")
    other = craft(tmp_path / "other.pt", "sama_avs_tiny", noise_seed=8)
    code, out, err = run_cli(["export-pretrained", str(ckpt), "--out", str(tmp_path / "m")], capsys)
    assert code == 0, err
    results = []
    for target in (ckpt, tmp_path / "m", other):
        args = ["eval", str(target), "--manifest", str(manifest), "--json"]
        code, out, err = run_cli(args, capsys)
        assert code == 0, err
        r = json.loads(out)
        r.pop("checkpoint")
        results.append(r)
    assert results[0] == results[1]
    assert results[0]["n"] == 6
    assert results[0] != results[2]  # other weights score otherwise: equality means something


def test_predict_folder_equals_predict_checkpoint(tmp_path, manifest, capsys) -> None:
    ckpt = craft(tmp_path / "best.pt", "ap_sam_tiny")
    folder = avsmodel.export_pretrained(ckpt, tmp_path / "m")
    root = manifest.parent
    outs = []
    for target in (ckpt, folder):
        out = tmp_path / f"{Path(target).stem}.png"
        args = ["predict", str(target), "--image", str(root / "images" / "t0004.png")]
        args += ["--audio", str(root / "audio" / "t0004.wav"), "--out", str(out)]
        code, _, err = run_cli(args, capsys)
        assert code == 0, err
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_adapters_only_is_smaller_and_loads_with_the_official_file(tmp_path, tiny_sam) -> None:
    ckpt = craft(tmp_path / "best.pt", "sama_avs_tiny", sam=tiny_sam, train_image_encoder=False)
    full = avsmodel.export_pretrained(ckpt, tmp_path / "full")
    small = avsmodel.export_pretrained(ckpt, tmp_path / "small", adapters_only=True)
    ref, meta = build_from_checkpoint(ckpt)
    # Reference: what the official file gives back is its frozen tensors (all but trained).
    official = torch.load(tiny_sam, weights_only=True)
    given_back = set(official) - set(meta.state_dict)
    from safetensors import safe_open

    with safe_open(small / "model.safetensors", framework="pt") as f:
        stored = set(f.keys())
    assert stored == set(ref.state_dict()) - given_back
    assert set(meta.state_dict) <= stored and "image_encoder.pos_embed" not in stored
    saved = sum(official[k].numel() * official[k].element_size() for k in given_back)
    size_full = (full / "model.safetensors").stat().st_size
    size_small = (small / "model.safetensors").stat().st_size
    assert size_full - size_small >= saved  # the SAM tensors, and their header entries
    cfg = json.loads((small / "config.json").read_text())
    assert cfg["weights"] == "adapters-only"
    assert cfg["official_weights"]["sam"] == {
        "name": None,
        "file": "sam_tiny.pth",
        "sha256": file_sha256(tiny_sam),
    }
    _assert_same_state(avsmodel.from_pretrained(small, sam_checkpoint=tiny_sam), ref)
    _assert_same_state(avsmodel.from_pretrained(full), ref)  # full: no file needed


def test_adapters_only_refuses_missing_or_other_official_files(tmp_path, tiny_sam) -> None:
    ckpt = craft(tmp_path / "best.pt", "sama_avs_tiny", sam=tiny_sam, train_image_encoder=False)
    small = avsmodel.export_pretrained(ckpt, tmp_path / "small", adapters_only=True)
    with pytest.raises(CheckpointError) as e:
        avsmodel.from_pretrained(small)
    assert "sam_tiny.pth" in str(e.value) and "--sam-checkpoint" in str(e.value)
    torch.manual_seed(5)
    other = tmp_path / "other_sam.pth"
    torch.save(SamParts(get_config("sama_avs_tiny")).state_dict(), other)
    with pytest.raises(CheckpointError) as e:
        avsmodel.from_pretrained(small, sam_checkpoint=other)
    assert "SHA-256 differs" in str(e.value) and "\n" not in str(e.value)


def test_vit_h_adapters_only_is_tens_of_megabytes() -> None:
    """Sizes computed on the meta device (no memory): ViT-H with VGGish."""
    with torch.device("meta"):
        net = avsmodel.build_model("sama_avs_vit_h")
    ck = Checkpoint(
        model="sama_avs_vit_h",
        train_config={},
        sam_checkpoint="sam_vit_h_4b8939.pth",
        vggish_checkpoint="vggish-10086976.pth",
        state_dict={n: p for n, p in net.trainable_parameters()},
    )

    def nbytes(d: dict) -> int:
        return sum(t.numel() * t.element_size() for t in d.values())

    small = nbytes(pretrained_tensors(net, ck, adapters_only=True))
    full = nbytes(pretrained_tensors(net, ck, adapters_only=False))
    assert small == 4 * parameter_counts("sama_avs_vit_h").trainable
    assert small < 40e6 and full > 2.5e9


def _edit(folder: Path, change) -> None:
    cfg = json.loads((folder / "config.json").read_text())
    change(cfg)
    (folder / "config.json").write_text(json.dumps(cfg))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda c: c["model_config"].update(encoder_depth=4), ["model_config.encoder_depth"]),
        (lambda c: c["geometry"].update(image_size=256), ["geometry.image_size"]),
        (lambda c: c.update(model="ap_sam_tiny"), ["model_config.family"]),
        (lambda c: c.pop("trainable"), ["missing key 'trainable'"]),
        (lambda c: c.update(weights="half"), ["weights 'half' unknown"]),
        (lambda c: c["trainable"].append("adapters.nope"), ["'adapters.nope'"]),
    ],
)
def test_tampered_config_is_one_line(tmp_path, manifest, capsys, change, words) -> None:
    ckpt = craft(tmp_path / "best.pt", "sama_avs_tiny")
    folder = avsmodel.export_pretrained(ckpt, tmp_path / "m")
    _edit(folder, change)
    code, _, err = run_cli(["eval", str(folder), "--manifest", str(manifest)], capsys)
    assert code == 1 and err.count("\n") == 1, err
    assert "config.json" in err and all(w in err for w in words), err


def test_corrupt_files_are_one_line(tmp_path, manifest, capsys) -> None:
    ckpt = craft(tmp_path / "best.pt", "sama_avs_tiny")
    folder = avsmodel.export_pretrained(ckpt, tmp_path / "m")
    text = (folder / "config.json").read_text()
    (folder / "config.json").write_text(text[:-20])
    code, _, err = run_cli(["eval", str(folder), "--manifest", str(manifest)], capsys)
    assert code == 1 and err.count("\n") == 1 and "config.json:" in err and "JSON" in err
    (folder / "config.json").write_text(text)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    code, _, err = run_cli(["eval", str(folder), "--manifest", str(manifest)], capsys)
    assert code == 1 and err.count("\n") == 1 and "model.safetensors" in err, err


def test_export_refuses_a_non_empty_out(tmp_path, capsys) -> None:
    ckpt = craft(tmp_path / "best.pt", "sama_avs_tiny")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    args = ["export-pretrained", str(ckpt), "--out", str(tmp_path / "busy")]
    code, _, err = run_cli(args, capsys)
    assert code == 1 and err.count("\n") == 1 and "not an empty folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "busy"]  # no temp left


def test_train_init_from_a_folder_equals_init_from_the_checkpoint(tmp_path, manifest) -> None:
    from avsmodel.training import train

    ckpt = craft(tmp_path / "best.pt", "sama_avs_tiny")
    folder = avsmodel.export_pretrained(ckpt, tmp_path / "m")
    kw = dict(model="sama_avs_tiny", epochs=1, batch_size=2, workers=0, progress=False)
    a = train(manifest, out=tmp_path / "a", init=ckpt, **kw).model.trainable_state_dict()
    b = train(manifest, out=tmp_path / "b", init=folder, **kw).model.trainable_state_dict()
    c = train(manifest, out=tmp_path / "c", **kw).model.trainable_state_dict()
    assert set(a) == set(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)  # the warm start mattered


def test_init_from_a_full_folder_carries_no_redundant_frozen_tensors(tmp_path, manifest) -> None:
    """The folder holds every frozen tensor; those equal to the rebuilt ones are not copied
    into the new run's checkpoints."""
    from avsmodel.training import train

    ckpt = craft(tmp_path / "best.pt", "sama_avs_tiny")
    folder = avsmodel.export_pretrained(ckpt, tmp_path / "m")
    kw = dict(model="sama_avs_tiny", epochs=1, batch_size=2, workers=0, progress=False)
    r = train(manifest, out=tmp_path / "a", init=folder, **kw)
    assert "frozen_state" not in torch.load(r.last_path, weights_only=True)
