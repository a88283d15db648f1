"""Batching of dataset items (dicts): tensors of one shape are stacked, the rest listed."""

from __future__ import annotations

from typing import Any

import torch


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge item dicts into a batch.

    ``image`` ``[B,3,S,S]``, ``audio`` ``[B,N,1,96,64]`` and ``mask`` ``[B,s,s]`` are
    stacked; ``index`` becomes a ``LongTensor``; variable-size entries (``mask_full``,
    ``size``, ``resized``, names) stay lists.
    """
    out: dict[str, Any] = {}
    for key in items[0]:
        vals = [it[key] for it in items]
        if key == "index":
            out[key] = torch.tensor(vals, dtype=torch.long)
        elif key == "mask_full":
            out[key] = vals
        elif isinstance(vals[0], torch.Tensor) and all(v.shape == vals[0].shape for v in vals):
            out[key] = torch.stack(vals)
        else:
            out[key] = vals
    return out
