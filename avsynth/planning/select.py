"""Selection rules: which source masks may become triplets.

Each rule and the reason for its default are documented in ``docs/dataset.md``. A mask is
dropped for the first rule it fails; drops are counted by reason and recorded in the build's
sidecar.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from avsynth.catmap.schema import CategoryMap
from avsynth.errors import PlanError
from avsynth.sources.records import SourceMask

ALLOCATIONS = ("balanced", "proportional")

# Skip reasons, in the order the rules are applied.
SKIP_REASONS = (
    "crowd",
    "not_exhaustive",
    "low_predicted_iou",
    "too_small",
    "too_large",
    "empty_mask",
    "mask_aspect_mismatch",
    "mask_outside_box",
    "several_instances",
)
# The reasons found by reading a mask's content (avsynth.planning.content), not its metadata.
CONTENT_REASONS = ("empty_mask", "mask_aspect_mismatch", "mask_outside_box")


@dataclass(frozen=True, slots=True)
class SelectionConfig:
    """Rules that decide which masks are usable, and how many of each category are taken.

    Attributes:
        drop_crowd: Drop COCO/LVIS ``iscrowd`` masks (one mask over a group of objects).
        min_area: Drop masks covering less than this fraction of the image (Open Images:
            the box's fraction, its CSV has no mask area).
        max_area: Drop masks covering more than this fraction of the image.
        require_exhaustive: Drop LVIS masks whose category the image lists in
            ``not_exhaustive_category_ids`` (other instances may be unannotated).
        min_predicted_iou: Drop Open Images masks whose ``PredictedIoU`` is below this value
            (masks without a value are kept).
        single_instance: Drop every mask of an image that holds more than one instance of
            the same category (the sound could come from either: the target is ambiguous).
        allocation: How many instances each category contributes when more are available
            than the split sizes need: ``balanced`` (water-filling: every category gets the
            same cap, categories with fewer instances give all they have) or
            ``proportional`` (each category in proportion to its available instances,
            largest-remainder rounding).
    """

    drop_crowd: bool = True
    min_area: float = 0.01
    max_area: float = 0.9
    require_exhaustive: bool = True
    min_predicted_iou: float = 0.5
    single_instance: bool = True
    allocation: str = "balanced"

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_area <= self.max_area <= 1.0:
            raise PlanError(
                f"selection: need 0 <= min_area ({self.min_area}) <= max_area "
                f"({self.max_area}) <= 1; fix --min-area/--max-area"
            )
        if not 0.0 <= self.min_predicted_iou <= 1.0:
            raise PlanError(
                f"selection: min_predicted_iou {self.min_predicted_iou} is not in [0, 1]"
            )
        if self.allocation not in ALLOCATIONS:
            raise PlanError(
                f"selection: allocation {self.allocation!r} is not one of {', '.join(ALLOCATIONS)}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (recorded in ``build_info.json``)."""
        return asdict(self)


def category_of(cmap: CategoryMap) -> dict[tuple[str, str], str]:
    """``(source, source label) -> map category`` for LVIS names and Open Images MIDs."""
    out = {("lvis", k): v for k, v in cmap.lvis_to_category().items()}
    out.update({("openimages", k): v for k, v in cmap.mid_to_category().items()})
    return out


def select_masks(
    masks: Iterable[SourceMask],
    cmap: CategoryMap,
    cfg: SelectionConfig,
    rejected: Mapping[tuple[str, str], str] | None = None,
) -> tuple[dict[str, list[SourceMask]], Counter[str]]:
    """Apply the selection rules.

    Args:
        masks: Masks from the source readers (any order; labels outside the map are ignored).
        cmap: The category map (source label -> category).
        cfg: The rules.
        rejected: ``(source, mask_id) -> reason`` for masks whose content was found unusable
            (:data:`CONTENT_REASONS`); applied after the metadata rules. Rejected masks still
            count as instances for the several-instances rule.

    Returns:
        ``(candidates, skips)``: usable masks per category (order unspecified; the planner
        sorts them by seeded hash) and the number of dropped masks per reason.
    """
    to_cat = category_of(cmap)
    by_source: dict[str, dict[str, str]] = defaultdict(dict)  # source -> label -> category
    for (source, label), cat in to_cat.items():
        by_source[source][label] = cat
    per_image: dict[tuple[str, str, str], int] = {}
    kept: list[tuple[str, SourceMask]] = []
    skips: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    # The metadata rules in SKIP_REASONS order, then the content rejections (this loop
    # sees every mapped mask: no call per mask).
    drop_crowd, exhaustive, min_iou = cfg.drop_crowd, cfg.require_exhaustive, cfg.min_predicted_iou
    lo, hi = cfg.min_area, cfg.max_area
    no_cats: dict[str, str] = {}
    for m in masks:
        source = m.source
        cat = by_source.get(source, no_cats).get(m.label)
        if cat is None:
            continue
        key = (source, m.mask_id)
        if key in seen:  # the same annotation listed twice: count it once
            continue
        seen.add(key)
        g = (source, m.image.image_id, cat)
        per_image[g] = per_image.get(g, 0) + 1
        if drop_crowd and m.iscrowd:
            reason = "crowd"
        elif exhaustive and not m.exhaustive:
            reason = "not_exhaustive"
        elif m.predicted_iou is not None and m.predicted_iou < min_iou:
            reason = "low_predicted_iou"
        elif m.area_fraction < lo:
            reason = "too_small"
        elif m.area_fraction > hi:
            reason = "too_large"
        elif rejected:
            reason = rejected.get(key)
        else:
            reason = None
        if reason is None:
            kept.append((cat, m))
        else:
            skips[reason] = skips.get(reason, 0) + 1
    candidates: dict[str, list[SourceMask]] = defaultdict(list)
    several = 0
    for cat, m in kept:
        if cfg.single_instance and per_image[(m.source, m.image.image_id, cat)] > 1:
            several += 1
            continue
        candidates[cat].append(m)
    if several:
        skips["several_instances"] = skips.get("several_instances", 0) + several
    return dict(candidates), Counter(skips)
