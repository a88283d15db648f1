"""An in-memory LRU cache of frozen image-encoder outputs (AP-SAM's encoder never sees audio).

AP-SAM's image encoder is frozen and audio-free, so an image's embedding is the same every
epoch: computing it once and reusing it skips the encoder, which is nearly all of a step's
cost (see docs/performance.md). Keys are the images' file paths as the datasets give them
(``batch["image_key"]``); images are not augmented, so a key fully determines the input.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import torch


class EmbeddingCache:
    """Least-recently-used map ``key -> CxHxW`` embedding, holding at most ``capacity`` entries.

    Embeddings are stored detached, on the device they were computed on, in the dtype they
    came out in (bf16 under bf16 autocast: 2 MiB per ViT image at 1024 px).
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self._store: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._store)

    def clear(self) -> None:
        self._store.clear()
        self.hits = self.misses = 0

    def get_or_compute(
        self,
        keys: Sequence[str],
        images: torch.Tensor,
        compute: Callable[[torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        """Embeddings of ``images`` (``Bx3xSxS``), computing only the keys not cached.

        Args:
            keys: One key per image.
            images: The batch.
            compute: The encoder, ``Mx3xSxS -> MxCxHxW``, called once on the misses.
        """
        if len(keys) != images.shape[0]:
            raise ValueError(f"{len(keys)} keys for a batch of {images.shape[0]} images")
        missing = [i for i, k in enumerate(keys) if k not in self._store]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        fresh: dict[int, torch.Tensor] = {}
        if missing:
            out = compute(images[missing]).detach()
            for j, i in enumerate(missing):
                fresh[i] = out[j]
                self._put(keys[i], out[j])
        rows = []
        for i, k in enumerate(keys):
            if i in fresh:
                rows.append(fresh[i])
            else:
                self._store.move_to_end(k)
                rows.append(self._store[k])
        return torch.stack(rows)

    def _put(self, key: str, value: torch.Tensor) -> None:
        if self.capacity == 0:
            return
        self._store[key] = value
        self._store.move_to_end(key)
        while len(self._store) > self.capacity:
            self._store.popitem(last=False)
