"""Splits: how many instances each category gives, and which go to train / val / test.

Three steps, all deterministic functions of the candidates' stable ids and the seed:

1. :func:`allocate` decides how many instances ``t_c`` each category contributes
   (``sum t_c`` = total of the split sizes).
2. :func:`quotas` spreads every ``t_c`` over the splits in proportion to the split sizes, with
   rows summing to ``t_c`` and columns to the exact split sizes (controlled rounding).
3. :func:`assign` picks the instances, image by image: an image (the grouping unit) goes to
   one split only; categories with the least slack choose first, and any cell left short
   because of grouping is refilled from categories with spare instances in that split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from avsynth.constants import SPLITS
from avsynth.errors import PlanError
from avsynth.planning.keys import hashed_keys, image_key, mask_key, stable_hash
from avsynth.sources.records import SourceMask


def largest_remainder(total: int, weights: Mapping[str, float], seed: int) -> dict[str, int]:
    """Integers proportional to ``weights`` summing to ``total`` (ties broken by seeded hash)."""
    wsum = sum(weights.values())
    if total == 0 or wsum == 0:
        return {k: 0 for k in weights}
    exact = {k: total * w / wsum for k, w in weights.items()}
    out = {k: int(v) for k, v in exact.items()}
    rest = total - sum(out.values())
    order = sorted(weights, key=lambda k: (-(exact[k] - out[k]), stable_hash(seed, "lr", k), k))
    for k in order[:rest]:
        out[k] += 1
    return out


def allocate(available: Mapping[str, int], total: int, *, how: str, seed: int) -> dict[str, int]:
    """Instances per category, summing to ``total``.

    Args:
        available: Usable instances per category (all > 0).
        total: Instances wanted (``sum`` of split sizes); must be ``<= sum(available)``.
        how: ``balanced``: the largest common cap ``k`` with ``sum min(a_c, k) <= total``, the
            rest handed out one each to categories above the cap (seeded order);
            ``proportional``: ``total * a_c / sum a`` with largest-remainder rounding.
        seed: Seed for tie-breaking.
    """
    if how == "proportional":
        return largest_remainder(total, dict(available), seed)
    lo, hi = 0, max(available.values(), default=0)
    while lo < hi:  # largest cap whose fill does not exceed total
        mid = (lo + hi + 1) // 2
        if sum(min(a, mid) for a in available.values()) <= total:
            lo = mid
        else:
            hi = mid - 1
    out = {c: min(a, lo) for c, a in available.items()}
    rest = total - sum(out.values())
    above = sorted(
        (c for c, a in available.items() if a > lo), key=lambda c: (stable_hash(seed, "cap", c), c)
    )
    for c in above[:rest]:
        out[c] += 1
    return out


def quotas(
    per_category: Mapping[str, int], sizes: Sequence[int], *, seed: int
) -> dict[str, list[int]]:
    """Matrix of instances per category x split with exact row and column sums.

    Rows are ``per_category`` (summing to ``sum(sizes)``), columns ``sizes``; every cell is the
    floor or the ceiling of ``t_c * size_k / total`` (controlled rounding: cells are rounded up
    by largest remainder first, then augmenting paths fix the margins; such a rounding always
    exists).
    """
    total = sum(sizes)
    if sum(per_category.values()) != total:
        raise ValueError("quotas(): rows and columns must have the same total")
    cats = sorted(per_category)
    ks = range(len(sizes))
    exact = {c: [per_category[c] * s / total if total else 0.0 for s in sizes] for c in cats}
    base = {c: [int(x) for x in exact[c]] for c in cats}
    frac = {c: [k for k in ks if exact[c][k] > base[c][k]] for c in cats}
    up = {c: [0] * len(sizes) for c in cats}
    row = {c: per_category[c] - sum(base[c]) for c in cats}
    col = [s - sum(base[c][k] for c in cats) for k, s in enumerate(sizes)]
    cells = sorted(
        ((c, k) for c in cats for k in frac[c]),
        key=lambda ck: (
            -(exact[ck[0]][ck[1]] - base[ck[0]][ck[1]]),
            stable_hash(seed, "quota", f"{ck[0]}|{ck[1]}"),
            ck,
        ),
    )
    for c, k in cells:
        if row[c] > 0 and col[k] > 0:
            up[c][k], row[c], col[k] = 1, row[c] - 1, col[k] - 1
    for c in cats:
        while row[c] > 0:
            if not _augment(c, frac, up, col, cats):
                raise AssertionError(f"quotas(): no controlled rounding for {c}")  # unreachable
            row[c] -= 1
    return {c: [base[c][k] + up[c][k] for k in ks] for c in cats}


def _augment(start: str, frac, up, col: list[int], cats: Sequence[str]) -> bool:
    """Find rows/columns path start -> k1 <- c1 -> k2 ... -> k with ``col[k] > 0``; flip it."""
    from collections import deque

    prev_col: dict[int, str] = {}  # column -> row we came from (via an up=0 cell)
    prev_row: dict[str, int] = {start: -1}  # row -> column we came from (via an up=1 cell)
    queue = deque([start])
    while queue:
        c = queue.popleft()
        for k in frac[c]:
            if up[c][k] or k in prev_col:
                continue
            prev_col[k] = c
            if col[k] > 0:
                col[k] -= 1
                while True:  # walk back, flipping cells
                    r = prev_col[k]
                    up[r][k] = 1
                    k2 = prev_row[r]
                    if k2 < 0:
                        return True
                    up[r][k2] = 0
                    k = k2
            for r in cats:
                if up[r][k] and r not in prev_row:
                    prev_row[r] = k
                    queue.append(r)
    return False


def assign(
    candidates: Mapping[str, Sequence[SourceMask]],
    quota: Mapping[str, list[int]],
    sizes: Sequence[int],
    *,
    seed: int,
) -> dict[str, list[list[SourceMask]]]:
    """Choose the instances of every (category, split) cell, one split per image.

    Args:
        candidates: Usable masks per category.
        quota: Wanted instances per category and split (from :func:`quotas`).
        sizes: Exact split sizes (columns of ``quota``).
        seed: Seed of the order in which instances are considered.

    Returns:
        Chosen masks per category, one list per split; column totals equal ``sizes``.

    Raises:
        PlanError: if grouping by image makes the sizes impossible to meet.
    """
    return assign_ordered(order_candidates(candidates, seed=seed), quota, sizes)


def order_candidates(
    candidates: Mapping[str, Sequence[SourceMask]], *, seed: int
) -> dict[str, list[tuple[int, str, str, SourceMask]]]:
    """Each category's masks in the seeded order :func:`assign` considers them:
    ``(hash, mask key, image key, mask)`` rows sorted by hash, then mask key."""
    order: dict[str, list[tuple[int, str, str, SourceMask]]] = {}
    for c, ms in candidates.items():
        keys = [mask_key(m) for m in ms]
        images = [image_key(m) for m in ms]
        rows = list(zip(hashed_keys(seed, "select", keys), keys, images, ms, strict=True))
        rows.sort(key=lambda r: (r[0], r[1]))
        order[c] = rows
    return order


def assign_ordered(
    order: Mapping[str, Sequence[tuple[int, str, str, SourceMask]]],
    quota: Mapping[str, list[int]],
    sizes: Sequence[int],
) -> dict[str, list[list[SourceMask]]]:
    """:func:`assign` on candidates already ordered by :func:`order_candidates` (the
    planner orders them once and reuses the order when it re-plans around rejected masks)."""
    nsplit = len(sizes)
    image_split: dict[str, int] = {}
    chosen: dict[str, list[list[SourceMask]]] = {c: [[] for _ in sizes] for c in order}
    taken: set[str] = set()
    slack = {c: len(order[c]) - sum(quota.get(c, [0])) for c in order}
    for c in sorted(order, key=lambda c: (slack[c], c)):
        want = list(quota.get(c, [0] * nsplit))
        if not any(want):
            continue
        need = list(want)
        for _, mk, g, m in order[c]:  # images already placed by rarer categories first
            k = image_split.get(g)
            if k is not None and need[k] > 0:
                chosen[c][k].append(m)
                taken.add(mk)
                need[k] -= 1
        left = sum(need)
        for _, mk, g, m in order[c]:
            if left == 0:
                break
            if mk in taken:
                continue
            k = image_split.get(g)
            if k is None:
                k = max(
                    (i for i in range(nsplit) if need[i] > 0),
                    key=lambda i: (need[i] / want[i], -i),
                )
                image_split[g] = k
            if need[k] > 0:
                chosen[c][k].append(m)
                taken.add(mk)
                need[k] -= 1
                left -= 1
    _refill(order, chosen, taken, image_split, sizes)
    return chosen


def _refill(
    order: Mapping[str, Sequence[tuple[int, str, str, SourceMask]]],
    chosen: dict[str, list[list[SourceMask]]],
    taken: set[str],
    image_split: dict[str, int],
    sizes: Sequence[int],
) -> None:
    """Fill splits left short (image grouping) from categories with spare instances."""
    for k, size in enumerate(sizes):
        short = size - sum(len(v[k]) for v in chosen.values())
        if short <= 0:
            continue
        spare = {
            c: [r for r in rows if r[1] not in taken and image_split.get(r[2], k) == k]
            for c, rows in order.items()
        }
        pos = dict.fromkeys(spare, 0)
        while short > 0:
            live = [c for c in spare if pos[c] < len(spare[c])]
            if not live:
                have = {c: sum(len(x) for x in v) for c, v in chosen.items()}
                name = SPLITS[k] if len(sizes) == 3 else str(k)
                raise PlanError(
                    f"split {name}: {short} instance(s) short after grouping by image; "
                    f"chosen per category: {have}; lower --split-sizes or add sources"
                )
            c = max(live, key=lambda c: (len(spare[c]) - pos[c], c))
            _, mk, g, m = spare[c][pos[c]]
            pos[c] += 1
            if image_split.setdefault(g, k) != k or mk in taken:
                continue
            chosen[c][k].append(m)
            taken.add(mk)
            short -= 1
