"""The on-disk form of a pretrained folder, and reading one back as a :class:`Checkpoint`.

A pretrained folder is what ``avsmodel export-pretrained`` writes (see
:mod:`avsmodel.pretrained.folder`)::

    DIR/model.safetensors   the tensors (safetensors: no code runs when it is read)
    DIR/config.json         model name and config, the recipe, geometry, weights form
    DIR/README.md           the model card (for people; never read back)

``config.json`` holds ``format: "avsmodel-pretrained"``, ``version: 1`` and ``weights``:

* ``"full"``: ``model.safetensors`` holds every tensor of the model
  (``model.state_dict()``): it loads without any other file.
* ``"adapters-only"``: it holds the tensors that do not come from the official SAM / VGGish
  files (the trained ones, the frozen tensors a run carried, and the random-init parts of
  a model trained without official weights); ``official_weights`` names the files the rest
  comes from (asset name, file name and SHA-256 where known).

``trainable`` lists the names of the trained tensors; every other stored tensor is laid over
the rebuilt model as frozen state. Reading never unpickles anything: JSON and safetensors only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from avsmodel.checkpoint import Checkpoint
from avsmodel.errors import CheckpointError

FORMAT = "avsmodel-pretrained"
VERSION = 1
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
CARD = "README.md"
FORMS = ("full", "adapters-only")
KINDS = ("sam", "vggish")

#: config.json keys and their JSON types (checked on reading).
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "version": int,
    "weights": str,
    "model": str,
    "model_config": dict,
    "model_overrides": dict,
    "run_options": dict,
    "train_config": dict,
    "geometry": dict,
    "trainable": list,
    "official_weights": dict,
}


def require_safetensors() -> None:
    """Raise :class:`ConfigError` (one line, with the fix) when safetensors is missing."""
    try:
        import safetensors  # noqa: F401
    except ImportError:
        from avsmodel.errors import ConfigError

        raise ConfigError(
            "pretrained folders need safetensors: pip install 'avsynth[hf]'"
        ) from None


def is_pretrained_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder holding a ``config.json`` (a pretrained folder or not)."""
    p = Path(path)
    return p.is_dir() and (p / CONFIG).is_file()


