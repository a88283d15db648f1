"""Suggest category-map joins: for every VGGSound label, LVIS categories and Open Images
classes ranked by one score, with the evidence behind it.

The score of a candidate for a label is, with sentence embeddings (the ``suggest`` extra,
:mod:`avsynth.catmap.embed`), ``0.55 * lexical + 0.45 * embedding``, and without them the
lexical score alone (:mod:`avsynth.catmap.lexical`). ``embedding`` is the best cosine
similarity between the label and the candidate's names (LVIS synonyms included); LVIS
definitions count as lexical evidence only (embedding them would cost most of the run time).
Scores are rounded to 4 decimals and ties are broken by source and name, so the ranking is
deterministic.

Quick use::

    from avsynth.catmap.suggest import suggest_map
    from avsynth.catmap.candidates import write_suggestions
    result = suggest_map(top=5, existing="46")     # leave out what 46.yaml holds
    write_suggestions(result, "suggest_out")       # suggestions.json, candidates.yaml
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from avsynth.catmap.lexical import Candidate, LexicalIndex, candidates_from_vocabulary
from avsynth.catmap.load import load_map
from avsynth.catmap.schema import CategoryMap
from avsynth.catmap.vocab import Vocabulary

LEXICAL_WEIGHT, EMBEDDING_WEIGHT = 0.55, 0.45
JOIN_THRESHOLD = 0.6  # a candidate at least this good is proposed in candidates.yaml
NO_EMBEDDINGS_NOTE = (
    "sentence embeddings were not used (install the 'suggest' extra: "
    "pip install 'avsynth[suggest]'); scores are lexical only"
)


@dataclass(frozen=True)
class Suggestion:
    """One ranked candidate for a VGGSound label.

    Attributes:
        source: ``lvis`` or ``openimages``.
        name: LVIS category name or Open Images display name.
        ident: LVIS synset or Open Images MID.
        score: The one score candidates are ranked by, in [0, 1].
        evidence: ``{"lexical": float, "embedding": float | None, "matched": [...]}``.
    """

    source: str
    name: str
    ident: str
    score: float
    evidence: dict

    def as_json(self) -> dict:
        return {"source": self.source, "name": self.name, "score": self.score,
                "evidence": self.evidence}  # fmt: skip


@dataclass
class SuggestResult:
    """What :func:`suggest_map` found.

    Attributes:
        suggestions: VGGSound label -> candidates, best first (labels sorted).
        embeddings: The sentence model used, or ``None`` (lexical evidence only).
        excluded_map: Name of the map whose labels and partners were left out, if any.
        taken: Category names of that map (candidates.yaml avoids them).
        best: VGGSound label -> the best LVIS and the best Open Images candidate (whatever
            ``top``), the partners candidates.yaml proposes when they score at least
            :data:`JOIN_THRESHOLD`.
    """

    suggestions: dict[str, list[Suggestion]]
    embeddings: str | None
    best: dict[str, list[Suggestion]] = field(default_factory=dict)
    excluded_map: str | None = None
    taken: frozenset[str] = field(default_factory=frozenset)


def _embedding_scores(
    encoder, labels: Sequence[str], candidates: Sequence[Candidate]
) -> np.ndarray:
    """Best cosine similarity of each label (rows) with each candidate's texts (columns)."""
    texts, owner = [], []
    for j, c in enumerate(candidates):
        for t in c.phrases:
            texts.append(t)
            owner.append(j)
    sims = encoder.encode(list(labels)) @ encoder.encode(texts).T
    best = np.full((len(labels), len(candidates)), -1.0, np.float32)
    np.maximum.at(best.T, np.asarray(owner), sims.T)
    return best


