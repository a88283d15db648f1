"""avsmodel import-checkpoint: the authors' models/sam.py key layout -> an avsmodel checkpoint.

"Their" checkpoint is written here at tiny dimensions (the sama_avs_tiny architecture with
16-pixel patches, so the decoder's masks are the model's mask size as at 1024 px), and the
imported model's output is compared with a forward written the way their code computes it:
the audio offset added to every token before each encoder block, their own random-Fourier
positional encoding, ``no_mask_embed`` as the dense prompt, no sparse prompt, single mask.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, TwoWayTransformer

from avsmodel.errors import CheckpointError
from avsmodel.modeling.audio_encoder import ConvAudioEncoder
from avsmodel.pretrained.authors_checkpoint import import_checkpoint
from avsmodel.pretrained.build import build_from_checkpoint

MODEL = "sama_avs_tiny"
OPTS = dict(patch_size=16)
DEPTH, WIDTH, HIDDEN, PROMPT, SIZE, GRID = 3, 96, 128, 64, 128, 8


def _their_parts():
    enc = ImageEncoderViT(
        depth=DEPTH, embed_dim=WIDTH, img_size=SIZE, mlp_ratio=4,
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=3, patch_size=16,
        qkv_bias=True, use_rel_pos=True, global_attn_indexes=[2], window_size=4,
        out_chans=PROMPT,
    )  # fmt: skip
    dec = MaskDecoder(
        num_multimask_outputs=3,
        transformer=TwoWayTransformer(depth=2, embedding_dim=PROMPT, mlp_dim=256, num_heads=4),
        transformer_dim=PROMPT, iou_head_depth=3, iou_head_hidden_dim=64,
    )  # fmt: skip
    return enc, dec, ConvAudioEncoder()


def their_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A checkpoint in their key layout: the modules' own init plus noise on every tensor
    (none left at a default), adapters and prompt tensors drawn at a scale that matters."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    enc, dec, audio = _their_parts()
    sd = {f"image_encoder.{k}": v for k, v in enc.state_dict().items()}
    pg = "image_encoder.prompt_generator."
    for i in range(DEPTH):
        sd[f"{pg}lightweight_mlp_{i}.0.weight"] = torch.empty(HIDDEN, 128)
        sd[f"{pg}lightweight_mlp_{i}.0.bias"] = torch.empty(HIDDEN)
    sd[f"{pg}shared_mlp.weight"] = torch.empty(WIDTH, HIDDEN)
    sd[f"{pg}shared_mlp.bias"] = torch.empty(WIDTH)
    sd.update({f"mask_decoder.{k}": v for k, v in dec.state_dict().items()})
    sd["pe_layer.positional_encoding_gaussian_matrix"] = torch.empty(2, PROMPT // 2)
    sd["no_mask_embed.weight"] = torch.empty(1, PROMPT)
    sd.update({f"audio_encoder.audio_backbone.{k}": v for k, v in audio.state_dict().items()})
    scale = {"pe_layer.": 1.0, "no_mask_embed.": 1.0, "image_encoder.prompt_generator.": 0.3}
    out = {}
    for k, v in sorted(sd.items()):
        s = next((x for p, x in scale.items() if k.startswith(p)), None)
        noise = torch.randn(v.shape, generator=g)
        out[k] = noise * s if s is not None else v + 0.05 * noise
    return out


def their_forward(sd, images, spec):
    """Their SAM.infer, written out: ``images`` Bx3xSxS, ``spec`` Bx1x96x64 -> Bx1xmxm."""
    enc, dec, audio = _their_parts()
    enc.load_state_dict(
        {k[14:]: v for k, v in sd.items() if k.startswith("image_encoder.")
         and ".prompt_generator." not in k}
    )  # fmt: skip
    dec.load_state_dict({k[13:]: v for k, v in sd.items() if k.startswith("mask_decoder.")})
    audio.load_state_dict(
        {k[29:]: v for k, v in sd.items() if k.startswith("audio_encoder.audio_backbone.")}
    )
    with torch.no_grad():
        a = audio(spec)
        pg = "image_encoder.prompt_generator."
        prompts = []
        for i in range(DEPTH):
            h = F.gelu(F.linear(a, sd[f"{pg}lightweight_mlp_{i}.0.weight"],
                                sd[f"{pg}lightweight_mlp_{i}.0.bias"]))  # fmt: skip
            prompts.append(F.linear(h, sd[f"{pg}shared_mlp.weight"], sd[f"{pg}shared_mlp.bias"]))
        x = enc.patch_embed(images) + enc.pos_embed
        b = x.shape[0]
        for i, blk in enumerate(enc.blocks):
            x = blk(prompts[i].reshape(b, 1, 1, -1) + x)
        feats = enc.neck(x.permute(0, 3, 1, 2))
        # Their PositionEmbeddingRandom over the GRID x GRID embedding.
        ones = torch.ones(GRID, GRID)
        xy = torch.stack([(ones.cumsum(1) - 0.5) / GRID, (ones.cumsum(0) - 0.5) / GRID], -1)
        c = 2 * math.pi * ((2 * xy - 1) @ sd["pe_layer.positional_encoding_gaussian_matrix"])
        pe = torch.cat([torch.sin(c), torch.cos(c)], -1).permute(2, 0, 1)[None]
        dense = sd["no_mask_embed.weight"].reshape(1, -1, 1, 1).expand(1, -1, GRID, GRID)
        sparse = torch.empty(1, 0, PROMPT)
        masks = [
            dec(image_embeddings=feats[j : j + 1], image_pe=pe, sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense, multimask_output=False)[0]
            for j in range(b)
        ]  # fmt: skip
    return torch.cat(masks)


@pytest.fixture(scope="module")
def inputs():
    g = torch.Generator().manual_seed(1)
    return torch.randn(2, 3, SIZE, SIZE, generator=g), torch.randn(2, 1, 96, 64, generator=g)


@pytest.mark.parametrize("wrap", ["plain", "module_in_model_dict"])
def test_imported_model_computes_their_forward(tmp_path, inputs, wrap):
    sd = their_state()
    saved = sd if wrap == "plain" else {"model": {f"module.{k}": v for k, v in sd.items()}}
    torch.save(saved, tmp_path / "theirs.pth")
    out = import_checkpoint(tmp_path / "theirs.pth", model=MODEL, out=tmp_path / "ours.pt", **OPTS)
    net, meta = build_from_checkpoint(out)  # what avsmodel eval / predict do
    images, spec = inputs
    with torch.no_grad():
        ours = net(images, spec[:, None])  # one example per clip, as their synthetic loader
    ref = their_forward(sd, images, spec)
    assert ours.shape == ref.shape == (2, 1, 4 * GRID, 4 * GRID)
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)
    # The comparison tells their parts apart: each of these changes the output far beyond
    # the tolerance (their own positional encoding, dense prompt, and adapter offsets).
    for key in ("pe_layer.positional_encoding_gaussian_matrix", "no_mask_embed.weight",
                "image_encoder.prompt_generator.lightweight_mlp_1.0.weight"):  # fmt: skip
        other = dict(sd, **{key: torch.randn(sd[key].shape)})
        assert (their_forward(other, images, spec) - ref).abs().max() > 1e-3
    pe = "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"
    # The rest is trainable in tiny configs, but for SAM's IoU head, which is frozen in every
    # model (no loss uses it): their values of it are kept as frozen tensors too.
    head = {k for k in net.state_dict() if k.startswith("mask_decoder.iou_prediction_head.")}
    assert head and set(meta.frozen_state) == {pe} | head


def test_frozen_encoder_by_reference_when_sam_weights_given(tmp_path, inputs):
    from avsmodel.modeling.sam_parts import SamParts
    from avsmodel.pretrained.registry import get_config

    sd = their_state()
    torch.save(sd, tmp_path / "theirs.pth")
    opts = dict(OPTS, train_image_encoder=False)
    parts = SamParts(get_config(MODEL, **opts)).state_dict()
    parts.update({k: v for k, v in sd.items() if k in {f"image_encoder.{q}" for q in
                  _their_parts()[0].state_dict()}})  # fmt: skip
    torch.save(parts, tmp_path / "sam_tiny.pth")  # official layout, their encoder's tensors
    with_ref = import_checkpoint(tmp_path / "theirs.pth", model=MODEL, out=tmp_path / "a.pt",
                                 sam_checkpoint=tmp_path / "sam_tiny.pth", **opts)  # fmt: skip
    alone = import_checkpoint(tmp_path / "theirs.pth", model=MODEL, out=tmp_path / "b.pt", **opts)
    a, meta_a = build_from_checkpoint(with_ref)
    b, meta_b = build_from_checkpoint(alone)
    assert not any(k.startswith("image_encoder.") for k in meta_a.frozen_state)
    assert any(k.startswith("image_encoder.") for k in meta_b.frozen_state)
    images, spec = inputs
    ref = their_forward(sd, images, spec)
    with torch.no_grad():
        for net in (a, b):
            torch.testing.assert_close(net(images, spec[:, None]), ref, rtol=1e-4, atol=1e-5)


def test_strict_keys_and_shapes(tmp_path):
    def run(sd):
        torch.save(sd, tmp_path / "t.pth")
        return import_checkpoint(tmp_path / "t.pth", model=MODEL, out=tmp_path / "o.pt", **OPTS)

    sd = their_state()
    with pytest.raises(CheckpointError, match="key 'decode_head.conv.weight' has no place"):
        run({**sd, "decode_head.conv.weight": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="lacks key 'no_mask_embed.weight'"):
        run({k: v for k, v in sd.items() if k != "no_mask_embed.weight"})
    bad = dict(sd)
    bad["image_encoder.prompt_generator.shared_mlp.weight"] = torch.zeros(WIDTH, HIDDEN + 1)
    with pytest.raises(CheckpointError, match=r"shared_mlp.weight' has shape \(96, 129\)"):
        run(bad)
    with pytest.raises(CheckpointError, match="weights_only"):
        run({"x": object()})
    assert not (tmp_path / "o.pt").exists()


def test_eval_takes_it_and_cli_errors_are_one_line(tmp_path, capsys):
    import sys

    from _train_helpers import make_manifest

    from avsmodel.cli import main
    from avsmodel.evaluation import evaluate

    torch.save(their_state(), tmp_path / "theirs.pth")
    out = import_checkpoint(tmp_path / "theirs.pth", model=MODEL, out=tmp_path / "ours.pt", **OPTS)
    manifest = make_manifest(tmp_path / "data", n={"train": 2, "val": 2, "test": 3})
    m = evaluate(out, manifest=manifest, split="test", progress=False)
    assert (m["n"], m["model"]) == (3, MODEL)
    from PIL import Image

    from avsmodel.inference import predict

    t = next(iter(sorted((tmp_path / "data" / "images").iterdir())))
    wav = tmp_path / "data" / "audio" / f"{t.stem}.wav"
    predict(out, t, wav, tmp_path / "mask.png")
    with Image.open(tmp_path / "mask.png") as im, Image.open(t) as src:
        assert im.size == src.size
    # Their patch-16 tensors do not fit the registered (patch-8) tiny model: one line, exit 1.
    old, sys.argv = sys.argv, ["avsmodel", "import-checkpoint", str(tmp_path / "theirs.pth"),
                               "--model", MODEL, "--output", str(tmp_path / "bad.pt")]  # fmt: skip
    try:
        with pytest.raises(SystemExit) as e:
            main()
    finally:
        sys.argv = old
    err = capsys.readouterr().err
    assert e.value.code == 1 and err.count("\n") == 1
    assert "key 'image_encoder." in err and "has shape" in err and "wrong model size" in err
    assert not (tmp_path / "bad.pt").exists()


@pytest.mark.slow
def test_vit_b_import_keeps_only_their_pe_with_official_files(tmp_path, monkeypatch):
    """Real dimensions (ViT-B, VGGish): their encoder and VGGish equal the official files, so
    the output holds the trainable parts, their positional encoding and IoU head (~30 s)."""
    from avsmodel.pretrained.authors_checkpoint import their_key_to_ours
    from avsmodel.testing import save_random_sam_checkpoint, save_random_vggish_checkpoint

    monkeypatch.setenv("AVSMODEL_HOME", str(tmp_path))  # the names resolve here
    sam = torch.load(save_random_sam_checkpoint(tmp_path / "sam_vit_b_01ec64.pth", "vit_b"),
                     weights_only=True)  # fmt: skip
    vgg = torch.load(save_random_vggish_checkpoint(tmp_path / "vggish-10086976.pth"),
                     weights_only=True)  # fmt: skip
    g = torch.Generator().manual_seed(0)
    sd = {k: v for k, v in sam.items() if k.startswith("image_encoder.")}
    sd.update({k: v + 0.01 * torch.randn(v.shape, generator=g)
               for k, v in sam.items() if k.startswith("mask_decoder.")})  # fmt: skip
    pg = "image_encoder.prompt_generator."
    for i in range(12):
        sd[f"{pg}lightweight_mlp_{i}.0.weight"] = torch.randn(512, 128, generator=g) * 0.02
        sd[f"{pg}lightweight_mlp_{i}.0.bias"] = torch.zeros(512)
    sd[f"{pg}shared_mlp.weight"] = torch.randn(768, 512, generator=g) * 0.02
    sd[f"{pg}shared_mlp.bias"] = torch.zeros(768)
    sd["pe_layer.positional_encoding_gaussian_matrix"] = torch.randn(2, 128, generator=g)
    sd["no_mask_embed.weight"] = torch.randn(1, 256, generator=g)
    sd.update({f"audio_encoder.audio_backbone.{k}": v for k, v in vgg.items()})
    torch.save({f"module.{k}": v for k, v in sd.items()}, tmp_path / "theirs.pth")
    del sam, vgg
    out = import_checkpoint(tmp_path / "theirs.pth", model="sama_avs_vit_b",
                            out=tmp_path / "ours.pt", sam_checkpoint="vit_b",
                            vggish_checkpoint="vggish")  # fmt: skip
    net, meta = build_from_checkpoint(out)
    # Their PE, and their (changed) IoU head, which is frozen in every avsmodel model.
    head = {k for k in net.state_dict() if k.startswith("mask_decoder.iou_prediction_head.")}
    assert (
        head
        and set(meta.frozen_state)
        == {"prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"} | head
    )
    assert meta.sam_checkpoint == str((tmp_path / "sam_vit_b_01ec64.pth").resolve())
    own = net.state_dict()
    assert all(torch.equal(own[their_key_to_ours(k)], v) for k, v in sd.items())
    assert out.stat().st_size < 40e6  # adapters + decoder, not the 375 MB encoder


def test_warm_start_from_an_import_keeps_their_frozen_tensors(tmp_path):
    """train --init IMPORTED carries their positional encoding into the run's checkpoints."""
    from _train_helpers import make_manifest

    from avsmodel.training import train

    sd = their_state()
    torch.save(sd, tmp_path / "theirs.pth")
    imported = import_checkpoint(tmp_path / "theirs.pth", model=MODEL, out=tmp_path / "i.pt",
                                 **OPTS)  # fmt: skip
    manifest = make_manifest(tmp_path / "data", n={"train": 2, "val": 2, "test": 1})
    res = train(manifest, model=MODEL, out=tmp_path / "run", init=imported, epochs=1,
                batch_size=2, workers=0, progress=False, config={"model": OPTS})  # fmt: skip
    net, meta = build_from_checkpoint(res.best_path)
    pe = "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"
    theirs = sd["pe_layer.positional_encoding_gaussian_matrix"]
    assert torch.equal(meta.frozen_state[pe], theirs)
    assert torch.equal(net.state_dict()[pe], theirs)


