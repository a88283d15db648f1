"""``ShardSampler`` gives each rank the contiguous slice of every global batch its docstring
names, so a global step covers the same samples whatever the number of processes."""

from __future__ import annotations

import pytest

from avsmodel.distributed import ShardSampler


@pytest.mark.parametrize("world", [1, 2, 3])
def test_rank_takes_contiguous_slices_of_each_global_batch(world: int) -> None:
    n, b = 23, 2
    order = ShardSampler(n, world_size=world, batch_size=b, seed=5).order()
    assert sorted(order) == sorted(set(order)) and len(order) == (n // (b * world)) * b * world
    for rank in range(world):
        got = list(ShardSampler(n, rank=rank, world_size=world, batch_size=b, seed=5))
        want = []
        for k in range(len(order) // (b * world)):
            want += order[k * b * world + rank * b : k * b * world + (rank + 1) * b]
        assert got == want
    # Global step t covers the same samples for any world size (same seed, same epoch).
    one = ShardSampler(n, world_size=1, batch_size=b * world, seed=5).order()
    assert order == one


def test_evaluation_keeps_every_sample_once() -> None:
    # No shuffling and no dropping: the ranks' slices of the last, short global batch are
    # ceil(len / W) long, and together the ranks see every index exactly once.
    n, b, world = 11, 2, 3
    parts = [
        list(
            ShardSampler(n, rank=r, world_size=world, batch_size=b, shuffle=False, drop_last=False)
        )
        for r in range(world)
    ]
    assert parts == [[0, 1, 6, 7], [2, 3, 8, 9], [4, 5, 10]]
