"""Lexical evidence for map suggestions: tokens and lemmas of a VGGSound label against the
names, synonyms, synset words and definitions of LVIS categories and against Open Images
display names.

Words are lower-cased, split on anything that is not a letter or digit, reduced to a lemma by
a few English rules (plural ``-s``/``-es``/``-ies``, verb ``-ing``/``-ed`` with a doubled final
consonant undone, a handful of irregular plurals) and filler words ("playing", "sound", "of")
are dropped. Two lemmas match exactly (weight 1), as agent noun and verb (``mow`` /
``mower``, weight 0.8), as a long common prefix (``saxophon`` / ``saxophonist``, weight 0.7)
or as the head of a compound (``boat`` / ``motorboat``, weight 0.6).
Each word is weighted by its inverse document frequency over all candidate names, so a rare
word such as ``banjo`` counts more than ``machine``.

Quick use::

    from avsynth.catmap.lexical import LexicalIndex, candidates_from_vocabulary
    index = LexicalIndex(candidates_from_vocabulary(Vocabulary.shipped()))
    index.scores("playing banjo")  # {candidate key: (score, ["name: banjo"])}
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from avsynth.catmap.vocab import Vocabulary, data_path

STOPWORDS = frozenset(
    "a an and the of on in at by with for to from or etc other others some something "
    "playing play sound sounds noise noises using use being small large big".split()
)
IRREGULAR = {
    "people": "person",
    "men": "man",
    "women": "woman",
    "children": "child",
    "geese": "goose",
    "mice": "mouse",
    "feet": "foot",
    "teeth": "tooth",
    "oxen": "ox",
    "wolves": "wolf",
    "knives": "knife",
    "leaves": "leaf",
}
NAME_WEIGHT, SYNSET_WEIGHT, DEFINITION_WEIGHT = 1.0, 0.9, 0.15
_WORD = re.compile(r"[a-z0-9]+")


def lemma(word: str) -> str:
    """A crude English lemma: ``buzzing`` -> ``buzz``, ``geese`` -> ``goose``, ``lions`` ->
    ``lion``; words of three letters or fewer are kept as they are."""
    w = word.lower()
    if w in IRREGULAR:
        return IRREGULAR[w]
    if len(w) <= 3:
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            stem = w[: -len(suffix)]
            if len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]  # drumming -> drum, clapped -> clap (but not buzz, yell)
            return stem
    return w


def lemmas(text: str) -> tuple[str, ...]:
    """Content lemmas of ``text`` in order, without filler words and repeats."""
    out: list[str] = []
    for word in _WORD.findall(text.lower().replace("_", " ")):
        if word in STOPWORDS:
            continue
        lem = lemma(word)
        if lem not in STOPWORDS and lem not in out:
            out.append(lem)
    return tuple(out)


def relation(a: str, b: str) -> float:
    """How well lemma ``a`` matches lemma ``b``: 1 equal, 0.8 verb / agent noun (``mow`` /
    ``mower``, also ``buse`` / ``bus``), 0.7 a shared prefix of at least 5 letters differing
    by at most 3, 0.6 the head of a compound (``boat`` / ``motorboat``), else 0."""
    if a == b:
        return 1.0
    if b in (a + "er", a + "r", a + "or", a + "e") or a in (b + "er", b + "r", b + "or", b + "e"):
        return 0.8
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 5 and long_.startswith(short) and len(long_) - len(short) <= 3:
        return 0.7
    if len(short) >= 4 and len(long_) - len(short) >= 3 and long_.endswith(short):
        return 0.6
    return 0.0


@dataclass(frozen=True)
class Candidate:
    """A visual class that a VGGSound label may join.

    Attributes:
        source: ``lvis`` or ``openimages``.
        name: LVIS category name or Open Images display name.
        ident: LVIS synset or Open Images MID.
        phrases: Names to match: the name itself and, for LVIS, its synonyms.
        synset_word: The word of the WordNet synset (``racer`` for ``racer.n.02``).
        definition: The LVIS definition ("" for Open Images).
    """

    source: str
    name: str
    ident: str
    phrases: tuple[str, ...]
    synset_word: str = ""
    definition: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.name)


def read_lvis_definitions() -> dict[str, str]:
    """LVIS category name -> definition, from the shipped ``lvis_v1_definitions.tsv``."""
    text = data_path("lvis_v1_definitions.tsv").read_text("utf-8")
    rows = [line.split("\t", 1) for line in text.splitlines()[1:] if line]
    return {name: definition for name, definition in rows}


def readable(name: str) -> str:
    """An LVIS name as words: ``bus_(vehicle)`` -> ``bus (vehicle)``."""
    return name.replace("_", " ")


def candidates_from_vocabulary(vocab: Vocabulary) -> list[Candidate]:
    """Every LVIS category (names, synonyms, synset word, definition) and every Open Images
    class (display name) of ``vocab``, sorted by source and name."""
    definitions = read_lvis_definitions()
    out = []
    for name in sorted(vocab.lvis):
        cat = vocab.lvis[name]
        phrases = tuple(dict.fromkeys(readable(p) for p in (name, *cat.synonyms)))
        word = readable(cat.synset.split(".")[0])
        out.append(Candidate("lvis", name, cat.synset, phrases, word, definitions.get(name, "")))
    for mid, display in sorted(vocab.openimages.items(), key=lambda kv: kv[1]):
        out.append(Candidate("openimages", display, mid, (display,)))
    return out


class LexicalIndex:
    """Scores VGGSound labels against candidates by their words (see the module docstring)."""

    def __init__(self, candidates: Sequence[Candidate]) -> None:
        self.candidates = list(candidates)
        self._phrases: list[list[tuple[str, ...]]] = []
        self._synset: list[tuple[str, ...]] = []
        self._definition: list[frozenset[str]] = []
        df: dict[str, int] = defaultdict(int)
        for c in self.candidates:
            phrases = [p for p in (lemmas(x) for x in c.phrases) if p]
            self._phrases.append(phrases)
            self._synset.append(lemmas(c.synset_word))
            self._definition.append(frozenset(lemmas(c.definition)))
            for word in {w for p in phrases for w in p}:
                df[word] += 1
        n = len(self.candidates)
        self._idf = {w: math.log(1.0 + n / d) for w, d in df.items()}
        self._max_idf = math.log(1.0 + n)
        self._by_word: dict[str, set[int]] = defaultdict(set)
        for i in range(n):
            words = {w for p in self._phrases[i] for w in p} | set(self._synset[i])
            for w in words | self._definition[i]:
                self._by_word[w].add(i)
        self._vocab = sorted(self._by_word)
        self._related_cache: dict[str, dict[str, float]] = {}

    def idf(self, word: str) -> float:
        return self._idf.get(word, self._max_idf)

    def _related(self, word: str) -> dict[str, float]:
        if word not in self._related_cache:
            found = {v: r for v in self._vocab if (r := relation(word, v)) > 0}
            self._related_cache[word] = found
        return self._related_cache[word]

    def _cover(self, label: Sequence[str], target: Iterable[str], rel) -> tuple[float, list]:
        """Share of ``label``'s idf matched in ``target``, and the matched target words."""
        target = tuple(target)
        got, hits = 0.0, []
        for w in label:
            best = max(((rel[w].get(t, 0.0), t) for t in target), default=(0.0, ""))
            if best[0] > 0:
                got += best[0] * self.idf(w)
                hits.append(best[1])
        total = sum(self.idf(w) for w in label)
        return (got / total if total else 0.0), hits

    def _phrase_score(self, parts, phrase: tuple[str, ...], rel) -> tuple[float, list]:
        """Best over the label's comma parts: the candidate phrase must be covered by the
        label (``dog`` in ``dog barking``), and covering more of the label helps."""
        best: tuple[float, list] = (0.0, [])
        phrase_total = sum(self.idf(w) for w in phrase)
        for part in parts:
            label_cov, hits = self._cover(part, phrase, rel)
            inv = {t: {w: rel[w].get(t, 0.0) for w in part} for t in phrase}
            got = sum(max(inv[t].values(), default=0.0) * self.idf(t) for t in phrase)
            phrase_cov = got / phrase_total if phrase_total else 0.0
            score = phrase_cov * (0.6 + 0.4 * label_cov)
            if score > best[0]:
                best = (score, hits)
        return best

    def scores(self, label: str) -> dict[tuple[str, str], tuple[float, list[str]]]:
        """Lexical score in [0, 1] and its evidence for every candidate sharing a word.

        Returns:
            ``{(source, name): (score, evidence)}``, e.g. ``("lvis", "banjo"): (1.0,
            ["name: banjo"])``; candidates without a shared word are left out.
        """
        parts = [p for p in (lemmas(x) for x in (label, *label.split(","))) if p]
        words = sorted({w for p in parts for w in p})
        rel = {w: self._related(w) for w in words}
        touched = sorted({i for w in words for v in rel[w] for i in self._by_word[v]})
        out = {}
        for i in touched:
            c = self.candidates[i]
            name, evidence = 0.0, []
            for phrase in self._phrases[i]:
                s, hits = self._phrase_score(parts, phrase, rel)
                if s > name:
                    name, evidence = s, [f"name: {' '.join(hits)}"]
            syn, hits = (
                self._phrase_score(parts, self._synset[i], rel) if self._synset[i] else (0, [])
            )
            if SYNSET_WEIGHT * syn > NAME_WEIGHT * name:
                name, evidence = SYNSET_WEIGHT * syn, [f"synset: {' '.join(hits)}"]
            definition, dhits = self._cover(words, self._definition[i], rel)
            if dhits:
                evidence.append(f"definition: {' '.join(sorted(set(dhits)))}")
            score = min(1.0, name + DEFINITION_WEIGHT * definition)
            if score > 0:
                out[c.key] = (score, evidence)
        return out
