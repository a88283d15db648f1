"""The build specification: every option of a build, validated once, defaults in one place.

:func:`avsynth.build` and :func:`avsynth.plan` turn their keyword arguments into a frozen
:class:`BuildSpec` (:meth:`BuildSpec.create`) before anything is read or written, and pass it
down: the planning stages (:func:`avsynth.planning.from_sources.plan_from_sources`) and the
media stage read their options from it. The defaults live in :mod:`avsynth.constants`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from avsynth.catmap.schema import CategoryMap
from avsynth.constants import DEFAULT_CLIP_SECONDS, DEFAULT_SPLIT_SIZES, ON_ERROR, SILENT_AUDIO
from avsynth.errors import PlanError
from avsynth.planning.compose_spec import parse_compose
from avsynth.planning.plan import check_split_sizes
from avsynth.planning.select import SelectionConfig

__all__ = ["BuildSpec", "check_roots", "min_clip_seconds"]

PathLike = str | os.PathLike[str]


def min_clip_seconds() -> float:
    """The shortest ``clip_seconds`` a build accepts: one VGGish example (0.975 s), the least
    audio that training and ``export-avsbench`` take (:data:`avsynth.audio.logmel.MIN_SECONDS`)."""
    from avsynth.audio.logmel import MIN_SECONDS

    return MIN_SECONDS


def _check_clip_seconds(clip_seconds: float) -> float:
    least = min_clip_seconds()
    if isinstance(clip_seconds, bool) or not isinstance(clip_seconds, (int, float)):
        raise PlanError(f"--clip-seconds {clip_seconds!r}: must be a number of seconds")
    if not math.isfinite(clip_seconds):
        raise PlanError(f"--clip-seconds {clip_seconds}: must be a finite number of seconds")
    if clip_seconds < least:
        raise PlanError(
            f"--clip-seconds {clip_seconds}: must be >= {least:g} (one VGGish example, the "
            "least audio that training and export-avsbench accept)"
        )
    return clip_seconds


@dataclass(frozen=True)
class BuildSpec:
    """Everything a build (or a plan) is asked to do.

    Attributes:
        categories: The category map (YAML path, shipped name or loaded :class:`CategoryMap`;
            loaded by the planning stage).
        vggsound, lvis, openimages: Source roots as given (``None``: source not used;
            checked and made absolute by :func:`check_roots` when planning).
        split_sizes: Exact (train, val, test) sizes.
        seed: Seed of every choice.
        selection: Selection rules.
        require_clips: Use only clips whose file exists.
        compose: Composition weights (``{"single": 1.0}``: single-source triplets).
        plan_only: Write no media (manifest points into the sources).
        clip_seconds: Longest audio per WAV.
        on_error: ``raise`` or ``skip`` undecodable media.
        silent_audio: ``keep`` or ``skip`` all-zero clips.
        workers: Worker processes (content checks, media).
    """

    categories: PathLike | CategoryMap
    vggsound: PathLike
    lvis: PathLike | None = None
    openimages: PathLike | None = None
    split_sizes: tuple[int, int, int] = DEFAULT_SPLIT_SIZES
    seed: int = 0
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    require_clips: bool = False
    compose: Mapping[str, float] = field(default_factory=lambda: {"single": 1.0})
    plan_only: bool = True
    clip_seconds: float = DEFAULT_CLIP_SECONDS
    on_error: str = ON_ERROR[0]
    silent_audio: str = SILENT_AUDIO[0]
    workers: int = 1

    @classmethod
    def create(
        cls,
        categories: PathLike | CategoryMap,
        *,
        vggsound: PathLike,
        lvis: PathLike | None = None,
        openimages: PathLike | None = None,
        split_sizes: Sequence[int] = DEFAULT_SPLIT_SIZES,
        seed: int = 0,
        selection: SelectionConfig | None = None,
        require_clips: bool | None = None,
        compose: str | Mapping[str, float] | None = None,
        plan_only: bool = True,
        clip_seconds: float = DEFAULT_CLIP_SECONDS,
        on_error: str = ON_ERROR[0],
        silent_audio: str = SILENT_AUDIO[0],
        workers: int = 1,
    ) -> BuildSpec:
        """Validate the options and make the spec (``require_clips=None``: require the clip
        files unless ``plan_only``).

        Raises:
            PlanError: an option is invalid (the message names it).
        """
        if silent_audio not in SILENT_AUDIO:
            raise PlanError(
                f"--silent-audio {silent_audio!r} is not one of {', '.join(SILENT_AUDIO)}"
            )
        if on_error not in ON_ERROR:
            raise PlanError(f"--on-error {on_error!r} is not one of {', '.join(ON_ERROR)}")
        _check_clip_seconds(clip_seconds)
        if workers < 1:
            raise PlanError(f"workers {workers} must be >= 1")
        if require_clips is None:
            require_clips = not plan_only
        if not plan_only and not require_clips:
            raise PlanError(
                "--no-require-clips needs --plan-only: materialising needs the clip files"
            )
        return cls(
            categories, vggsound, lvis, openimages, check_split_sizes(split_sizes), seed,
            selection or SelectionConfig(), require_clips, parse_compose(compose), plan_only,
            clip_seconds, on_error, silent_audio, workers,
        )  # fmt: skip


def check_roots(vggsound, lvis, openimages) -> dict[str, str]:
    """Absolute source roots by name; each given root must be a folder, and one image source
    is needed.

    Raises:
        PlanError: naming the option.
    """
    roots = {}
    for name, p in (("lvis", lvis), ("openimages", openimages), ("vggsound", vggsound)):
        if p is None:
            continue
        if not Path(p).is_dir():
            raise PlanError(f"--{name} {p} is not a folder")
        roots[name] = str(Path(p).resolve())
    if "lvis" not in roots and "openimages" not in roots:
        raise PlanError("no image source: pass --lvis DIR and/or --openimages DIR")
    return roots
