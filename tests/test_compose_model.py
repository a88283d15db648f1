"""avsmodel on composed manifests: training runs, eval reports J/F/predicted area per
composition (text and --json)."""

from __future__ import annotations

import json
import sys

import pytest
from compose_fixtures import build_composed, compose_world

from avsmodel.evaluation import evaluate
from avsmodel.training import train
from avsynth.manifest import ManifestWriter, read_manifest

pytestmark = pytest.mark.timeout(300)


def test_composition_scores_by_hand():
    import torch

    from avsmodel.composition import CompositionScores

    s = CompositionScores()
    gt = torch.zeros(4, 4, dtype=torch.bool)
    gt[:2, :2] = True
    lg = torch.full((4, 4), -5.0)
    lg[:2, :] = 5.0  # predicts the top half: IoU 4/8, area 8/16
    s.add("multi", lg, gt)
    s.add("offscreen", lg, torch.zeros(4, 4, dtype=torch.bool))  # 8 of 16 pixels background
    s.add("offscreen", torch.full((4, 4), -5.0), torch.zeros(4, 4, dtype=torch.bool))
    r = s.summary()
    assert r["multi"]["miou"] == pytest.approx(0.5) and r["multi"]["pred_area"] == 0.5
    assert r["multi"]["n"] == 1 and r["multi"]["fscore"] > 0
    assert r["offscreen"] == {"miou": pytest.approx(0.75), "fscore": None, "n": 2,
                              "pred_area": 0.25}  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cm")
    w, cmap = compose_world(root / "w")
    r = build_composed(w, cmap, root / "b", split_sizes=(40, 10, 10))
    ck = train(r.manifest, model="sama_avs_tiny", out=root / "run", epochs=1, progress=False,
               batch_size=4, val_batch_size=8, workers=0).best_path  # fmt: skip
    return r.manifest, ck


@pytest.mark.slow
def test_eval_per_composition(run):
    manifest, ck = run
    m = evaluate(ck, manifest=manifest, split="test", progress=False)
    recs = read_manifest(manifest, split="test")
    want_n = {}
    for t in recs:
        want_n[t.composition] = want_n.get(t.composition, 0) + 1
    pc = m["per_composition"]
    assert {k: v["n"] for k, v in pc.items()} == want_n == {
        "single": 5, "multi": 3, "offscreen": 1, "partial": 1}  # fmt: skip
    off = pc["offscreen"]
    # empty target: J is the fraction of pixels predicted background, i.e. 1 - predicted area
    assert off["fscore"] is None and off["miou"] == pytest.approx(1 - off["pred_area"], abs=1e-6)
    # each composition's numbers equal an eval of a manifest holding only that composition
    sub = manifest.parent / "multi_only.jsonl"  # next to the media it points at
    with ManifestWriter(sub) as wr:
        for t in recs:
            if t.composition == "multi":
                wr.write(t)
    only = evaluate(ck, manifest=sub, split="test", progress=False)
    assert only["miou"] == pytest.approx(pc["multi"]["miou"], abs=1e-9)
    assert only["per_composition"]["multi"] == pc["multi"]


@pytest.mark.slow
def test_eval_cli_per_composition(run, capsys):
    from avsmodel.cli import main

    manifest, ck = run
    for extra in (["--json"], []):
        sys.argv = ["avsmodel", "eval", str(ck), "--manifest", str(manifest), *extra]
        try:
            main()
        except SystemExit as e:
            assert not e.code
        out = capsys.readouterr().out
        if extra:
            d = json.loads(out)
            assert set(d["per_composition"]) == {"single", "multi", "offscreen", "partial"}
            assert {"miou", "fscore", "n", "pred_area"} == set(d["per_composition"]["multi"])
        else:
            assert "offscreen  n 1" in out and "predicted area" in out