def read_config(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse and check ``DIR/config.json`` (keys, types, format, version, weights form).

    Raises:
        CheckpointError: one line naming the file and the first problem.
    """
    p = Path(folder) / CONFIG
    if not p.is_file():
        raise CheckpointError(f"{folder}: not a pretrained folder (no {CONFIG})")
    try:
        cfg = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        line = f":{e.lineno}" if isinstance(e, json.JSONDecodeError) else ""
        raise CheckpointError(f"{p}{line}: not valid JSON ({type(e).__name__})") from None
    if not isinstance(cfg, dict):
        raise CheckpointError(f"{p}: expected a JSON object")
    if cfg.get("format") != FORMAT:
        raise CheckpointError(f"{p}: format is {cfg.get('format')!r}, expected {FORMAT!r}")
    for key, typ in _REQUIRED.items():
        if key not in cfg:
            raise CheckpointError(f"{p}: missing key {key!r}")
        if not isinstance(cfg[key], typ) or isinstance(cfg[key], bool):
            raise CheckpointError(f"{p}: {key!r} is a {type(cfg[key]).__name__}, wrong type")
    if cfg["version"] != VERSION:
        raise CheckpointError(f"{p}: version {cfg['version']}, this avsmodel reads {VERSION}")
    if cfg["weights"] not in FORMS:
        raise CheckpointError(f"{p}: weights {cfg['weights']!r} unknown; one of {FORMS}")
    if not all(isinstance(k, str) for k in cfg["trainable"]):
        raise CheckpointError(f"{p}: 'trainable' must list tensor names")
    _check_consistent(p, cfg)
    unknown = sorted(set(cfg["official_weights"]) - set(KINDS))
    if unknown:
        raise CheckpointError(f"{p}: official_weights has unknown part {unknown[0]!r}")
    return cfg


def _check_consistent(p: Path, cfg: dict[str, Any]) -> None:
    """The model config and geometry must be what the name and overrides build."""
    from avsmodel.errors import ConfigError
    from avsmodel.modeling.config import split_options
    from avsmodel.pretrained.registry import get_config

    arch, _ = split_options(dict(cfg["model_overrides"]))
    try:
        want = get_config(cfg["model"], **arch).to_dict()
    except ConfigError as e:
        raise CheckpointError(f"{p}: {e}") from None
    for key in sorted(set(want) | set(cfg["model_config"])):
        if cfg["model_config"].get(key) != want.get(key):
            raise CheckpointError(
                f"{p}: model_config.{key} = {cfg['model_config'].get(key)!r} does not match "
                f"{cfg['model']} ({want.get(key)!r}); the file was edited"
            )
    geometry = geometry_of(want, cfg["train_config"])
    for key, value in cfg["geometry"].items():
        if geometry.get(key) != value:
            raise CheckpointError(
                f"{p}: geometry.{key} = {value!r} does not match the model and recipe "
                f"({geometry.get(key)!r}); the file was edited"
            )


def geometry_of(model_config: dict[str, Any], train_config: dict[str, Any]) -> dict[str, Any]:
    """What a caller needs to feed the model: input side, mask side, resize mode (and the
    recipe's ``score_size`` when it has one)."""
    out = {
        "image_size": model_config["image_size"],
        "mask_size": model_config["image_size"] // 4,
        "resize": train_config.get("resize", "pad"),
        "audio_examples": model_config["audio_examples"],
        "sample_rate": 16000,
    }
    if "score_size" in train_config:
        out["score_size"] = train_config["score_size"]
    return out


def read_tensors(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """``DIR/model.safetensors`` as ``{name: tensor}`` on CPU.

    Raises:
        CheckpointError: missing or not a safetensors file.
    """
    require_safetensors()
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    p = Path(folder) / WEIGHTS
    if not p.is_file():
        raise CheckpointError(f"{folder}: no {WEIGHTS}")
    try:
        return load_file(p, device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{p}: not a readable safetensors file ({msg[:120]})") from None


def _official_path(folder: Path, kind: str, entry: Any, given: Any) -> str:
    """The file of one official part: ``given`` (path or name) or the recorded asset name
    through the download cache; its SHA-256 is checked when the folder records one."""
    from avsmodel.pretrained.download import resolve_weights
    from avsynth.storage.atomic import file_sha256

    flag = f"--{kind}-checkpoint"
    if not isinstance(entry, dict):
        raise CheckpointError(f"{folder / CONFIG}: official_weights.{kind} is not an object")
    name, sha = entry.get("name"), entry.get("sha256")
    if given is None and name is None:
        raise CheckpointError(
            f"{folder}: holds adapters only and needs the {kind} weights "
            f"{entry.get('file')}; pass {flag} PATH"
        )
    path = resolve_weights(given if given is not None else name, kind)
    assert path is not None
    if not path.is_file():
        raise CheckpointError(f"{folder}: {kind} weights {path} not found; pass {flag} PATH")
    if sha and file_sha256(path) != sha:
        raise CheckpointError(
            f"{folder}: {path} is not the {kind} file these adapters were trained on "
            f"(SHA-256 differs from {sha[:12]}...); pass the right {flag}"
        )
    return str(path)


def read_pretrained(
    folder: str | os.PathLike[str],
    *,
    sam_checkpoint: str | os.PathLike[str] | None = None,
    vggish_checkpoint: str | os.PathLike[str] | None = None,
) -> Checkpoint:
    """A pretrained folder as the :class:`Checkpoint` it stands for (nothing is built).

    Args:
        folder: The folder.
        sam_checkpoint: Adapters-only folders: the SAM file (path, or a name such as
            ``vit_h``); default the asset name the folder records, through the cache.
        vggish_checkpoint: Same for VGGish.

    Raises:
        CheckpointError: a missing/invalid file, a config that does not fit the tensors, or
            official weights that are not there (or not the recorded ones).
    """
    folder = Path(folder)
    cfg = read_config(folder)
    tensors = read_tensors(folder)
    trainable = set(cfg["trainable"])
    missing = sorted(trainable - set(tensors))
    if missing:
        raise CheckpointError(
            f"{folder / CONFIG}: trainable tensor {missing[0]!r} is not in {WEIGHTS}"
        )
    given = {"sam": sam_checkpoint, "vggish": vggish_checkpoint}
    official = {
        kind: _official_path(folder, kind, entry, given[kind])
        for kind, entry in cfg["official_weights"].items()
        if entry is not None and cfg["weights"] == "adapters-only"
    }
    frozen = {k: v for k, v in tensors.items() if k not in trainable}
    return Checkpoint(
        model=cfg["model"],
        model_overrides=cfg["model_overrides"],
        run_options=cfg["run_options"],
        model_config=cfg["model_config"],
        train_config=cfg["train_config"],
        data=dict(cfg.get("data") or {}),
        sam_checkpoint=official.get("sam"),
        vggish_checkpoint=official.get("vggish"),
        frozen_state=frozen or None,
        epoch=cfg.get("epoch"),
        best_miou=cfg.get("best_miou"),
        best_epoch=cfg.get("best_epoch"),
        metrics=dict(cfg.get("metrics") or {}),
        state_dict={k: tensors[k] for k in cfg["trainable"]},
    )


def read_any(
    path: str | os.PathLike[str],
    *,
    sam_checkpoint: str | os.PathLike[str] | None = None,
    vggish_checkpoint: str | os.PathLike[str] | None = None,
) -> Checkpoint:
    """A checkpoint file (:func:`avsmodel.checkpoint.read_checkpoint`) or a pretrained folder
    (:func:`read_pretrained`), as a :class:`Checkpoint`.

    Raises:
        CheckpointError: as the two readers.
    """
    from avsmodel.checkpoint import read_checkpoint

    if Path(path).is_dir():
        return read_pretrained(
            path, sam_checkpoint=sam_checkpoint, vggish_checkpoint=vggish_checkpoint
        )
    return read_checkpoint(path)