def test_imported_checkpoint_keeps_its_key_layout(tmp_path):
    # The keys import_checkpoint wrote before the checkpoint was typed (written down by hand).
    torch.save(their_state(), tmp_path / "theirs.pth")
    out = import_checkpoint(tmp_path / "theirs.pth", model=MODEL, out=tmp_path / "ours.pt", **OPTS)
    raw = torch.load(out, map_location="cpu", weights_only=True)
    assert set(raw) == {
        "format",
        "version",
        "model",
        "model_overrides",
        "run_options",
        "model_config",
        "train_config",
        "data",
        "sam_checkpoint",
        "vggish_checkpoint",
        "init",
        "epoch",
        "best_miou",
        "metrics",
        "state_dict",
        "frozen_state",
    }
    assert raw["format"] == "avsmodel-checkpoint" and raw["version"] == 1
    assert raw["epoch"] == 0 and raw["best_miou"] is None and raw["metrics"] == {}
    assert set(raw["data"]) == {"kind", "source", "sha256"} and raw["data"]["kind"] == "imported"


def test_import_records_the_authors_geometry_and_eval_uses_it(tmp_path):
    import yaml
    from _train_helpers import make_manifest

    from avsmodel.checkpoint import read_checkpoint
    from avsmodel.evaluation import evaluate
    from avsmodel.recipe import AUTHORS_KEYS

    torch.save(their_state(), tmp_path / "theirs.pth")
    out = import_checkpoint(tmp_path / "theirs.pth", model=MODEL, out=tmp_path / "ours.pt", **OPTS)
    paper = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "avsmodel" / "configs" / "paper.yaml").read_text()
    )
    tc = read_checkpoint(out).train_config
    assert {k: tc[k] for k in AUTHORS_KEYS} == {k: paper[k] for k in AUTHORS_KEYS}
    assert (tc["resize"], tc["score_size"]) == ("squash", "input")
    manifest = make_manifest(tmp_path / "data", n={"train": 2, "val": 2, "test": 3})
    m = evaluate(out, manifest=manifest, split="test", progress=False)
    assert (m["resize"], m["score_size"]) == ("squash", "input")
