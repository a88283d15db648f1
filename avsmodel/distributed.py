"""Process-group set-up and helpers for DistributedDataParallel training and distributed
evaluation.

``avsmodel train`` run under ``torchrun`` (which sets ``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``) joins the process group (NCCL on GPUs,
gloo on CPU) and wraps the model in DDP, which all-reduces (averages) gradients in
``backward``: the optimiser steps of all ranks see the same gradient. Without those variables
the same code runs as one process. ``avsmodel eval`` under ``torchrun`` joins the group for
the evaluation (:func:`process_group`) and gathers every rank's per-frame scores
(:func:`all_gather_objects`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Sampler


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size``, its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        """Only rank 0 writes files and shows progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """More than one process takes part."""
        return self.world_size > 1


def init_distributed(device: str | None = None) -> DistInfo:
    """Join the process group if launched by torchrun, and pick this process's device.

    Args:
        device: ``auto`` (None too: CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``;
            under torchrun ``auto``/``cuda`` take the ``LOCAL_RANK`` GPU
            (:func:`avsmodel.device.resolve_device`).

    Raises:
        ConfigError: an unusable device request (one line).
    """
    from avsmodel.device import resolve_device, set_device

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank=local if world > 1 else None)
    use_cuda = dev.startswith("cuda")
    set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(rank=rank, world_size=world, local_rank=local, device=dev)


@contextlib.contextmanager
def process_group(device: str | None) -> Iterator[DistInfo]:
    """This process's :class:`DistInfo` (see :func:`init_distributed`) for a block; under
    torchrun the process group is joined for the block and left after it (when this call
    joined it: a group the caller set up stays)."""
    joins = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized()
    info = init_distributed(device)
    try:
        yield info
    finally:
        if joins:
            cleanup(info)


def cleanup(info: DistInfo) -> None:
    """Leave the process group (if this module joined one)."""
    if info.distributed and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(values: list[float], info: DistInfo) -> list[float]:
    """Sum floats over all ranks (identity in one process)."""
    if not info.distributed:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def all_reduce_tensor(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum a tensor over all ranks (in float64; identity in one process)."""
    if not info.distributed:
        return t
    out = t.to(device=info.device, dtype=torch.float64).clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out.cpu()


def barrier(info: DistInfo) -> None:
    """Wait for all ranks."""
    if info.distributed:
        dist.barrier()


class ShardSampler(Sampler[int]):
    """Deterministic per-epoch order, sharded over ranks without padding.

    The order is a permutation seeded by ``(seed, epoch)`` (or the identity when
    ``shuffle=False``), cut into global batches of ``B*W`` positions; rank r takes the r-th
    contiguous slice of each: positions ``[k*B*W + r*B, k*B*W + (r+1)*B)`` for its k-th batch
    (a last, shorter global batch is split into W slices of ``ceil(len/W)``). Training drops
    the incomplete tail so that every rank runs the same number of steps of the same batch
    size, as one process with batch ``B*W`` would: each global step t covers positions
    ``[t*B*W, (t+1)*B*W)`` of the permutation regardless of W.

    Args:
        n: Dataset length.
        rank: This process's rank.
        world_size: Number of processes.
        batch_size: Per-process batch (used to drop the incomplete global batch).
        seed: Seed of the order.
        shuffle: Permute (training) or keep file order (evaluation).
        drop_last: Drop the last incomplete global batch (training).
    """

    def __init__(
        self,
        n: int,
        *,
        rank: int = 0,
        world_size: int = 1,
        batch_size: int = 1,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = True,
    ) -> None:
        self.n, self.rank, self.world = n, rank, world_size
        self.batch, self.seed = batch_size, seed
        self.shuffle, self.drop_last = shuffle, drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order to produce."""
        self.epoch = epoch

    def order(self) -> list[int]:
        """The global order of this epoch (before sharding)."""
        if not self.shuffle:
            idx = list(range(self.n))
        else:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            idx = torch.randperm(self.n, generator=g).tolist()
        if self.drop_last:
            gb = self.batch * self.world
            full = (self.n // gb) * gb
            if full == 0:  # fewer samples than one global batch: keep what divides evenly
                full = (self.n // self.world) * self.world
            idx = idx[:full]
        return idx

    def _local(self) -> list[int]:
        # Batches of B on each rank must be the global batch's slices: rank r's k-th batch is
        # positions [k*B*W + r*B, k*B*W + (r+1)*B) of the order.
        idx = self.order()
        gb = self.batch * self.world
        out: list[int] = []
        for start in range(0, len(idx), gb):
            chunk = idx[start : start + gb]
            per = -(-len(chunk) // self.world)
            out.extend(chunk[self.rank * per : (self.rank + 1) * per])
        return out

    def __iter__(self):
        return iter(self._local())

    def __len__(self) -> int:
        return len(self._local())


def all_gather_objects(obj: object, info: DistInfo) -> list[object]:
    """Every rank's ``obj`` (picklable), in rank order (``[obj]`` in one process)."""
    if not info.distributed:
        return [obj]
    out: list[object] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out
