"""``candidates.yaml``: suggested joins written in the category-map schema, each marked for
review.

For each VGGSound label the best LVIS category and the best Open Images class are proposed
when they score at least :data:`avsynth.catmap.suggest.JOIN_THRESHOLD`. Labels that share a
partner are grouped into one category (connected components over shared partners), so the
file keeps the map's rule that no LVIS category, MID or label serves two categories, and it
loads with :func:`avsynth.catmap.load_map`. Every label and partner line ends in a
``# REVIEW`` comment with its score; labels without a good enough partner are listed at the
end. Example::

    - name: banjo
      lvis:
        - {name: "banjo", synset: "banjo.n.01"}  # REVIEW 0.93 for 'playing banjo'
      openimages:
        - {mid: "/m/018j2", name: "Banjo"}  # REVIEW 0.91 for 'playing banjo'
      vggsound:
        - "playing banjo"  # REVIEW best 0.93: lvis banjo
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

from avsynth.catmap.suggest import (
    JOIN_THRESHOLD,
    NO_EMBEDDINGS_NOTE,
    Suggestion,
    SuggestResult,
    category_name,
    suggestions_json,
)
from avsynth.storage.atomic import atomic_write_text
from avsynth.storage.out_paths import check_out_dir


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def group_joins(result: SuggestResult) -> list[tuple[str, list[str], list[Suggestion]]]:
    """``(category name, labels, partners)`` per group of labels sharing a partner, sorted by
    name; each partner appears once, with the best score any of its labels gave it."""
    partners = {
        label: [s for s in result.best.get(label, []) if s.score >= JOIN_THRESHOLD]
        for label in result.suggestions
    }
    parent = {label: label for label in partners}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner: dict[tuple[str, str], str] = {}
    for label in sorted(partners):
        for s in partners[label]:
            key = (s.source, s.ident)
            if key in owner:
                a, b = sorted((find(owner[key]), find(label)))
                parent[b] = a
            else:
                owner[key] = label
    groups: dict[str, list[str]] = defaultdict(list)
    for label in sorted(partners):
        if partners[label]:
            groups[find(label)].append(label)
    out, used = [], set(result.taken)
    for labels in groups.values():
        best: dict[tuple[str, str], Suggestion] = {}
        for label in labels:
            for s in partners[label]:
                key = (s.source, s.ident)
                if key not in best or s.score > best[key].score:
                    best[key] = s
        members = sorted(best.values(), key=lambda s: (s.source, -s.score, s.name))
        name = category_name(members[0])
        unique, n = name, 2
        while unique in used:
            unique, n = f"{name}_{n}", n + 1
        used.add(unique)
        out.append((unique, labels, members))
    return sorted(out, key=lambda g: g[0])


def _join_comment(label: str, result: SuggestResult) -> str:
    top = result.suggestions[label][0]
    return f"# REVIEW best {top.score:.2f}: {top.source} {top.name}"


def candidates_yaml(result: SuggestResult) -> str:
    """The text of ``candidates.yaml`` (see the module docstring)."""
    lines = [
        "# Candidate joins from `avsynth suggest-map`. REVIEW EVERY LINE before copying a",
        "# category into a map: keep a join only if the object visibly makes the sound (not",
        "# an object that merely appears with it), then run `avsynth check-map`.",
    ]
    if result.excluded_map:
        lines.append(f"# Left out: the labels, LVIS categories and MIDs of {result.excluded_map}.")
    if result.embeddings is None:
        lines.append(f"# Note: {NO_EMBEDDINGS_NOTE}.")
    else:
        lines.append(f"# Evidence: lexical and sentence embeddings ({result.embeddings}).")
    lines += ["schema_version: 1", "name: suggested", "categories:"]
    groups = group_joins(result)
    for name, labels, members in groups:
        lines.append(f"  - name: {name}")
        for source in ("lvis", "openimages"):
            mine = [s for s in members if s.source == source]
            if not mine:
                continue
            lines.append(f"    {source}:")
            for s in mine:
                who = [lab for lab in labels if any(b.ident == s.ident for b in result.best[lab])]
                ref = (
                    f"{{name: {_q(s.name)}, synset: {_q(s.ident)}}}"
                    if source == "lvis"
                    else f"{{mid: {_q(s.ident)}, name: {_q(s.name)}}}"
                )
                lines.append(f"      - {ref}  # REVIEW {s.score:.2f} for {who[0]!r}")
        lines.append("    vggsound:")
        for label in labels:
            lines.append(f"      - {_q(label)}  {_join_comment(label, result)}")
    if not groups:
        lines[-1] = "categories: []  # nothing scored high enough"
    alone = [lab for lab in result.suggestions if not any(lab in g[1] for g in groups)]
    if alone:
        lines.append(f"# No partner scored {JOIN_THRESHOLD} or more for these labels:")
        for label in alone:
            top = result.suggestions[label][0] if result.suggestions[label] else None
            hint = f" (best: {top.source} {top.name}, {top.score:.2f})" if top else ""
            lines.append(f"#   {label}{hint}")
    return "\n".join(lines) + "\n"


def write_suggestions(result: SuggestResult, out: str | os.PathLike[str]) -> tuple[str, str]:
    """Write ``OUT/suggestions.json`` and ``OUT/candidates.yaml`` (atomically).

    Returns:
        The two paths.
    """
    folder = check_out_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = (Path(folder) / "suggestions.json", Path(folder) / "candidates.yaml")
    atomic_write_text(paths[0], suggestions_json(result))
    atomic_write_text(paths[1], candidates_yaml(result))
    return str(paths[0]), str(paths[1])
