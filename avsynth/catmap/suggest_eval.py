"""How well ``suggest-map`` recovers the joins of a curated map.

For each VGGSound label of the map, the relevant candidates are its category's LVIS categories
and Open Images classes. **recall@k** is the share of the map's labels with at least one
relevant candidate among their top *k* suggestions. **precision@1** looks from the other side:
of all VGGSound labels (mapped or not) whose top suggestion is a partner of some category of
the map, the share that the map actually gives to that category; a label the curators left out
(e.g. ukulele, whose best partner is guitar) counts against it.

Quick use::

    from avsynth.catmap.suggest import suggest_map
    from avsynth.catmap.suggest_eval import measure
    scores = measure(suggest_map(top=3), "46")   # {"recall@1": ..., "recall@3": ..., ...}
"""

from __future__ import annotations

import os

from avsynth.catmap.load import load_map
from avsynth.catmap.schema import CategoryMap
from avsynth.catmap.suggest import SuggestResult


def partners(cmap: CategoryMap) -> dict[tuple[str, str], str]:
    """``(source, name)`` -> category, for every LVIS name and Open Images display name."""
    out = {("lvis", r.name): c.name for c in cmap.categories for r in c.lvis}
    out |= {("openimages", r.name): c.name for c in cmap.categories for r in c.openimages}
    return out


def measure(result: SuggestResult, existing: str | os.PathLike[str] | CategoryMap) -> dict:
    """recall@1, recall@3 and precision@1 of ``result`` against a curated map.

    Args:
        result: Suggestions made without ``existing`` (nothing left out), top 3 or more.
        existing: The curated map (path, shipped name or loaded map).

    Returns:
        ``{"recall@1", "recall@3", "precision@1"}`` (floats), the counts behind them
        (``labels``, ``hits@1``, ``hits@3``, ``top1_on_map``, ``top1_right``) and
        ``misses@3``: the map's labels with no relevant candidate in their top 3.
    """
    cmap = existing if isinstance(existing, CategoryMap) else load_map(existing)
    owner = partners(cmap)
    labels = cmap.vggsound_to_category()
    hits1 = hits3 = 0
    misses = []
    for label, category in sorted(labels.items()):
        ranked = [(s.source, s.name) for s in result.suggestions.get(label, [])]
        relevant = [owner.get(key) == category for key in ranked]
        hits1 += bool(relevant[:1] and relevant[0])
        hits3 += any(relevant[:3])
        if not any(relevant[:3]):
            misses.append(label)
    on_map = right = 0
    for label, ranked in sorted(result.suggestions.items()):
        if ranked and (ranked[0].source, ranked[0].name) in owner:
            on_map += 1
            right += labels.get(label) == owner[(ranked[0].source, ranked[0].name)]
    n = len(labels)
    return {
        "recall@1": hits1 / n if n else 0.0,
        "recall@3": hits3 / n if n else 0.0,
        "precision@1": right / on_map if on_map else 0.0,
        "labels": n,
        "hits@1": hits1,
        "hits@3": hits3,
        "top1_on_map": on_map,
        "top1_right": right,
        "misses@3": misses,
    }
