"""Devices and processes shared by LAPT and fine-tuning: device choice, bf16 autocast, the ``torchrun``
process group and per-(seed, step, rank) seeds."""

from __future__ import annotations

import contextlib
import datetime
import os
from dataclasses import dataclass

import numpy as np
import torch

from vocabswap.errors import VocabswapError


@dataclass(frozen=True)
class Dist:
    """This process's place among the ``torchrun`` processes (one process: rank 0 of 1)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()

    def all_sum(self, values: list[float], device: torch.device) -> list[float]:
        if not self.enabled:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=device)
        torch.distributed.all_reduce(t)
        return t.tolist()


def resolve_kind(kind: str) -> str:
    """``auto`` becomes ``cuda`` when a CUDA device is available, else ``cpu``."""
    if kind == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return kind


def init_distributed(device_kind: str) -> Dist:
    """Join the process group that ``torchrun`` describes in the environment (single process otherwise)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not torch.distributed.is_initialized():
        # generous timeout: the main process alone packs the corpus while the others wait
        torch.distributed.init_process_group(
            backend="nccl" if device_kind == "cuda" else "gloo", timeout=datetime.timedelta(hours=3)
        )
    return Dist(
        rank=torch.distributed.get_rank(),
        world=torch.distributed.get_world_size(),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )


def pick_device(kind: str, dist: Dist | None = None) -> torch.device:
    """The torch device for ``auto``/``cpu``/``cuda``; under ``torchrun`` the process's own GPU."""
    kind = resolve_kind(kind)
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise VocabswapError("--device cuda requested but no CUDA device is available")
        if dist is None:
            return torch.device("cuda")
        torch.cuda.set_device(dist.local_rank)
        return torch.device("cuda", dist.local_rank)
    if kind != "cpu":
        raise VocabswapError(f"unknown device {kind!r}; use auto, cpu or cuda")
    return torch.device("cpu")


def autocast_for(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA when asked for; CPU always runs fp32."""
    if device.type == "cuda" and bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def precision_name(device: torch.device, bf16: bool) -> str:
    """What :func:`autocast_for` gives, as the settings record it."""
    return "bf16-autocast" if device.type == "cuda" and bf16 else "fp32"


def sub_seed(*parts: int) -> int:
    """A 63-bit seed derived from integers (seed, step, rank, ...), stable across runs and platforms."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, dtype=np.uint64)[0] >> 1)
