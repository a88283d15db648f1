"""AP-SAM's image-embedding cache: same outputs and gradients, encoder run only on new images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from _train_helpers import make_manifest

from avsmodel import build_model
from avsmodel.modeling.embedding_cache import EmbeddingCache
from avsmodel.training import train


def frozen_ap_sam(cache: int):
    torch.manual_seed(0)
    return build_model("ap_sam_tiny", train_image_encoder=False, embedding_cache=cache)


def test_cached_outputs_and_gradients_equal_uncached() -> None:
    model = frozen_ap_sam(8)
    plain = frozen_ap_sam(0)
    plain.load_state_dict(model.state_dict())
    g = torch.Generator().manual_seed(1)
    images = torch.randn(3, 3, 128, 128, generator=g)
    audio = torch.randn(3, 2, 1, 96, 64, generator=g)
    keys = ["a.jpg", "b.jpg", "c.jpg"]

    calls: list[int] = []
    encode = model.encode_image
    model.encode_image = lambda x, *a: calls.append(x.shape[0]) or encode(x, *a)

    ref = plain(images, audio)
    ref.sum().backward()
    ref_grad = plain.mask_decoder.output_upscaling[0].weight.grad.clone()
    for _ in range(2):  # first pass fills the cache, second reads it
        model.zero_grad()
        out = model(images, audio, image_keys=keys)
        out.sum().backward()
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(
            model.mask_decoder.output_upscaling[0].weight.grad, ref_grad, rtol=1e-5, atol=1e-6
        )
    assert calls == [3]  # the encoder ran once, on the first pass only
    assert model.embedding_cache.hits == 3 and model.embedding_cache.misses == 3

    # A batch mixing cached and new images encodes only the new ones.
    out = model(images[[0, 1]], audio[[0, 1]], image_keys=["a.jpg", "new.jpg"])
    assert calls == [3, 1]
    torch.testing.assert_close(out[0], ref[0], rtol=1e-5, atol=1e-6)


def test_lru_capacity_and_trainable_encoder_disables_cache() -> None:
    cache = EmbeddingCache(2)
    x = torch.arange(3, dtype=torch.float32).view(3, 1, 1, 1)
    cache.get_or_compute(["a", "b", "c"], x, lambda t: t * 10)
    assert len(cache) == 2  # "a" evicted
    out = cache.get_or_compute(["a"], x[:1], lambda t: t * 100)
    assert out.item() == 0 and cache.misses == 4
    with pytest.raises(ValueError, match="keys"):
        cache.get_or_compute(["a", "b"], x, lambda t: t)
    # The tiny default trains its image encoder: caching would serve stale embeddings.
    assert build_model("ap_sam_tiny", embedding_cache=8).embedding_cache.capacity == 0


def test_training_uses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    real = EmbeddingCache.get_or_compute

    def spy(self, keys, images, compute):
        seen.append(list(keys))
        return real(self, keys, images, compute)

    monkeypatch.setattr(EmbeddingCache, "get_or_compute", spy)
    manifest = make_manifest(tmp_path / "m", n={"train": 6, "val": 2, "test": 2})
    result = train(
        manifest,
        model="ap_sam_tiny",
        out=tmp_path / "run",
        epochs=2,
        batch_size=3,
        val_batch_size=2,
        workers=0,
        progress=False,
        config={"model": {"train_image_encoder": False, "embedding_cache": 64}},
    )
    assert result.completed_epochs == 2
    keys = {k for batch in seen for k in batch}
    assert seen and all(k.endswith((".jpg", ".png")) for k in keys)
    assert sum(len(b) for b in seen) > len(keys)  # images were seen again: served from cache
