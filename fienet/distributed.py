"""Data-parallel training across processes: ``torchrun --nproc_per_node N -m fienet train ...``.

torchrun starts N copies of ``fienet train`` and tells each its place through the environment
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``). Each process:

- draws its share of every global batch: the modality-balanced sampler gives rank r the
  identities ``r*P/N .. (r+1)*P/N - 1`` of the batch, each with K visible + K infrared images,
  so every local batch is a complete, balanced P/N x 2K batch and every loss is well defined on it;
- runs the same model, wrapped in ``DistributedDataParallel``, which averages the gradients of
  the per-rank losses: the step is that of the mean of the N local losses;
- optionally normalises with statistics of the whole global batch (``train.sync_bn``, CUDA only:
  torch's SyncBatchNorm has no CPU kernel);
- leaves checkpoints, history and validation to rank 0.

Without torchrun (``WORLD_SIZE`` unset or 1) every function here is a no-op and training is the
plain single-process loop. The backend is NCCL on CUDA and gloo on the CPU.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Sequence

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

LAUNCH_HINT = "launch with `torchrun --nproc_per_node N -m fienet train ...`"
# Collectives wait this long: the other ranks idle in one while rank 0 validates alone.
COLLECTIVE_TIMEOUT = timedelta(minutes=60)


@dataclass(frozen=True)
class DistEnv:
    """This process's place in a distributed run (the defaults describe a single process).

    Attributes:
        rank: global index of this process, 0..world_size-1.
        world_size: number of processes.
        local_rank: index of this process on its machine (its GPU number on CUDA).
        owns_group: True when :func:`setup` created the process group (and :func:`teardown`
            must destroy it); False when the caller had already created it.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that validates and writes files."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


SINGLE_PROCESS = DistEnv()


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r}: expected an integer; {LAUNCH_HINT}") from None


def setup(device_type: str) -> DistEnv:
    """Join the process group torchrun describes, or return :data:`SINGLE_PROCESS`.

    Args:
        device_type: ``"cuda"`` selects the NCCL backend (and this process's GPU,
            ``cuda:LOCAL_RANK``), anything else gloo.

    Returns:
        The :class:`DistEnv` of this process.
    """
    if dist.is_available() and dist.is_initialized():
        # The caller (a test, a notebook) built the group itself: use it, leave it alone.
        return DistEnv(dist.get_rank(), dist.get_world_size(), _env_int("LOCAL_RANK", dist.get_rank()), False)
    world_size = _env_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return SINGLE_PROCESS
    rank, local_rank = _env_int("RANK", -1), _env_int("LOCAL_RANK", -1)
    missing = [k for k in ("MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if not 0 <= rank < world_size or local_rank < 0 or missing:
        raise RuntimeError(
            f"WORLD_SIZE={world_size} but RANK={os.environ.get('RANK')}, LOCAL_RANK={os.environ.get('LOCAL_RANK')}"
            f"{', ' + ' and '.join(missing) + ' not set' if missing else ''}; expected 0 <= RANK < WORLD_SIZE, "
            f"LOCAL_RANK >= 0, MASTER_ADDR and MASTER_PORT: {LAUNCH_HINT}"
        )
    if device_type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(
                f"LOCAL_RANK={local_rank} but this machine has {torch.cuda.device_count()} CUDA device(s); "
                "expected --nproc_per_node <= the number of GPUs"
            )
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo", timeout=COLLECTIVE_TIMEOUT)
    return DistEnv(rank, world_size, local_rank, True)


def teardown(env: DistEnv) -> None:
    """Destroy the process group if :func:`setup` created it."""
    if env.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def local_device(device: torch.device, env: DistEnv) -> torch.device:
    """The device this rank computes on: its own GPU ``cuda:LOCAL_RANK`` on CUDA, else ``device``."""
    if env.is_distributed and device.type == "cuda":
        return torch.device("cuda", env.local_rank)
    return device


def wrap_model(
    model: nn.Module, env: DistEnv, device: torch.device, sync_bn: bool = False, find_unused: bool = False
) -> nn.Module:
    """``model`` ready for data-parallel training (unchanged in a single process).

    Call it after moving the model to ``device`` and before building the optimiser: the
    SyncBatchNorm conversion replaces the BatchNorm modules (their parameters are kept).

    Args:
        model: the network, already on ``device``.
        env: this process's place in the run.
        device: the device of this rank.
        sync_bn: normalise with the statistics of the whole global batch (CUDA only).
        find_unused: let DDP look for parameters that receive no gradient in a step (needed
            when a loss is switched off and leaves part of the head unused; it costs a graph
            traversal per step).

    Returns:
        ``DistributedDataParallel(model)`` with ``world_size > 1``, else ``model`` itself.
    """
    if not env.is_distributed:
        if sync_bn:
            warnings.warn(
                "train.sync_bn=true: ignored in a single process, whose batch statistics already are the "
                f"global ones; expected only in a multi-process run ({LAUNCH_HINT})",
                stacklevel=2,
            )
        return model  # one process: its batch statistics already are the global ones
    if sync_bn:
        if device.type != "cuda":
            raise ValueError(
                "train.sync_bn=true needs CUDA devices: torch's SyncBatchNorm has no CPU kernel; "
                "set train.sync_bn=false for CPU (gloo) runs"
            )
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids, find_unused_parameters=find_unused)


def unwrap(model: nn.Module) -> nn.Module:
    """The network inside a ``DistributedDataParallel`` wrapper (or ``model`` itself)."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def reduce_stats(
    stats: dict[str, float], env: DistEnv, device: torch.device, summed: Sequence[str] = ()
) -> dict[str, float]:
    """Combine per-rank epoch statistics: the mean over ranks, or the sum for keys in ``summed``.

    Every rank must hold the same keys. Losses average (each rank's loss is a mean over an equal
    share of the global batch, so their mean is the global mean); throughputs add up.
    """
    if not env.is_distributed:
        return stats
    keys = list(stats)  # the same order on every rank: the criterion fixes it
    # float64 on the backend's device: NCCL only reduces CUDA tensors.
    values = torch.tensor([stats[k] for k in keys], dtype=torch.float64, device=device)  # (S,)
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    scale = {k: 1.0 if k in summed else 1.0 / env.world_size for k in keys}
    return {k: float(v) * scale[k] for k, v in zip(keys, values.tolist())}


def broadcast_object(obj: Any, env: DistEnv) -> Any:
    """Rank 0's ``obj`` on every rank (any picklable value); also a barrier."""
    if not env.is_distributed:
        return obj
    box = [obj if env.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(obj: Any, env: DistEnv) -> list[Any]:
    """Every rank's ``obj``, in rank order, on every rank (``[obj]`` in a single process)."""
    if not env.is_distributed:
        return [obj]
    out: list[Any] = [None] * env.world_size
    dist.all_gather_object(out, obj)
    return out
