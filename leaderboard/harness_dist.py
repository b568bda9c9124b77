"""torchrun support: deterministic shards, gathering per-image rows on rank 0.

Each rank scores every ``world_size``-th batch of samples; rank 0 gathers the rows and computes every
summary from the gathered rows sorted by id, so the numbers equal a one-process run exactly
(the per-image scores do not depend on which process computed them).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # we created the process group, so we destroy it

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def shard(self, n: int, block: int = 1) -> list[int]:
        """This rank's sample indices: every ``world_size``-th block of ``block`` consecutive samples.

        With ``block`` = the batch size every image meets the same batch-mates as in a one-process
        run, so even batch-size-dependent kernels (oneDNN, cuBLAS) give bit-identical outputs.
        """
        starts = range(self.rank * block, n, self.world_size * block)
        return [i for s in starts for i in range(s, min(n, s + block))]

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj`` in rank order (on every rank; only rank 0 uses it)."""
        if not self.active:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self.active:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False


def init_distributed(device: str) -> tuple[DistContext, str]:
    """Join the torchrun group when ``WORLD_SIZE`` > 1 (gloo on CPU, nccl on CUDA).

    Returns the context and the device this rank should use (``cuda:<local_rank>`` on GPU).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(), device
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device.startswith("cuda")
    if cuda:
        device = f"cuda:{local}"
        torch.cuda.set_device(local)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("nccl" if cuda else "gloo")
    return DistContext(rank, world, local, owns), device
