"""Registry, configs, parameter counts and exactly which parameters train."""

from __future__ import annotations

import pytest
import torch

import avsmodel
from avsmodel.errors import ConfigError
from avsmodel.pretrained.build import parameter_counts
from avsmodel.pretrained.registry import (
    MODELS,
    ModelConfig,
    RunOptions,
    get_config,
    get_run_options,
)

FAMILIES = ("sama_avs", "ap_sam", "sam_oracle")
VARIANTS = ("vit_b", "vit_l", "vit_h", "tiny")


def test_registry_names():
    assert set(avsmodel.list_models()) == {f"{f}_{v}" for f in FAMILIES for v in VARIANTS}
    assert avsmodel.MODELS is MODELS


def test_unknown_name_suggests_close_match():
    with pytest.raises(ConfigError, match="did you mean sama_avs_vit_h"):
        avsmodel.build_model("sama_avs_vit_hh")
    with pytest.raises(ConfigError, match="unknown model 'resnet'"):
        avsmodel.build_model("resnet")


def test_unknown_or_invalid_override():
    with pytest.raises(ConfigError, match="did you mean 'grad_checkpointing'"):
        get_config("sama_avs_tiny", grad_checkpoint=True)
    with pytest.raises(ConfigError, match="did you mean 'grad_checkpointing'"):
        avsmodel.build_model("sama_avs_tiny", grad_checkpoint=True)
    with pytest.raises(ConfigError, match="attention='flash'"):
        avsmodel.build_model("sama_avs_tiny", attention="flash")
    with pytest.raises(ConfigError, match="autocast='fp8'"):
        get_run_options(autocast="fp8")
    with pytest.raises(ConfigError, match="'attention' is a run option, not architecture"):
        get_config("sama_avs_tiny", attention="sdpa")


def test_architecture_and_run_options_are_separate():
    m = avsmodel.build_model("ap_sam_tiny", attention="sdpa", autocast="bf16", audio_examples=3)
    assert m.run == RunOptions(attention="sdpa", autocast="bf16")
    assert m.config == get_config("ap_sam_tiny", audio_examples=3)
    arch = m.config.to_dict()
    assert not {"attention", "autocast", "grad_checkpointing", "embedding_cache"} & set(arch)
    # A config dict of an older checkpoint, with run options mixed in, still loads.
    old = {**arch, "attention": "sdpa", "embedding_cache": 8, "autocast": "none"}
    assert ModelConfig.from_dict(old) == m.config


def test_config_roundtrip_and_official_values():
    cfg = get_config("sama_avs_vit_h")
    d = cfg.to_dict()
    assert d["encoder_global_attn_indexes"] == [7, 15, 23, 31]
    assert ModelConfig.from_dict(d) == cfg
    assert get_config(cfg, audio_examples=5).audio_examples == 5
    with pytest.raises(ConfigError, match="unknown model option 'bogus'"):
        get_config(cfg, bogus=1)
    with pytest.raises(ConfigError, match="unknown model config field"):
        ModelConfig.from_dict({**d, "bogus": 1})
    assert (cfg.image_size, cfg.mask_size, cfg.embedding_size) == (1024, 256, 64)
    tiny = get_config("sama_avs_tiny")
    assert (tiny.image_size, tiny.patch_size, tiny.encoder_embed_dim, tiny.encoder_depth) == (
        128,
        8,
        96,
        3,
    )


def _meta(name: str, **kw):
    with torch.device("meta"):
        return avsmodel.build_model(name, **kw)


def _names(module: torch.nn.Module, prefix: str) -> set[str]:
    return {f"{prefix}.{n}" for n, _ in module.named_parameters()}


def _decoder_without_iou_head(m: torch.nn.Module) -> set[str]:
    return _names(m.mask_decoder, "mask_decoder") - _names(
        m.mask_decoder.iou_prediction_head, "mask_decoder.iou_prediction_head"
    )


@pytest.mark.parametrize("variant", ["vit_b", "vit_l", "vit_h"])
def test_trainable_parameters_exact_vit(variant):
    m = _meta(f"sama_avs_{variant}")
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    expected = (
        _names(m.adapters, "adapters")
        | _decoder_without_iou_head(m)
        | {"prompt_encoder.no_mask_embed.weight"}
    )
    assert trainable == expected
    assert not any(n.startswith(("image_encoder.", "audio_encoder.")) for n in trainable)

    m = _meta(f"ap_sam_{variant}")
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    assert trainable == (
        _names(m.audio_prompt, "audio_prompt")
        | _decoder_without_iou_head(m)
        | {"prompt_encoder.no_mask_embed.weight"}
    )
    m = _meta(f"sam_oracle_{variant}")
    assert not any(p.requires_grad for p in m.parameters())
    assert m.audio_encoder is None


