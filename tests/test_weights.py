"""Official-layout checkpoints load completely and by value; bad files fail in one line."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
import torch

import avsmodel
from avsmodel.errors import CheckpointError, ConfigError
from avsmodel.modeling.sam_parts import SamParts
from avsmodel.modeling.vggish import VGGISH_KEYS, VGGish
from avsmodel.pretrained.registry import get_config
from avsmodel.testing import save_random_sam_checkpoint, save_random_vggish_checkpoint

FAMILIES = ("sama_avs", "ap_sam", "sam_oracle")


@pytest.fixture(scope="module")
def tiny_sam_ckpt(tmp_path_factory):
    """A tiny SAM in the official key layout (image_encoder.*, prompt_encoder.*, ...)."""
    torch.manual_seed(123)
    sd = SamParts(get_config("sama_avs_tiny")).state_dict()
    path = tmp_path_factory.mktemp("ckpt") / "sam_tiny.pth"
    torch.save(sd, path)
    return path, sd


def _sam_part_state(model) -> dict[str, torch.Tensor]:
    return {
        k: v
        for k, v in model.state_dict().items()
        if k.split(".", 1)[0] in ("image_encoder", "prompt_encoder", "mask_decoder")
    }


def _random_vggish_state(seed: int) -> dict[str, torch.Tensor]:
    """VGGish-layout tensors without the cost of nn init (72 M parameters)."""
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in VGGish().state_dict().items()}
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(s, generator=g) * 0.02 for k, s in shapes.items()}


def _empty_vggish() -> VGGish:
    with torch.device("meta"):
        m = VGGish()
    return m.to_empty(device="cpu")


def _assert_one_line(err: pytest.ExceptionInfo, *needles: str) -> None:
    msg = str(err.value)
    assert "\n" not in msg
    for n in needles:
        assert n in msg, msg


@pytest.mark.parametrize("family", FAMILIES)
def test_tiny_official_layout_loads_by_value(tiny_sam_ckpt, family):
    path, sd = tiny_sam_ckpt
    m = avsmodel.build_model(f"{family}_tiny", sam_checkpoint=path)
    got = _sam_part_state(m)
    assert set(got) == set(sd)
    for k, v in sd.items():
        assert torch.equal(got[k], v), k
    assert "prompt_encoder.no_mask_embed.weight" in got
    assert "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix" in got
    # Parts not in the checkpoint are initialised, not left as uninitialised memory.
    assert all(torch.isfinite(p).all() for p in m.parameters())
    x = torch.randn(1, 3, 128, 128)
    a = torch.randn(1, 2, 1, 96, 64)
    with torch.no_grad():
        assert torch.isfinite(m(x, a)).all()


@pytest.mark.parametrize("variant", ["vit_b", "vit_l", "vit_h"])
@pytest.mark.parametrize("family", FAMILIES)
def test_official_keys_and_shapes_match_segment_anything(family, variant):
    from segment_anything import sam_model_registry

    with torch.device("meta"):
        official = sam_model_registry[variant](checkpoint=None).state_dict()
        model = avsmodel.build_model(f"{family}_{variant}")
    ours = _sam_part_state(model)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {
        k: tuple(v.shape) for k, v in official.items()
    }
    assert "pixel_mean" not in official  # non-persistent buffer in Sam


def test_vggish_layout_and_keys():
    sd = VGGish().state_dict()
    assert tuple(sd) == VGGISH_KEYS
    assert sd["embeddings.0.weight"].shape == (4096, 12288)
    assert sd["embeddings.4.weight"].shape == (128, 4096)
    assert [sd[f"features.{i}.weight"].shape[0] for i in (0, 3, 6, 8, 11, 13)] == [
        64,
        128,
        256,
        256,
        512,
        512,
    ]


def test_vggish_matches_torchvggish():
    tv = pytest.importorskip("torchvggish.torchvggish", reason="torchvggish not installed")
    sd = _random_vggish_state(0)
    with torch.device("meta"):
        ref = tv.VGG(tv.make_layers(), postprocess=False)
    ref = ref.to_empty(device="cpu").eval()
    ref.load_state_dict(sd)
    ours = _empty_vggish().eval()
    ours.load_state_dict(sd)
    x = torch.randn(3, 1, 96, 64, generator=torch.Generator().manual_seed(1)) * 3
    with torch.no_grad():
        out = ours(x)
        torch.testing.assert_close(out, ref(x))
    assert out.shape == (3, 128) and (out >= 0).all() and out.abs().sum() > 0


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_vit_b_official_checkpoints_load_by_value(tmp_path_factory, family):
    root = tmp_path_factory.getbasetemp() / "vitb"
    root.mkdir(exist_ok=True)
    sam = root / "sam_vit_b_01ec64.pth"
    vgg = root / "vggish-10086976.pth"
    if not sam.exists():
        save_random_sam_checkpoint(sam, "vit_b", seed=1)
        save_random_vggish_checkpoint(vgg, seed=2)
    kw = {} if family == "sam_oracle" else {"vggish_checkpoint": vgg}
    m = avsmodel.build_model(f"{family}_vit_b", sam_checkpoint=sam, **kw)
    state = m.state_dict()
    sd = torch.load(sam, weights_only=True)
    assert set(_sam_part_state(m)) == set(sd)
    for k, v in sd.items():
        assert torch.equal(state[k], v), k
    if kw:
        for k, v in torch.load(vgg, weights_only=True).items():
            assert torch.equal(state[f"audio_encoder.{k}"], v), k


def test_bad_sam_checkpoints(tmp_path, tiny_sam_ckpt):
    _, sd = tiny_sam_ckpt

    def build(obj, name="bad.pth"):
        p = tmp_path / name
        torch.save(obj, p)
        return avsmodel.build_model("sama_avs_tiny", sam_checkpoint=p)

    key = "prompt_encoder.no_mask_embed.weight"
    with pytest.raises(CheckpointError) as e:
        build({k: v for k, v in sd.items() if k != key})
    _assert_one_line(e, "missing key", key)
    with pytest.raises(CheckpointError) as e:
        build({**sd, "mask_decoder.extra.weight": torch.zeros(2)})
    _assert_one_line(e, "unexpected key", "mask_decoder.extra.weight")
    with pytest.raises(CheckpointError) as e:
        build({**sd, "adapters.shared.weight": torch.zeros(2)})
    _assert_one_line(e, "unexpected key", "adapters.shared.weight")
    with pytest.raises(CheckpointError) as e:
        build({**sd, "image_encoder.pos_embed": torch.zeros(1, 8, 8, 96)})
    _assert_one_line(e, "image_encoder.pos_embed", "(1, 8, 8, 96)", "(1, 16, 16, 96)")
    with pytest.raises(CheckpointError) as e:
        build(torch.zeros(3))
    _assert_one_line(e, "not a SAM state dict")
    with pytest.raises(CheckpointError) as e:
        build({"image_encoder.x": [1, 2]})
    _assert_one_line(e, "image_encoder.x", "not a tensor")
    # pixel_mean/std (non-persistent in Sam) are accepted when they hold SAM's constants.
    m = build(
        {
            **sd,
            "pixel_mean": torch.tensor([123.675, 116.28, 103.53]).view(-1, 1, 1),
            "pixel_std": torch.tensor([58.395, 57.12, 57.375]).view(-1, 1, 1),
        }
    )
    assert torch.equal(m.state_dict()[key], sd[key])
    # A full ViT-B checkpoint does not fit the tiny model: the first mismatching key is named.
    with pytest.raises(CheckpointError, match="image_encoder"):
        with torch.device("meta"):
            official = SamParts(get_config("sama_avs_vit_b")).state_dict()
        build(
            {k: torch.zeros(v.shape) if v.numel() < 10 else v for k, v in sd.items()}
            | {
                "image_encoder.patch_embed.proj.weight": torch.zeros(
                    official["image_encoder.patch_embed.proj.weight"].shape
                )
            }
        )


def test_not_a_checkpoint(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(CheckpointError) as e:
        avsmodel.build_model("sama_avs_tiny", sam_checkpoint=junk)
    _assert_one_line(e, str(junk), "not a readable PyTorch SAM checkpoint")
    text = tmp_path / "notes.txt"
    text.write_text("hello\nworld\n")
    with pytest.raises(CheckpointError) as e:
        avsmodel.build_model("sama_avs_tiny", sam_checkpoint=text)
    _assert_one_line(e, "not a readable")
    # weights_only=True refuses arbitrary pickled objects.
    evil = tmp_path / "obj.pth"
    torch.save({"a": PurePosixPath("x")}, evil)
    with pytest.raises(CheckpointError) as e:
        avsmodel.build_model("sama_avs_tiny", sam_checkpoint=evil)
    _assert_one_line(e, "not a readable")
    with pytest.raises(CheckpointError) as e:
        avsmodel.build_model("sama_avs_tiny", sam_checkpoint=tmp_path / "missing.pth")
    _assert_one_line(e, "not found")


def test_bad_vggish_checkpoints(tmp_path):
    from avsmodel.pretrained.weights import load_vggish_weights

    small = {k: torch.zeros(1) for k in VGGISH_KEYS}  # missing/unexpected are checked first
    p = tmp_path / "v.pth"
    with torch.device("meta"):
        target = VGGish()
    torch.save({k: v for k, v in small.items() if k != "embeddings.4.bias"}, p)
    with pytest.raises(CheckpointError) as e:
        load_vggish_weights(target, p)
    _assert_one_line(e, "missing key", "embeddings.4.bias")
    torch.save({**small, "pproc.pca": torch.zeros(1)}, p)
    with pytest.raises(CheckpointError) as e:
        load_vggish_weights(target, p)
    _assert_one_line(e, "unexpected key", "pproc.pca")
    torch.save({**small, "features.0.weight": torch.zeros(32, 1, 3, 3)}, p)
    with pytest.raises(CheckpointError) as e:
        load_vggish_weights(target, p)
    _assert_one_line(e, "features.0.weight", "(32, 1, 3, 3)", "(64, 1, 3, 3)")
    # Tiny/oracle models have no VGGish to load into.
    with pytest.raises(ConfigError, match="not VGGish"):
        avsmodel.build_model("sama_avs_tiny", vggish_checkpoint=p)
    with pytest.raises(ConfigError, match="no audio encoder"):
        avsmodel.build_model("sam_oracle_vit_b", vggish_checkpoint=p)


def test_vggish_loads_by_value_into_module(tmp_path):
    from avsmodel.pretrained.weights import load_vggish_weights

    sd = _random_vggish_state(5)
    p = tmp_path / "vggish-10086976.pth"
    torch.save(sd, p)
    target = _empty_vggish()
    load_vggish_weights(target, p)
    for k, v in target.state_dict().items():
        assert torch.equal(v, sd[k]), k


def test_legacy_torch_save_format_loads(tmp_path, tiny_sam_ckpt):
    _, sd = tiny_sam_ckpt
    p = tmp_path / "legacy.pth"
    torch.save(sd, p, _use_new_zipfile_serialization=False)  # not memory-mappable
    m = avsmodel.build_model("sama_avs_tiny", sam_checkpoint=p)
    state = m.state_dict()
    assert all(torch.equal(state[k], v) for k, v in sd.items())


#: The by-value ViT-L check, run in a child process so that its ~3 GB (one model, the mapped
#: file) are returned to the system when it ends, instead of staying in pytest's own process.
_LARGE_BY_VALUE = """
import gc, hashlib, sys
import torch
from segment_anything import sam_model_registry
import avsmodel

