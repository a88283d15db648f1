"""Datasets for training and evaluation: avsynth manifests and the AVSBench layout."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from avsmodel.data.avsbench import AvsbenchDataset
from avsmodel.data.collate import collate
from avsmodel.data.dataset import ManifestDataset
from avsmodel.data.shards import ShardDataset, is_shard_export, shard_train_val

__all__ = [
    "AvsbenchDataset",
    "ManifestDataset",
    "ShardDataset",
    "collate",
    "train_val_datasets",
]


def train_val_datasets(
    manifest: str | os.PathLike[str] | None = None,
    *,
    avsbench: str | os.PathLike[str] | None = None,
    subset: str | None = None,
    image_size: int,
    audio_examples: int,
    roots: dict[str, str | os.PathLike[str]] | None = None,
    seed: int = 0,
    audio_cache: int = 4096,
    resample_audio_p: float = 0.0,
    train_fraction: float = 1.0,
    resize: str = "pad",
    input_masks: bool = False,
    train_list: str | os.PathLike[str] | None = None,
) -> tuple[Any, Any, dict[str, Any]]:
    """The train and val datasets of a run, and a description of the data for checkpoints.

    Args:
        manifest: An avsynth manifest, or a WebDataset export folder (``index.json``;
            streamed by :class:`~avsmodel.data.shards.ShardDataset`), exclusive with
            ``avsbench``.
        avsbench: AVSBench root, with ``subset`` ``s4`` or ``ms3``.
        subset: AVSBench subset.
        image_size: The model's input size.
        audio_examples: Log-mel examples the model expects.
        roots: Source roots of a plan-only manifest.
        seed: Seed of audio resampling.
        audio_cache: Log-mel arrays kept per process.
        resample_audio_p: Same-category clip resampling for the train split (manifests); an
            imported release's clip pools (``avsynth import-release``) are drawn from when
            the manifest has them, else the split's own clips of the category.
        resize: ``pad`` or ``squash`` (:class:`avsmodel.transforms.SamTransform`).
        input_masks: Training items also carry ``mask_input`` (loss at the input size).
        train_fraction: Keep this fraction of the train split
            (:func:`avsmodel.data.selection.few_shot_ids`: triplet ids or clip names).
        train_list: A file of train ids (triplet ids, or S4/MS3 clip names), one per line:
            train on the first ``int(N * train_fraction)`` of them, in the list's order
            (:func:`avsmodel.data.selection.listed_ids`, the authors' few-shot slicing).

    Returns:
        ``(train, val, data)`` with ``data`` = ``{kind, manifest|root, subset, sha256}``
        (plus ``train_fraction`` and ``train_items`` when a fraction is kept, and
        ``train_list``/``train_list_sha256`` with a list).
    """
    from avsmodel.errors import ConfigError
    from avsynth.storage.atomic import file_sha256

    if (manifest is None) == (avsbench is None):
        raise ConfigError("give exactly one of a manifest or --avsbench ROOT")
    if is_shard_export(manifest):  # a WebDataset export: streamed (avsmodel.data.shards)
        return shard_train_val(
            manifest,
            image_size=image_size,
            audio_examples=audio_examples,
            seed=seed,
            resample_audio_p=resample_audio_p,
            train_fraction=train_fraction,
            resize=resize,
            input_masks=input_masks,
            audio_cache=audio_cache,
        )
    common: dict[str, Any] = dict(
        image_size=image_size, audio_examples=audio_examples, audio_cache=audio_cache, resize=resize
    )
    if manifest is not None:
        common.update(roots=roots, seed=seed)
        from avsynth.release import read_audio_pools

        pools = read_audio_pools(manifest, roots=roots) if resample_audio_p > 0 else {}
        train = ManifestDataset(
            manifest,
            "train",
            resample_audio_p=resample_audio_p,
            input_masks=input_masks,
            audio_pools=pools,
            **common,
        )
        val = ManifestDataset(manifest, "val", **common)
        data = {
            "kind": "manifest",
            "manifest": str(Path(manifest).resolve()),
            "sha256": file_sha256(manifest),
        }
        return _few_shot(train, train_fraction, data, train_list), val, data
    if subset is None:
        raise ConfigError("--avsbench needs --subset s4 or ms3")
    train = AvsbenchDataset(avsbench, subset, "train", input_masks=input_masks, **common)
    val = AvsbenchDataset(avsbench, subset, "val", **common)
    data = {
        "kind": "avsbench",
        "root": str(Path(avsbench).resolve()),
        "subset": subset,
        "sha256": file_sha256(train.meta),
    }
    return _few_shot(train, train_fraction, data, train_list), val, data


def _few_shot(train: Any, fraction: float, data: dict[str, Any], train_list: Any = None) -> Any:
    """Keep ``fraction`` of ``train``: the head of ``train_list``, or else of a nested seeded
    order (seed 0: fixed per dataset)."""
    from avsmodel.data.selection import few_shot_ids, listed_ids
    from avsynth.storage.atomic import file_sha256

    if train_list is not None:
        train.keep_ids(listed_ids(train_list, train.ids(), fraction))
        data.update(
            train_list=str(Path(train_list).resolve()),
            train_list_sha256=file_sha256(train_list),
            train_fraction=fraction,
            train_items=len(train),
        )
    elif fraction < 1.0:
        train.keep_ids(few_shot_ids(train.ids(), fraction, seed=0))
        data.update(train_fraction=fraction, train_items=len(train))
    return train
