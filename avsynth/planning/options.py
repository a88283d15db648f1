"""Checks of ``build``'s options, run before anything is read or written."""

from __future__ import annotations

import math
from pathlib import Path

from avsynth.errors import PlanError


def min_clip_seconds() -> float:
    """The shortest ``clip_seconds`` a build accepts: one VGGish example (0.975 s), the least
    audio that training and ``export-avsbench`` take (:data:`avsynth.logmel.MIN_SECONDS`)."""
    from avsynth.logmel import MIN_SECONDS

    return MIN_SECONDS


def check_build_options(
    *,
    on_error: str,
    clip_seconds: float,
    workers: int,
    plan_only: bool,
    require_clips: bool | None,
) -> bool:
    """Validate ``build``'s options; returns the effective ``require_clips``.

    Raises:
        PlanError: an option is invalid (the message names it).
    """
    from avsynth.constants import ON_ERROR

    if on_error not in ON_ERROR:
        raise PlanError(f"on_error {on_error!r} is not one of {', '.join(ON_ERROR)}")
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
    if workers < 1:
        raise PlanError(f"workers {workers} must be >= 1")
    if require_clips is None:
        require_clips = not plan_only
    if not plan_only and not require_clips:
        raise PlanError("--no-require-clips needs --plan-only: materialising needs the clip files")
    return require_clips


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
