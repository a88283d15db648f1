"""F is undefined (``None`` / JSON null / ``-`` in text) when every target is empty.

F skips frames whose ground truth is empty; when no frame is left, every protocol (dataset,
avsbench, authors, the per-batch official F) says so instead of reporting 0.0, and the text
output of ``avsmodel eval`` explains the ``-``.
"""

from __future__ import annotations

import json
import sys

import pytest
import torch

from avsmodel.evaluation.metrics import PROTOCOLS, MetricAccumulator, f_score
from avsmodel.evaluation.scoring import EvalAccumulator
from avsynth.manifest import ManifestWriter, read_manifest
from tests.compose_fixtures import build_composed, compose_world

pytestmark = pytest.mark.timeout(300)


def _logits(kind: str, n: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(n)
    return {
        "background": torch.full((n, 6, 6), -8.0),
        "foreground": torch.full((n, 6, 6), 8.0),
        "random": torch.randn(n, 6, 6, generator=g) * 4,
    }[kind]


@pytest.mark.parametrize("kind", ["background", "foreground", "random"])
@pytest.mark.parametrize("n", [1, 5, 7, 20])
def test_every_protocol_says_none_when_all_targets_are_empty(kind: str, n: int) -> None:
    logits, gt = _logits(kind, n), torch.zeros(n, 6, 6)
    for p in PROTOCOLS:
        assert f_score(logits, gt, protocol=p, frames_per_clip=5) is None, p
    for k in (1, 4, 5):
        assert f_score(logits, gt, batch_size=k) is None, k
    acc = EvalAccumulator(fscore_batch=4, frames_per_clip=5)
    for i in range(n):
        acc.add(logits[i], gt[i])
    assert acc.fscores() == {"authors": None, "avsbench": None, "dataset": None}
    assert acc.fscore(official=True) is None


def test_one_non_empty_frame_makes_f_defined() -> None:
    logits, gt = _logits("foreground", 6), torch.zeros(6, 6, 6)
    gt[5, :3] = 1  # the last frame's target is the top half; all pixels are predicted
    acc = MetricAccumulator()
    acc.update(logits, gt)
    p, r = 0.5, 1.0  # precision 18/36, recall 1 at every threshold
    assert acc.compute()["f_score"] == pytest.approx(1.3 * p * r / (0.3 * p + r), abs=1e-6)


@pytest.fixture(scope="module")
def offscreen_only(tmp_path_factory):
    root = tmp_path_factory.mktemp("undef")
    w, cmap = compose_world(root / "w")
    r = build_composed(w, cmap, root / "b")
    sub = r.manifest.parent / "offscreen_only.jsonl"  # beside the media it points at
    with ManifestWriter(sub) as wr:
        for t in read_manifest(r.manifest, split="test"):
            if t.composition == "offscreen":
                wr.write(t)
    return sub


def test_eval_reports_null_f_in_every_protocol(offscreen_only, capsys) -> None:
    from avsmodel.cli import main

    base = ["avsmodel", "eval", "--model", "sam_oracle_tiny", "--oracle", "multimask"]
    base += ["--manifest", str(offscreen_only), "--fscore-batch", "4"]
    outs = {}
    for extra in (["--json"], []):
        sys.argv = [*base, *extra]
        try:
            main()
        except SystemExit as e:
            assert not e.code
        outs[bool(extra)] = capsys.readouterr().out
    d = json.loads(outs[True])
    assert d["n"] == 2
    assert d["fscore"] == {"authors": None, "avsbench": None, "dataset": None}
    assert d["fscore_official"] is None
    assert d["per_composition"]["offscreen"]["fscore"] is None
    text = outs[False]
    for p in PROTOCOLS:
        assert f"F    -  ({p} protocol)" in text
    assert "F    -  (batches of 4 frames)" in text
    assert "undefined (null in --json): every target there is empty" in text
    assert "0.0000  (" not in text