def digest(t):
    return hashlib.sha256(t.detach().contiguous().numpy().tobytes()).hexdigest()

with torch.device("meta"):
    official = sam_model_registry["vit_l"](checkpoint=None)
sd = official.to_empty(device="cpu").state_dict()
g = torch.Generator().manual_seed(3)
with torch.no_grad():
    for v in sd.values():
        v.uniform_(-1, 1, generator=g)
path = sys.argv[1]
torch.save(sd, path)
want = {k: (tuple(v.shape), digest(v)) for k, v in sd.items()}
del sd, official
gc.collect()
m = avsmodel.build_model("sama_avs_vit_l", sam_checkpoint=path)
parts = ("image_encoder", "prompt_encoder", "mask_decoder")
got = {
    k: (tuple(v.shape), digest(v))
    for k, v in m.state_dict().items()
    if k.split(".", 1)[0] in parts
}
assert got == want, sorted(set(got) ^ set(want))[:5] or "values differ"
print("OK", len(want))
"""


@pytest.mark.slow
def test_large_official_checkpoint_loads_by_value(tmp_path):
    """A ViT-L file in segment-anything's layout (values filled cheaply, not by nn init) loads
    tensor for tensor (compared by SHA-256 per tensor; the file's state dict is freed before
    the model is built). Runs in a child process: see :data:`_LARGE_BY_VALUE`."""
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-c", _LARGE_BY_VALUE, str(tmp_path / "sam_vit_l.pth")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split()[0] == "OK" and int(r.stdout.split()[1]) > 400, r.stdout


def test_vit_h_takes_every_official_key_and_shape():
    """ViT-H is loaded by the same code as ViT-L (above, by value); here its model is checked
    against segment-anything's own ViT-H key for key and shape for shape, on the meta device
    (a by-value load would hold ~7.5 GB: the file's tensors, the model and the mapped file)."""
    from segment_anything import sam_model_registry

    with torch.device("meta"):
        official = sam_model_registry["vit_h"](checkpoint=None)
        m = avsmodel.build_model("sama_avs_vit_h")
    want = {k: tuple(v.shape) for k, v in official.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in _sam_part_state(m).items()}
    assert got == want and len(want) > 400
