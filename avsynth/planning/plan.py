"""The planned records: :class:`PlannedTriplet` (a composition of one image, its target masks
and the clips heard) and :class:`Plan`, what every planner returns and every later stage
(records, media, sidecar, inspection of a plan) reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from avsynth.catmap.schema import CategoryMap
from avsynth.constants import DEFAULT_SPLIT_SIZES
from avsynth.errors import PlanError
from avsynth.planning.select import SelectionConfig
from avsynth.sources.records import SourceClip, SourceImage, SourceMask

__all__ = ["Component", "Plan", "PlannedTriplet", "check_split_sizes"]


@dataclass(frozen=True, slots=True)
class Component:
    """One clip heard in a planned triplet: its category, whether that category is visible
    in the image, and its gain in the mix (0 dB when the triplet is not mixed)."""

    category: str
    clip: SourceClip
    visible: bool
    gain_db: float


@dataclass(frozen=True, slots=True)
class PlannedTriplet:
    """One planned triplet: a composition of one image, its target masks and the clips heard.

    A single-source triplet (``composition="single"``) is one image, one target mask and one
    visible component; ``multi`` has 2-3 targets and as many visible components, ``offscreen``
    no target and one invisible component, ``partial`` one target, one visible and one
    invisible component (see :mod:`avsynth.planning.compose`).
    """

    id: str
    split: str
    category: str
    composition: str
    image: SourceImage
    targets: tuple[SourceMask, ...]
    components: tuple[Component, ...]

    @classmethod
    def single(
        cls, id: str, split: str, category: str, mask: SourceMask, clip: SourceClip
    ) -> PlannedTriplet:
        """The single-source triplet of ``mask`` heard as ``clip``."""
        return cls(
            id, split, category, "single", mask.image, (mask,),
            (Component(category, clip, True, 0.0),),
        )  # fmt: skip

    @property
    def mask(self) -> SourceMask:
        """The first target mask (the only one of a single-source triplet)."""
        return self.targets[0]

    @property
    def clip(self) -> SourceClip:
        """The first component's clip (the only one of a single-source triplet)."""
        return self.components[0].clip


@dataclass
class Plan:
    """The result of planning (metadata only; nothing decoded).

    Attributes:
        triplets: Planned triplets sorted by split (train, val, test), then (composed plans)
            composition, then category and id.
        split_sizes: Exact (train, val, test) sizes.
        seed: The seed.
        category_map: The map used.
        selection: The selection rules used.
        require_clips: Whether clips without a file were excluded.
        counts: Triplets per category (composed plans: per ``composition:stratum``) and split.
        available: Usable instances per category after selection (before allocation).
        skips: Masks dropped per selection rule.
        left_out: Map categories left out, with the reason.
        clips_missing: Selected-label VGGSound rows without a clip file.
        clip_use: Per split, the maximum number of triplets sharing one clip.
        roots: Source roots (absolute paths) by source name.
        fingerprints: Content hashes of the metadata files read.
        timings: Seconds per stage.
        compose: Composition weights (``{"single": 1.0}``: a single-source plan).
        composition_counts: ``{composition: {split: n}}`` (composed plans).
        absent_images: Images with a verified-absent mapped category, per source (composed).
    """

    triplets: list[PlannedTriplet]
    split_sizes: tuple[int, int, int]
    seed: int
    category_map: CategoryMap
    selection: SelectionConfig
    require_clips: bool
    counts: dict[str, dict[str, int]]
    available: dict[str, int]
    skips: dict[str, int]
    left_out: dict[str, str]
    clips_missing: int = 0
    clip_use: dict[str, int] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)
    fingerprints: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    compose: dict[str, float] = field(default_factory=lambda: {"single": 1.0})
    composition_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    absent_images: dict[str, int] = field(default_factory=dict)

    @property
    def schema_version(self) -> int:
        """The manifest schema of the plan's records: 1 for ``single=1``, else 2."""
        return 1 if set(self.compose) == {"single"} else 2


def check_split_sizes(split_sizes: Sequence[int]) -> tuple[int, int, int]:
    """``split_sizes`` as three ints.

    Raises:
        PlanError: not three non-negative integers, or all zero.
    """
    if len(split_sizes) != 3 or any(int(s) != s or s < 0 for s in split_sizes):
        raise PlanError(
            f"split sizes {tuple(split_sizes)} must be three non-negative integers "
            f"TRAIN,VAL,TEST, e.g. --split-sizes {','.join(map(str, DEFAULT_SPLIT_SIZES))}"
        )
    if sum(split_sizes) == 0:
        raise PlanError("split sizes are all zero; ask for at least one triplet")
    a, b, c = (int(s) for s in split_sizes)
    return a, b, c
