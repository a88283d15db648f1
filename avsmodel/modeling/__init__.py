"""Model modules: SAMA-AVS, AP-SAM and the SAM oracle on segment-anything's modules.

:class:`~avsmodel.modeling.config.ModelConfig` (architecture) and
:class:`~avsmodel.modeling.config.RunOptions` (how it runs) live here with the builders;
``avsmodel.registry`` names configs and builds from them (this package never imports it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from avsmodel.modeling.base import AvsModel
    from avsmodel.modeling.config import ModelConfig, RunOptions


def model_class(family: str) -> type:
    """The :class:`AvsModel` subclass of a family name."""
    from avsmodel.modeling.ap_sam import ApSam
    from avsmodel.modeling.oracle import SamOracle
    from avsmodel.modeling.sama_avs import SamaAvs

    return {"sama_avs": SamaAvs, "ap_sam": ApSam, "sam_oracle": SamOracle}[family]


def build_from_config(cfg: ModelConfig, run: RunOptions | None = None) -> AvsModel:
    """Instantiate, freeze, and apply the run options (default: none) of ``cfg`` (random init)."""
    from avsmodel.errors import ConfigError
    from avsmodel.modeling.config import RunOptions

    run = run or RunOptions()
    model = model_class(cfg.family)(cfg, run=run)
    model.apply_freeze()
    if run.attention == "sdpa":
        try:
            from avsmodel.modeling.attention import enable_sdpa_attention
        except ImportError as e:
            raise ConfigError(
                f"attention='sdpa' needs avsmodel.modeling.attention ({e}); use attention='eager'"
            ) from None
        enable_sdpa_attention(model.image_encoder)
    return model
