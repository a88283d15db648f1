"""The planner: source records in, a deterministic :class:`~avsynth.planning.plan.Plan` out.

:func:`make_plan` is the one planning function: single-source triplets (``single=1``,
:class:`Planner`: selection, splits, pairing) or, with other ``compose`` weights, composed
ones (:func:`avsynth.planning.compose.make_composed_plan`); both give the same record type.
It is pure: it reads no files, so it can be tested on records built by hand and is what
:func:`avsynth.plan` calls after the source readers ran.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from avsynth.catmap.schema import CategoryMap
from avsynth.constants import DEFAULT_SPLIT_SIZES
from avsynth.errors import PlanError
from avsynth.planning.compose_spec import parse_compose, single_only
from avsynth.planning.keys import triplet_id
from avsynth.planning.pair import SPLITS, clip_need, clips_by_category, pair, split_pools
from avsynth.planning.plan import Plan, PlannedTriplet, check_split_sizes
from avsynth.planning.select import SelectionConfig, select_masks
from avsynth.planning.split import allocate, assign_ordered, order_candidates, quotas
from avsynth.sources.records import SourceClip, SourceMask


def _shortfall(available: dict[str, int], left_out: dict[str, str], total: int) -> PlanError:
    have = sum(available.values())
    counts = ", ".join(f"{c}={n}" for c, n in sorted(available.items())) or "none"
    out = (
        "; left out: " + ", ".join(f"{c} ({r})" for c, r in sorted(left_out.items()))
        if left_out
        else ""
    )
    return PlanError(
        f"only {have} usable instances for {total} requested (--split-sizes); available per "
        f"category: {counts}{out}; add sources, relax selection options or lower --split-sizes"
    )


def make_plan(
    masks: Iterable[SourceMask],
    clips: Iterable[SourceClip],
    category_map: CategoryMap,
    *,
    split_sizes: Sequence[int] = DEFAULT_SPLIT_SIZES,
    seed: int = 0,
    selection: SelectionConfig | None = None,
    require_clips: bool = False,
    rejected: Mapping[tuple[str, str], str] | None = None,
    compose: str | Mapping[str, float] | None = None,
    absent: Mapping[str, frozenset[str]] | None = None,
) -> Plan:
    """Select, split and pair.

    Args:
        masks: Source masks (any order).
        clips: VGGSound rows (any order).
        category_map: The category map.
        split_sizes: Exact (train, val, test) sizes.
        seed: Seed of every choice (salted hashes of stable ids).
        selection: Selection rules (defaults: :class:`SelectionConfig`).
        require_clips: Use only clips whose file exists (``SourceClip.path`` set).
        rejected: ``(source, mask_id) -> reason`` of masks whose content is unusable (see
            :func:`avsynth.planning.select.select_masks`; single-source plans).
        compose: Composition weights (:func:`~avsynth.planning.compose_spec.parse_compose`;
            default ``single=1``).
        absent: Verified-absent source labels per image key, for ``offscreen`` and
            ``partial`` (:mod:`avsynth.sources.absence`).

    Returns:
        The plan.

    Raises:
        PlanError: if fewer usable instances exist than the split sizes ask for (or, composed,
            a composition lacks candidates or clips; the message names it).
    """
    weights = parse_compose(compose)
    if not single_only(weights):
        from avsynth.planning.compose import make_composed_plan

        if rejected:
            raise PlanError("rejected masks apply to single-source plans only")
        return make_composed_plan(
            masks, clips, category_map, compose=weights, absent=absent or {},
            split_sizes=split_sizes, seed=seed, selection=selection, require_clips=require_clips,
        )  # fmt: skip
    return Planner(
        masks,
        clips,
        category_map,
        split_sizes=split_sizes,
        seed=seed,
        selection=selection,
        require_clips=require_clips,
        rejected=rejected,
    ).plan()


class Planner:
    """:func:`make_plan` that can plan again around masks rejected later, cheaply.

    The selection, the clip pools and the seeded order of the candidates are computed once;
    :meth:`plan` with more ``rejected`` masks only drops those from the ordered candidates
    and redoes the allocation, the split assignment and the pairing. The result is the plan
    :func:`make_plan` makes with the same ``rejected`` (every rejected mask is a candidate of
    the first selection: only masks a plan chose are ever rejected).

    Args:
        masks, clips, category_map, split_sizes, seed, selection, require_clips, rejected:
            As :func:`make_plan` (``rejected``: those known before the first plan).
    """

    def __init__(
        self,
        masks: Iterable[SourceMask],
        clips: Iterable[SourceClip],
        category_map: CategoryMap,
        *,
        split_sizes: Sequence[int] = DEFAULT_SPLIT_SIZES,
        seed: int = 0,
        selection: SelectionConfig | None = None,
        require_clips: bool = False,
        rejected: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        self.sizes = check_split_sizes(split_sizes)
        self.cfg = selection or SelectionConfig()
        self.category_map = category_map
        self.seed = seed
        self.require_clips = require_clips
        self._rejected = dict(rejected or {})
        candidates, self._skips = select_masks(masks, category_map, self.cfg, rejected)
        self._order = order_candidates(candidates, seed=seed)
        self._pools, self._missing = clips_by_category(
            clips, category_map.vggsound_to_category(), require_files=require_clips
        )
        # Re-plans mostly choose what the last plan chose: the clip pools per (category,
        # instances per split), and each (category, split) cell's triplets are kept and
        # reused when the cell's chosen masks are the very same (``is``), in the same order.
        self._split_clips: dict[tuple[str, tuple[int, ...]], list[list[SourceClip]]] = {}
        self._cells: dict[tuple[str, int], _Cell] = {}

    def plan(self, rejected: Mapping[tuple[str, str], str] | None = None) -> Plan:
        """The plan without the masks of ``rejected`` (``(source, mask_id) -> reason``,
        added to those given so far; a mask already rejected stays rejected)."""
        new = {k: r for k, r in (rejected or {}).items() if k not in self._rejected}
        if new:
            gone = {f"{src}:{mid}": reason for (src, mid), reason in new.items()}
            for cat, rows in self._order.items():
                self._order[cat] = [r for r in rows if r[1] not in gone]
                self._skips.update(gone[r[1]] for r in rows if r[1] in gone)
            self._rejected.update(new)
        return self._plan()

    def _plan(self) -> Plan:
        sizes, cfg, seed, category_map = self.sizes, self.cfg, self.seed, self.category_map
        require_clips, pools, skips = self.require_clips, self._pools, self._skips
        candidates = {c: rows for c, rows in self._order.items() if rows}
        min_train, min_test = clip_need(sizes)
        left_out: dict[str, str] = {}
        available: dict[str, int] = {}
        for cat in category_map.names:
            p = pools.get(cat, {})
            n_train, n_test = len(p.get("train", [])), len(p.get("test", []))
            what = "clip files" if require_clips else "VGGSound rows"
            if not candidates.get(cat):
                left_out[cat] = "no usable instances"
            elif n_train < min_train:
                left_out[cat] = f"no train {what}"
            elif n_test < min_test:
                left_out[cat] = f"{n_test} test {what} (val and test need {min_test})"
            else:
                available[cat] = len(candidates[cat])
        total = sum(sizes)
        if sum(available.values()) < total:
            raise _shortfall(available, left_out, total)
        per_cat = allocate(available, total, how=cfg.allocation, seed=seed)
        quota = quotas(per_cat, sizes, seed=seed)
        chosen = assign_ordered({c: candidates[c] for c in available}, quota, sizes)

        triplets: list[PlannedTriplet] = []
        clip_use: dict[str, int] = {}
        for cat in sorted(chosen):
            want = tuple(len(x) for x in chosen[cat])
            split_clips = self._split_clips.get((cat, want))
            if split_clips is None:
                split_clips = split_pools(pools[cat], want, seed=seed, category=cat)
                self._split_clips[(cat, want)] = split_clips
            for k, split in enumerate(SPLITS):
                if not chosen[cat][k]:
                    continue
                if not split_clips[k]:
                    raise PlanError(
                        f"category {cat}: no {split} clips left after dividing test clips"
                    )
                cell = self._cell(cat, k, split, chosen[cat][k], split_clips[k])
                clip_use[split] = max(clip_use.get(split, 0), cell.most_uses)
                triplets.extend(cell.triplets)
        missing = self._missing
        order = {s: i for i, s in enumerate(SPLITS)}
        triplets.sort(key=lambda t: (order[t.split], t.category, t.id))
        counts = {
            cat: {s: len(chosen[cat][k]) for k, s in enumerate(SPLITS)} for cat in sorted(chosen)
        }
        return Plan(
            triplets=triplets,
            split_sizes=sizes,
            seed=seed,
            category_map=category_map,
            selection=cfg,
            require_clips=require_clips,
            counts=counts,
            available=dict(sorted(available.items())),
            skips={r: skips[r] for r in sorted(skips)},
            left_out=dict(sorted(left_out.items())),
            clips_missing=missing,
            clip_use=clip_use,
        )

    def _cell(
        self, cat: str, k: int, split: str, masks: list[SourceMask], clips: list[SourceClip]
    ) -> _Cell:
        """The paired triplets of one (category, split) cell; the last plan's when its masks
        and clips are the same objects in the same order (pairing is a function of them)."""
        old = self._cells.get((cat, k))
        if (
            old is not None
            and old.clips is clips
            and len(old.masks) == len(masks)
            and all(a is b for a, b in zip(old.masks, masks, strict=True))
        ):
            return old
        pairs = pair(masks, clips, seed=self.seed)
        uses = Counter(c.clip_id for _, c in pairs)
        made = [PlannedTriplet.single(triplet_id(m, c), split, cat, m, c) for m, c in pairs]
        cell = _Cell(list(masks), clips, made, max(uses.values()))
        self._cells[(cat, k)] = cell
        return cell


@dataclass(slots=True)
class _Cell:
    """One (category, split) cell of a plan: its chosen masks, clip pool and triplets."""

    masks: list[SourceMask]
    clips: list[SourceClip]
    triplets: list[PlannedTriplet]
    most_uses: int
