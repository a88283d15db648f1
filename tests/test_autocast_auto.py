"""``autocast="auto"`` picks bf16 exactly where the hardware has it natively."""

from __future__ import annotations

import contextlib

import pytest
import torch

from avsmodel import build_model
from avsmodel.errors import ConfigError
from avsmodel.modeling.base import native_bf16
from avsmodel.training.config import load_config


def test_auto_follows_native_bf16() -> None:
    model = build_model("sama_avs_tiny", autocast="auto")
    ctx = model.autocast_context(torch.device("cpu"))
    if native_bf16(torch.device("cpu")):
        assert isinstance(ctx, torch.autocast)
    else:
        assert isinstance(ctx, contextlib.nullcontext)
    out = model(torch.zeros(1, 3, 128, 128), torch.zeros(1, 2, 1, 96, 64))
    assert out.shape == (1, 1, 32, 32) and out.dtype == torch.float32


def test_unknown_autocast_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="autocast"):
        build_model("sama_avs_tiny", autocast="fp8")


def test_recipes_default_to_the_measured_fastest_exact_settings() -> None:
    # The paper recipe keeps the authors' fp32 (bf16 autocast is the named faster option).
    paper = load_config("sama_avs_vit_b")
    assert paper.model == {"attention": "sdpa", "autocast": "none", "grad_checkpointing": False}
    assert load_config("sama_avs_tiny").model["attention"] == "sdpa"
