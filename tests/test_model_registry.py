"""Registry, configs, parameter counts and exactly which parameters train."""

from __future__ import annotations

import pytest
import torch

import avsmodel
from avsmodel.errors import ConfigError
from avsmodel.registry import MODELS, ModelConfig, get_config, parameter_counts

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
    with pytest.raises(ConfigError, match="attention='flash'"):
        get_config("sama_avs_tiny", attention="flash")
    with pytest.raises(ConfigError, match="autocast"):
        get_config("sama_avs_tiny", autocast="fp8")


def test_config_roundtrip_and_official_values():
    cfg = get_config("sama_avs_vit_h", grad_checkpointing=True)
    d = cfg.to_dict()
    assert d["encoder_global_attn_indexes"] == [7, 15, 23, 31]
    assert ModelConfig.from_dict(d) == cfg
    assert get_config(cfg, autocast="bf16").autocast == "bf16"
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


@pytest.mark.parametrize("variant", ["vit_b", "vit_l", "vit_h"])
def test_trainable_parameters_exact_vit(variant):
    m = _meta(f"sama_avs_{variant}")
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    expected = (
        _names(m.adapters, "adapters")
        | _names(m.mask_decoder, "mask_decoder")
        | {"prompt_encoder.no_mask_embed.weight"}
    )
    assert trainable == expected
    assert not any(n.startswith(("image_encoder.", "audio_encoder.")) for n in trainable)

    m = _meta(f"ap_sam_{variant}")
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    assert trainable == (
        _names(m.audio_prompt, "audio_prompt")
        | _names(m.mask_decoder, "mask_decoder")
        | {"prompt_encoder.no_mask_embed.weight"}
    )
    m = _meta(f"sam_oracle_{variant}")
    assert not any(p.requires_grad for p in m.parameters())
    assert m.audio_encoder is None


def test_trainable_parameters_exact_tiny():
    m = avsmodel.build_model("sama_avs_tiny")
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    frozen = {n for n, p in m.named_parameters() if not p.requires_grad}
    # Random init: every part trains except prompt-encoder layers SAMA-AVS never uses.
    assert frozen == _names(m.prompt_encoder, "prompt_encoder") - {
        "prompt_encoder.no_mask_embed.weight"
    }
    assert _names(m.image_encoder, "image_encoder") <= trainable
    assert _names(m.audio_encoder, "audio_encoder") <= trainable


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


def test_params_cli(capsys):
    import typer
    from typer.testing import CliRunner

    from avsmodel.cli.params import main

    app = typer.Typer()
    app.command("params")(main)

    @app.callback()
    def _group() -> None:  # forces sub-command mode
        pass

    r = CliRunner().invoke(app, ["params", "sama_avs_vit_h"])
    assert r.exit_code == 0, r.output
    assert "2,770,176" in r.output and "0.3884%" in r.output
    r = CliRunner().invoke(app, ["params", "--all"])
    assert r.exit_code == 0 and r.output.count("\n") == 13


def test_import_is_cheap():
    import subprocess
    import sys

    code = (
        "import sys, avsmodel; assert 'torch' not in sys.modules, 'torch imported'; "
        "avsmodel.list_models; assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
