"""The evaluation loader: batched frames, worker processes, pinned memory, DDP shards.

Frames are cut, in dataset order, into batches of ``batch_size``; under DDP batch ``k`` goes
to rank ``k mod world_size`` (:class:`ShardedBatches`). Each batch therefore holds the same
frames as in one process with the same batch size, so a rank computes for every frame what
one process would, and :meth:`avsmodel.evaluation.scoring.EvalAccumulator.reduce` puts the
frames back in dataset order: the result equals one process's, bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from torch.utils.data import DataLoader, Sampler


class ShardedBatches(Sampler[list[int]]):
    """Batches of consecutive dataset indices, batch ``k`` to rank ``k mod world_size``.

    Args:
        n: Dataset length.
        batch_size: Frames per batch (the last one may be shorter).
        rank: This process's rank.
        world_size: Number of processes.
    """

    def __init__(self, n: int, batch_size: int, *, rank: int = 0, world_size: int = 1) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.n, self.batch_size, self.rank, self.world = n, batch_size, rank, world_size

    def batches(self) -> list[list[int]]:
        """This rank's batches, in order."""
        starts = range(self.rank * self.batch_size, self.n, self.batch_size * self.world)
        return [list(range(s, min(s + self.batch_size, self.n))) for s in starts]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self.batches())


def eval_loader(
    dataset: Any,
    *,
    batch_size: int,
    workers: int = 0,
    device: str = "cpu",
    rank: int = 0,
    world_size: int = 1,
) -> DataLoader:
    """A DataLoader over ``dataset`` for evaluation on ``device``.

    Args:
        dataset: Items as :func:`avsmodel.data.collate` batches them (with ``index``).
        batch_size: Frames per forward pass.
        workers: Loader processes (decoding overlaps the forward passes).
        device: Where the model runs: on CUDA batches come in pinned (page-locked) memory,
            so that their copies to the GPU can be asynchronous.
        rank: This process's rank (DDP).
        world_size: Number of processes (DDP).
    """
    from avsmodel.data import collate

    sampler = ShardedBatches(len(dataset), batch_size, rank=rank, world_size=world_size)
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=str(device).startswith("cuda"),
        prefetch_factor=2 if workers > 0 else None,
        persistent_workers=False,
    )
