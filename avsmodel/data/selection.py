"""Which audio a frame hears, and which training items a few-shot run keeps.

Per-frame audio follows the authors' loaders (jinxiang-liu/anno-free-AVS,
``datasets/avsb_dataloader_vggish.py`` and ``datasets/AVSSynthetic_dataloader.py``): frame k
of an AVSBench clip hears the k-th 0.96 s VGGish example alone (AVSBench's ``[5,1,96,64]``
log-mel pickles: one example per second, one frame per second); a synthetic image hears
example 1 (0.96-1.92 s) of its clip. A model asking for N > 1 examples gets the explicit
multi-example option instead: N consecutive examples around that one (tiled when the clip is
shorter), which the audio encoder averages.

Few-shot subsets follow the authors' ``--trainset_ratio`` (the first R of a pre-shuffled
meta CSV): a seeded order fixed per dataset, so the 10% subset lies inside the 30% subset,
inside the full set. With a list of train ids (``--train-list FILE``, e.g. the ids of the
authors' shuffled CSV in its order) the first ``int(N * R)`` ids of the list are kept, as
their loader slices ``df[:int(len(df) * ratio)]``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from avsmodel.errors import ConfigError, DataError

SYNTHETIC_EXAMPLE = 1  # the authors' ``audio_log_mel[1]``: 0.96-1.92 s of the clip


def frame_audio(examples: torch.Tensor, n: int, *, index: int | None) -> torch.Tensor:
    """The ``[n, 1, 96, 64]`` log-mel examples a frame hears.

    Args:
        examples: The clip's ``[M, 1, 96, 64]`` examples.
        n: Examples the model expects (1: the one example alone; more: the mean option).
        index: The frame's own example (clamped to the clip); None centres on the clip's
            middle (the multi-example crop of a synthetic clip).

    Raises:
        DataError: the clip holds no example.
    """
    m = examples.shape[0]
    if m == 0:
        raise DataError("audio shorter than one VGGish example (0.96 s)")
    if n == 1:
        k = m // 2 if index is None else min(max(index, 0), m - 1)
        return examples[k : k + 1]
    if m < n:
        reps = -(-n // m)
        return examples.repeat(reps, 1, 1, 1)[:n]
    c = m // 2 if index is None else min(max(index, 0), m - 1)
    start = min(max(c - n // 2, 0), m - n)
    return examples[start : start + n]


def synthetic_example_index(n: int) -> int | None:
    """The example a synthetic image hears: index 1 alone, or the clip's middle for N > 1."""
    return SYNTHETIC_EXAMPLE if n == 1 else None


def few_shot_ids(ids: Sequence[str], fraction: float, *, seed: int = 0) -> list[str]:
    """The first ``floor(fraction * len(ids))`` ids (at least 1) of a seeded fixed order.

    The order depends only on the ids and ``seed`` (not on their input order), so a smaller
    fraction's subset is always inside a larger one's. Returned in that order.

    Raises:
        ConfigError: ``fraction`` outside ``(0, 1]``.
    """
    from avsynth.planning.keys import stable_hash

    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"train fraction {fraction} must be in (0, 1]")
    order = sorted(set(ids), key=lambda i: (stable_hash(seed, "few-shot", i), i))
    keep = max(1, math.floor(fraction * len(order) + 1e-9))
    return order[:keep]


def read_train_list(path: str | os.PathLike[str]) -> list[str]:
    """The ids of a train list: one per line, in order; blank lines and ``#`` comments skipped.

    Raises:
        ConfigError: the file is missing or unreadable, holds no id, or repeats one (the
            message names the file and line).
    """
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read the train list ({type(e).__name__})") from None
    ids: list[str] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        item = line.split("#", 1)[0].strip()
        if not item:
            continue
        if item in seen:
            raise ConfigError(f"{p}:{n}: id {item!r} repeats line {seen[item]}")
        seen[item] = n
        ids.append(item)
    if not ids:
        raise ConfigError(f"{p}: the train list holds no id")
    return ids


def listed_ids(
    path: str | os.PathLike[str], available: Sequence[str], fraction: float = 1.0
) -> list[str]:
    """The first ``int(fraction * N)`` ids of the train list at ``path`` (N ids), in order.

    Raises:
        ConfigError: an unreadable list (:func:`read_train_list`), ``fraction`` outside
            ``(0, 1]``, or a fraction that keeps no id.
        DataError: a listed id is not in the train split (names the file and line).
    """
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"train fraction {fraction} must be in (0, 1]")
    ids = read_train_list(path)
    have = set(available)
    for n, item in enumerate(ids):
        if item not in have:
            line = _line_of(Path(path), item) or n + 1
            raise DataError(f"{path}:{line}: id {item!r} is not in the train split")
    keep = int(len(ids) * fraction)
    if keep < 1:
        raise ConfigError(f"{path}: train fraction {fraction} of {len(ids)} ids keeps none")
    return ids[:keep]


def _line_of(path: Path, item: str) -> int | None:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.split("#", 1)[0].strip() == item:
            return n
    return None