def _rank(
    lex: dict, sims: np.ndarray | None, candidates: Sequence[Candidate], top: int
) -> tuple[list[Suggestion], list[Suggestion]]:
    """One label's ``top`` suggestions and its best candidate of each source."""
    lexical = np.array([lex.get(c.key, (0.0, []))[0] for c in candidates], np.float64)
    if sims is None:
        scores = lexical
    else:
        scores = LEXICAL_WEIGHT * lexical + EMBEDDING_WEIGHT * np.maximum(sims, 0.0)
    scores = np.round(scores, 4)
    order = sorted(range(len(candidates)), key=lambda j: (-scores[j], candidates[j].key))

    def suggestion(j: int) -> Suggestion:
        c = candidates[j]
        evidence = {
            "lexical": round(float(lexical[j]), 4),
            "embedding": None if sims is None else round(float(sims[j]), 4),
            "matched": lex.get(c.key, (0.0, []))[1],
        }
        return Suggestion(c.source, c.name, c.ident, float(scores[j]), evidence)

    firsts: dict[str, int] = {}
    for j in order:
        firsts.setdefault(candidates[j].source, j)
        if len(firsts) == 2:
            break
    return [suggestion(j) for j in order[:top]], [
        suggestion(j) for j in sorted(firsts.values(), key=order.index)
    ]


def suggest_map(
    *,
    top: int = 5,
    existing: str | os.PathLike[str] | CategoryMap | None = None,
    vocabulary: Vocabulary | None = None,
    embeddings: bool = True,
    labels: Sequence[str] | None = None,
    cache: bool = True,
) -> SuggestResult:
    """Rank LVIS categories and Open Images classes for every VGGSound label.

    Args:
        top: Candidates kept per label.
        existing: A category map (path, shipped name such as ``46``, or loaded map): its
            VGGSound labels are not suggested for, and its LVIS categories and Open Images
            MIDs are not proposed.
        vocabulary: Label lists (default: the shipped ones).
        embeddings: Use sentence embeddings when the ``suggest`` extra is installed.
        labels: Only these VGGSound labels (default: all of the vocabulary's).
        cache: Reuse sentence vectors cached by an earlier run (same texts, same model:
            the same bytes, see :mod:`avsynth.catmap.embed`).

    Returns:
        A :class:`SuggestResult`.

    Raises:
        MapError: ``existing`` cannot be read.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    vocab = vocabulary or Vocabulary.shipped()
    cmap = (
        load_map(existing)
        if existing is not None and not isinstance(existing, CategoryMap)
        else existing
    )
    candidates = candidates_from_vocabulary(vocab)
    wanted = sorted(labels if labels is not None else vocab.vggsound)
    if cmap is not None:
        held = set(cmap.lvis_to_category()) | set(cmap.mid_to_category())
        candidates = [c for c in candidates if c.name not in held or c.source != "lvis"]
        candidates = [c for c in candidates if c.source != "openimages" or c.ident not in held]
        wanted = [w for w in wanted if w not in cmap.vggsound_to_category()]
    index = LexicalIndex(candidates)
    encoder = None
    if embeddings:
        from avsynth.catmap.embed import MODEL_NAME, load_encoder

        encoder = load_encoder(cache=cache)
    emb = _embedding_scores(encoder, wanted, candidates) if encoder and wanted else None
    out: dict[str, list[Suggestion]] = {}
    best: dict[str, list[Suggestion]] = {}
    for row, label in enumerate(wanted):
        sims = emb[row] if emb is not None else None
        out[label], best[label] = _rank(index.scores(label), sims, candidates, top)
    return SuggestResult(
        suggestions=out,
        best=best,
        embeddings=MODEL_NAME if encoder is not None else None,
        excluded_map=cmap.name if cmap is not None else None,
        taken=frozenset(cmap.names) if cmap is not None else frozenset(),
    )


def suggestions_json(result: SuggestResult) -> str:
    """``{"suggestions": {label: [{source, name, score, evidence}, ...]}, ...}`` as text.

    Besides ``suggestions`` the object says which sentence model was used (``embeddings``,
    ``null`` for none, with a ``note``) and which map's joins were left out (``excluded_map``).
    """
    doc: dict = {
        "suggestions": {k: [s.as_json() for s in v] for k, v in result.suggestions.items()},
        "embeddings": result.embeddings,
        "excluded_map": result.excluded_map,
    }
    if result.embeddings is None:
        doc["note"] = NO_EMBEDDINGS_NOTE
    return json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def category_name(s: Suggestion) -> str:
    """A map category name for a partner: ``bus_(vehicle)`` -> ``bus_vehicle``."""
    return re.sub(r"[^a-z0-9]+", "_", s.name.lower()).strip("_") or "category"
