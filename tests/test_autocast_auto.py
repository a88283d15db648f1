"""``autocast="auto"`` picks bf16 exactly where the hardware has it natively."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from avsmodel import build_model
from avsmodel.errors import ConfigError
from avsmodel.modeling.attention import sdpa_enabled
from avsmodel.modeling.config import RUN_FIELDS
from avsmodel.recipe import load_config


def _cpu_flags() -> set[str]:
    """The CPU's feature flags as the kernel lists them (the test's own reading)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return set()
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def _matmul_dtype(model, device: torch.device) -> torch.dtype:
    """dtype a matmul gets inside the model's autocast context."""
    a = torch.ones(4, 4, device=device)
    with model.autocast_context(device):
        return (a @ a).dtype


def test_auto_uses_bf16_on_cpu_exactly_with_native_bf16_instructions() -> None:
    cpu = torch.device("cpu")
    native = bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})
    model = build_model("sama_avs_tiny", autocast="auto")
    assert _matmul_dtype(model, cpu) == (torch.bfloat16 if native else torch.float32)
    assert _matmul_dtype(build_model("sama_avs_tiny", autocast="bf16"), cpu) == torch.bfloat16
    assert _matmul_dtype(build_model("sama_avs_tiny"), cpu) == torch.float32
    out = model(torch.zeros(1, 3, 128, 128), torch.zeros(1, 2, 1, 96, 64))
    assert out.shape == (1, 1, 32, 32) and out.dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_auto_uses_bf16_on_cuda_from_ampere_on() -> None:
    dev = torch.device("cuda")
    native = torch.cuda.get_device_capability(dev)[0] >= 8  # Ampere and newer
    model = build_model("sama_avs_tiny", autocast="auto")
    assert _matmul_dtype(model, dev) == (torch.bfloat16 if native else torch.float32)


def test_unknown_autocast_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="autocast='fp8'"):
        build_model("sama_avs_tiny", autocast="fp8")


def test_recipes_change_only_how_the_model_runs() -> None:
    # The bundled recipes pick speed settings, never architecture (official weights must
    # still load key for key), and those settings take effect in the built model.
    for name in ("sama_avs_vit_b", "sama_avs_tiny"):
        options = load_config(name).model
        assert options and set(options) <= RUN_FIELDS, name
        model = build_model("sama_avs_tiny", **options)
        assert sdpa_enabled(model.image_encoder) == (options.get("attention") == "sdpa")
        assert model.run.autocast == options.get("autocast", "none")


@pytest.mark.parametrize("name", ["sama_avs_vit_b", "sama_avs_tiny"])
def test_recipes_default_to_exact_fp32_settings(name: str) -> None:
    # Which settings are fastest is measured by bench/model_speed.py (docs/performance.md);
    # what a test can hold is that the defaults change speed only: fp32 maths (the authors'
    # precision) and an attention kernel that computes what eager attention computes.
    options = load_config(name).model
    fast = build_model("sama_avs_tiny", **options)
    eager = build_model("sama_avs_tiny")
    assert _matmul_dtype(fast, torch.device("cpu")) == torch.float32
    fast.load_state_dict(eager.state_dict())
    fast.eval(), eager.eval()
    g = torch.Generator().manual_seed(1)
    image = torch.randn(1, 3, 128, 128, generator=g)
    audio = torch.randn(1, eager.audio_examples, 1, 96, 64, generator=g)
    with torch.no_grad():
        got, want = fast(image, audio).double(), eager(image, audio).double()
    assert got.dtype == want.dtype and got.shape == want.shape
    assert ((got - want).norm() / want.norm()).item() < 1e-5
