"""Few-shot subsets of a composed manifest keep per-access audio draws within their pool.

The pool of a record is (composition, category) for composed records and the category for
single-source ones: a draw never turns a single clip into a mix, a mix into a single clip, or
crosses categories, whatever subset ``train_fraction`` keeps.
"""

from __future__ import annotations

import pytest

from avsmodel.data import train_val_datasets
from avsynth.manifest import read_manifest
from tests.compose_fixtures import build_composed, compose_world

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def composed(tmp_path_factory):
    root = tmp_path_factory.mktemp("fewshot")
    w, cmap = compose_world(root / "world")
    build_composed(w, cmap, root / "out")
    return root / "out" / "manifest.jsonl"


def _pool(record) -> tuple[str, str]:
    return (record.composition, record.category)


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.6, 1.0])
def test_per_access_draws_stay_in_the_pool_after_few_shot(composed, fraction):
    by_id = {t.id: t for t in read_manifest(composed)}
    train, _, _ = train_val_datasets(
        composed, image_size=64, audio_examples=1, resample_audio_p=1.0, train_fraction=fraction
    )
    kept = train.ids()
    assert {by_id[i].composition for i in kept} >= {"single", "multi"} or fraction < 0.3
    drawn_other = 0
    for epoch in range(3):
        train.set_epoch(epoch)
        for i, tid in enumerate(kept):
            j = train.audio_index(i)
            assert 0 <= j < len(kept)
            assert _pool(by_id[kept[j]]) == _pool(by_id[tid]), (tid, kept[j])
            drawn_other += j != i
    assert drawn_other > 0  # the draws do move clips (p = 1.0)


def test_categories_are_categories(composed):
    train, _, _ = train_val_datasets(composed, image_size=64, audio_examples=1)
    want = sorted({t.category for t in read_manifest(composed) if t.split == "train"})
    assert train.categories() == want