def test_trainable_parameters_exact_tiny():
    m = avsmodel.build_model("sama_avs_tiny")
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    frozen = {n for n, p in m.named_parameters() if not p.requires_grad}
    # Random init: every part trains except prompt-encoder layers SAMA-AVS never uses and
    # SAM's IoU head, whose output no loss uses.
    assert frozen == (
        _names(m.prompt_encoder, "prompt_encoder") - {"prompt_encoder.no_mask_embed.weight"}
    ) | _names(m.mask_decoder.iou_prediction_head, "mask_decoder.iou_prediction_head")
    assert _names(m.image_encoder, "image_encoder") <= trainable
    assert _names(m.audio_encoder, "audio_encoder") <= trainable


@pytest.mark.parametrize("name", ["sama_avs_tiny", "ap_sam_tiny", "sam_oracle_tiny"])
def test_every_trainable_parameter_gets_a_gradient(name):
    # What lets DDP run with find_unused_parameters=False: one training step reaches every
    # parameter that trains, and nothing else.
    from avsmodel.training import SegmentationTask

    torch.manual_seed(0)
    m = avsmodel.build_model(name)
    s = m.image_size
    batch = {
        "image": torch.randn(2, 3, s, s),
        "audio": torch.randn(2, m.audio_examples, 1, 96, 64),
        "mask": (torch.rand(2, s, s) > 0.5).float(),
    }
    loss, _ = SegmentationTask(m, needs_gt=name.startswith("sam_oracle"))(batch)
    loss.backward()
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    reached = {n for n, p in m.named_parameters() if p.grad is not None}
    assert trainable and reached == trainable


def test_parameter_counts_paper_numbers():
    c = parameter_counts("sama_avs_vit_h")
    # 32 blocks x Linear(128->512) + shared Linear(512->1280).
    assert c.adapter == 32 * (128 * 512 + 512) + 512 * 1280 + 1280 == 2_770_176
    assert round(c.adapter_share, 4) == 0.3884
    # VGGish: 6 convs + 3 linears (torchvggish layout).
    assert c.audio_encoder == 72_141_184
    sam_h = sum(p.numel() for p in _sam_meta("vit_h").parameters())
    assert c.total == sam_h + c.audio_encoder + c.adapter
    assert parameter_counts("sam_oracle_vit_b").trainable == 0


def _sam_meta(variant: str):
    from segment_anything import sam_model_registry

    with torch.device("meta"):
        return sam_model_registry[variant](checkpoint=None)


def test_params_cli_through_the_real_app():
    from typer.testing import CliRunner

    from avsmodel.cli import app

    r = CliRunner().invoke(app, ["params", "sama_avs_vit_h"])
    assert r.exit_code == 0, r.output
    assert "2,770,176" in r.output and "0.3884%" in r.output
    r = CliRunner().invoke(app, ["params", "--all"])
    assert r.exit_code == 0, r.output
    rows = {line.split()[0]: line.split()[1:] for line in r.output.splitlines()[1:]}
    assert sorted(rows) == sorted(f"{f}_{v}" for f in FAMILIES for v in VARIANTS)
    # Totals from segment-anything's own builder (the oracle is plain SAM) and the adapter
    # arithmetic above, not from avsmodel's counter.
    for v in ("vit_b", "vit_l", "vit_h"):
        sam = sum(p.numel() for p in _sam_meta(v).parameters())
        assert rows[f"sam_oracle_{v}"][:3] == [f"{sam:,}", "0", "0"]
    assert rows["sama_avs_vit_h"][2] == "2,770,176"
    r = CliRunner().invoke(app, ["params", "sama_avs_vit_h", "--all"])
    assert isinstance(r.exception, ConfigError) and "give a model NAME or --all" in str(r.exception)


def test_import_is_cheap():
    import subprocess
    import sys

    code = (
        "import sys, avsmodel; assert 'torch' not in sys.modules, 'torch imported'; "
        "avsmodel.list_models; assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_modeling_never_imports_the_registry():
    # The registry names configs and builds from avsmodel.modeling; modeling (which holds
    # ModelConfig with the builders) must not import it back, or the two form a cycle. The
    # edges come from the one import parser of the suite (tests/test_import_graph.py).
    from test_import_graph import graph

    g = graph()
    modeling = sorted(m for m in g if m.startswith("avsmodel.modeling"))
    offenders = {
        m: sorted(t for t in g[m] if t.startswith("avsmodel.pretrained")) for m in modeling
    }
    assert len(modeling) >= 10
    assert {m: t for m, t in offenders.items() if t} == {}
