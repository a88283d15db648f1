"""Training configuration: a flat YAML recipe without data paths.

The base recipe is ``avsmodel/configs/paper.yaml`` (the authors' code, point for point), or
``tiny.yaml`` for model names ending in ``_tiny``. A user YAML (``--config FILE``), or a
bundled recipe by name (``--config recommended``: the project's own choices), overrides keys
of the base; keyword overrides (the command-line flags) override both. Unknown keys and wrong
types raise :class:`ConfigError`.

``paper.yaml`` is the one source of the paper's values: :class:`TrainConfig`'s defaults are
read from it, so the two cannot disagree.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from avsmodel.checks import SEED_LIMIT
from avsmodel.errors import ConfigError


def _paper_recipe() -> dict[str, Any]:
    import yaml

    text = resources.files("avsmodel.configs").joinpath("paper.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


_PAPER = _paper_recipe()


@dataclass(frozen=True)
class TrainConfig:
    """Everything that shapes a training run, apart from data and checkpoint paths.

    The defaults are ``avsmodel/configs/paper.yaml``'s values.

    Attributes:
        epochs: Length of the cosine schedule and of the run.
        batch_size: Training batch per process (per GPU under ``torchrun``).
        val_batch_size: Validation/evaluation batch per process.
        lr: Peak AdamW learning rate.
        min_lr: Cosine floor reached after ``epochs``.
        weight_decay: AdamW weight decay.
        betas: AdamW betas.
        bce_weight: Weight of BCE-with-logits (mask resolution).
        iou_weight: Weight of the soft IoU loss (mask resolution).
        grad_clip: Max gradient norm, 0 disables clipping.
        resample_audio_p: Probability of replacing a training clip with another clip of
            the same category (deterministic in seed, epoch and sample); 1.0 is the authors'
            fresh draw on every access.
        train_fraction: Few-shot: train on this fraction of the training set (a seeded
            order fixed per dataset, so smaller fractions nest in larger ones).
        resize: ``pad`` (SAM's aspect-keeping resize + zero padding) or ``squash`` (to SxS,
            the paper authors' loaders); evaluation and prediction use the run's choice.
        loss_size: ``mask`` (the loss at the mask decoder's S/4 grid, ground truth pooled)
            or ``input`` (logits upsampled to SxS against the nearest-resized ground truth,
            as the authors).
        score_size: What ``avsmodel eval`` scores on by default: ``input`` (the SxS input
            grid, as the authors' 1024 px scoring) or ``ground_truth`` (each frame's size).
        prompt_init: ``authors`` (a seeded random Gaussian positional encoding with SAM's
            scale and a trainable N(0, 1) no-mask embedding, which is what the authors'
            training had: their model never loaded SAM's) or ``sam`` (SAM's own, from its
            checkpoint).
        iou_eps: Smoothing of the soft IoU loss (0: the authors', no gradient from the IoU
            term on frames with an empty ground truth).
        schedule_step: Cosine schedule stepped per ``epoch`` (the authors') or per ``step``.
        drop_last: Drop the last incomplete batch of an epoch (False: the authors').
        workers: DataLoader worker processes per training process.
        audio_cache: Log-mel arrays kept in memory per worker (LRU), 0 disables.
        threads: Torch intra-op threads per process (0: torch's default).
        seed: Seed of model init, data order, workers and resampling.
        model: Overrides passed to :func:`avsmodel.build_model` (e.g. ``attention: sdpa``).
    """

    epochs: int = _PAPER["epochs"]
    batch_size: int = _PAPER["batch_size"]
    val_batch_size: int = _PAPER["val_batch_size"]
    lr: float = _PAPER["lr"]
    min_lr: float = _PAPER["min_lr"]
    weight_decay: float = _PAPER["weight_decay"]
    betas: tuple[float, float] = tuple(_PAPER["betas"])
    bce_weight: float = _PAPER["bce_weight"]
    iou_weight: float = _PAPER["iou_weight"]
    grad_clip: float = _PAPER["grad_clip"]
    resample_audio_p: float = _PAPER["resample_audio_p"]
    train_fraction: float = _PAPER["train_fraction"]
    resize: str = _PAPER["resize"]
    loss_size: str = _PAPER["loss_size"]
    score_size: str = _PAPER["score_size"]
    prompt_init: str = _PAPER["prompt_init"]
    iou_eps: float = float(_PAPER["iou_eps"])
    schedule_step: str = _PAPER["schedule_step"]
    drop_last: bool = _PAPER["drop_last"]
    workers: int = _PAPER["workers"]
    audio_cache: int = _PAPER["audio_cache"]
    threads: int = _PAPER["threads"]
    seed: int = _PAPER["seed"]
    model: dict[str, Any] = field(default_factory=lambda: dict(_PAPER["model"]))

    def to_dict(self) -> dict[str, Any]:
        """Plain, YAML/JSON-safe dict (``betas`` as a list)."""
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        d["model"] = dict(self.model)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, where: str = "config") -> TrainConfig:
        """Validate and build from a dict (unknown keys and wrong types raise ConfigError)."""
        return _validate(cls(), d, where=where)


def _validate(base: TrainConfig, updates: dict[str, Any], *, where: str) -> TrainConfig:
    known = {f.name: f for f in dataclasses.fields(TrainConfig)}
    values: dict[str, Any] = {}
    for key, val in updates.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        if val is None:
            continue
        values[key] = _coerce(key, val, getattr(base, key), where=where)
    cfg = dataclasses.replace(base, **values)
    _check_ranges(cfg, where=where)
    return cfg


def _coerce(key: str, val: Any, default: Any, *, where: str) -> Any:
    bad = ConfigError(f"{where}: {key} = {val!r} should be like {default!r}")
    if isinstance(default, bool):
        if not isinstance(val, bool):
            raise bad
        return val
    if isinstance(default, int):
        if isinstance(val, bool) or not isinstance(val, int):
            raise bad
        return val
    if isinstance(default, float):
        if isinstance(val, bool) or not isinstance(val, int | float):
            raise bad
        return float(val)
    if isinstance(default, tuple):
        if not isinstance(val, list | tuple) or len(val) != len(default):
            raise bad
        return tuple(float(v) for v in val)
    if isinstance(default, dict):
        if not isinstance(val, dict):
            raise bad
        return dict(val)
    return val


def _check_ranges(cfg: TrainConfig, *, where: str) -> None:
    rules = [
        (cfg.epochs >= 1, "epochs must be >= 1"),
        (cfg.batch_size >= 1, "batch_size must be >= 1"),
        (cfg.val_batch_size >= 1, "val_batch_size must be >= 1"),
        (cfg.lr > 0, "lr must be > 0"),
        (0 <= cfg.min_lr <= cfg.lr, "min_lr must be in [0, lr]"),
        (cfg.weight_decay >= 0, "weight_decay must be >= 0"),
        (cfg.bce_weight >= 0 and cfg.iou_weight >= 0, "loss weights must be >= 0"),
        (cfg.bce_weight + cfg.iou_weight > 0, "at least one loss weight must be > 0"),
        (cfg.grad_clip >= 0, "grad_clip must be >= 0"),
        (0.0 <= cfg.resample_audio_p <= 1.0, "resample_audio_p must be in [0, 1]"),
        (0.0 < cfg.train_fraction <= 1.0, "train_fraction must be in (0, 1]"),
        (cfg.resize in ("pad", "squash"), "resize must be pad or squash"),
        (cfg.loss_size in ("mask", "input"), "loss_size must be mask or input"),
        (cfg.score_size in SCORE_SIZES, "score_size must be ground_truth or input"),
        (cfg.prompt_init in ("authors", "sam"), "prompt_init must be authors or sam"),
        (cfg.iou_eps >= 0, "iou_eps must be >= 0"),
        (cfg.schedule_step in ("epoch", "step"), "schedule_step must be epoch or step"),
        (cfg.workers >= 0, "workers must be >= 0"),
        (cfg.audio_cache >= 0, "audio_cache must be >= 0"),
        (cfg.threads >= 0, "threads must be >= 0"),
        (all(0.0 <= b < 1.0 for b in cfg.betas), "betas must both be in [0, 1)"),
        (0 <= cfg.seed < SEED_LIMIT, "seed must be in [0, 2**64)"),
    ]
    for ok, msg in rules:
        if not ok:
            raise ConfigError(f"{where}: {msg}")


#: The keys where the authors' code (``paper.yaml``) and ``recommended.yaml`` differ.
AUTHORS_KEYS = (
    "resize",
    "loss_size",
    "score_size",
    "prompt_init",
    "iou_eps",
    "schedule_step",
    "drop_last",
)


def authors_choices() -> dict[str, Any]:
    """``paper.yaml``'s values of :data:`AUTHORS_KEYS` (what the authors' code does)."""
    return {k: _PAPER[k] for k in AUTHORS_KEYS}


#: Grids ``avsmodel eval`` can score on.
SCORE_SIZES = ("ground_truth", "input")

#: Recipes shipped in ``avsmodel/configs`` (``--config NAME`` picks one over the base).
BUNDLED = ("paper", "recommended", "tiny")


def base_config_name(model_name: str) -> str:
    """``tiny`` for ``*_tiny`` models, else ``paper``."""
    return "tiny" if model_name.endswith("_tiny") else "paper"


def bundled_name(config: str | os.PathLike[str]) -> str | None:
    """The bundled recipe ``config`` names (``recommended``, ``paper``, ``tiny``), or None.

    A name is a bundled recipe only when no file of that name exists (a file wins).
    """
    text = os.fspath(config)
    if text in BUNDLED and not Path(text).exists():
        return text
    return None


def read_yaml(path: str | os.PathLike[str] | None, *, name: str | None = None) -> dict[str, Any]:
    """Parse a config YAML (a user file, or a bundled one by ``name``) into a dict."""
    import yaml

    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found")
        text, where = p.read_text(encoding="utf-8"), str(p)
    else:
        res = resources.files("avsmodel.configs").joinpath(f"{name}.yaml")
        text, where = res.read_text(encoding="utf-8"), f"avsmodel/configs/{name}.yaml"
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        at = f":{line + 1}" if line is not None else ""
        raise ConfigError(f"{where}{at}: invalid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of config keys")
    return data


def load_config(
    model_name: str,
    config: str | os.PathLike[str] | dict[str, Any] | TrainConfig | None = None,
    **overrides: Any,
) -> TrainConfig:
    """The effective training config of a run.

    Args:
        model_name: Picks the bundled base recipe (``tiny`` for ``*_tiny``, else ``paper``).
        config: A YAML path, a bundled recipe's name (``recommended``, ``paper``), a dict
            or a :class:`TrainConfig`, applied over the base.
        **overrides: Final overrides (``None`` values are ignored), e.g. ``epochs=3``.

    Raises:
        ConfigError: unknown keys, wrong types or out-of-range values.
    """
    name = base_config_name(model_name)
    cfg = _validate(TrainConfig(), read_yaml(None, name=name), where=f"{name}.yaml")
    if isinstance(config, TrainConfig):
        cfg = config
    elif isinstance(config, dict):
        cfg = _validate(cfg, config, where="config")
    elif config is not None and bundled_name(config) is not None:
        other = bundled_name(config)
        cfg = _validate(cfg, read_yaml(None, name=other), where=f"{other}.yaml")
    elif config is not None:
        cfg = _validate(cfg, read_yaml(config), where=str(config))
    return _validate(cfg, overrides, where="override")
