"""Training configs: bundled recipes, YAML overrides and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from avsmodel.errors import ConfigError
from avsmodel.recipe import TrainConfig, load_config, read_yaml


def test_paper_recipe_is_the_default_for_sam_models() -> None:
    cfg = load_config("sama_avs_vit_h")
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.min_lr) == (80, 2, 2e-4, 1e-7)
    assert cfg.bce_weight == cfg.iou_weight == 1.0
    assert cfg.resample_audio_p == 1.0 and cfg.train_fraction == 1.0
    assert cfg.model["autocast"] == "none"


def test_paper_yaml_is_the_one_source_of_the_defaults(tmp_path: Path) -> None:
    import dataclasses

    import yaml

    from avsmodel import recipe as config_module

    text = (Path(config_module.__file__).parent / "configs" / "paper.yaml").read_text()
    paper = yaml.safe_load(text)
    defaults = TrainConfig().to_dict()
    assert defaults == paper
    assert defaults["audio_cache"] == 1024  # the value paper.yaml sets (once 4096 here)
    kinds = {"int": int, "float": float, "str": str, "tuple[float, float]": tuple}
    kinds["dict[str, Any]"] = dict
    kinds["bool"] = bool
    for f in dataclasses.fields(TrainConfig):  # each YAML value has its field's type
        assert type(getattr(TrainConfig(), f.name)) is kinds[f.type], f.name


def test_tiny_recipe_for_tiny_models() -> None:
    cfg = load_config("ap_sam_tiny")
    assert cfg.batch_size == 16 and cfg.lr == pytest.approx(1e-3)


def test_bundled_yaml_hold_no_paths() -> None:
    for name in ("paper", "tiny"):
        d = read_yaml(None, name=name)
        assert set(d) == set(TrainConfig().to_dict()), name
        assert not any(isinstance(v, str) and "/" in v for v in d.values())


def test_yaml_then_keyword_overrides(tmp_path: Path) -> None:
    y = tmp_path / "c.yaml"
    y.write_text("epochs: 5\nlr: 1.0e-4\nmodel: {attention: sdpa}\n")
    cfg = load_config("sama_avs_vit_b", y, epochs=7, batch_size=None)
    assert (cfg.epochs, cfg.lr, cfg.batch_size) == (7, 1e-4, 2)
    assert cfg.model == {"attention": "sdpa"}
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("lr: fast\n", r"lr = 'fast' should be like"),
        ("epochs: 0\n", r"epochs must be >= 1"),
        ("resample_audio_p: 1.5\n", r"resample_audio_p must be in \[0, 1\]"),
        ("betas: [0.9]\n", r"betas"),
        ("epochs: [1\n", r"c\.yaml:\d+: invalid YAML"),
        ("- 1\n- 2\n", r"expected a mapping"),
        ("batchsize: 3\n", r"unknown key 'batchsize'"),
    ],
)
def test_bad_configs(tmp_path: Path, text: str, match: str) -> None:
    y = tmp_path / "c.yaml"
    y.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config("sama_avs_tiny", y)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("sama_avs_tiny", tmp_path / "nope.yaml")
