"""Devices and processes shared by LAPT and fine-tuning: device choice, bf16 autocast, the ``torchrun``
process group and per-(seed, step, rank) seeds."""

from __future__ import annotations

import contextlib
import datetime
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vocabswap.errors import VocabswapError
from vocabswap.registry import PRECISIONS


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


# CPU flags (Linux /proc/cpuinfo) of native bf16 matrix instructions; without them bf16 is emulated, slower.
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_bf16_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[str, ...]:
    """The native bf16 flags of this CPU (empty where there are none or cpuinfo is unreadable)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return tuple(f for f in CPU_BF16_FLAGS if f in flags)


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 natively (CUDA: ``is_bf16_supported``; CPU: AMX or AVX512-BF16)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and bool(cpu_bf16_flags())


def resolve_precision(requested: str, device: torch.device) -> str:
    """The precision a run uses, ``bf16`` (autocast; weights and optimizer stay fp32) or ``fp32``:
    ``auto`` is bf16 where the device has native bf16, fp32 elsewhere; ``bf16`` and ``fp32`` are honoured
    (bf16 on a CPU without native support is emulated, slowly; on such a GPU it is an error)."""
    if requested not in PRECISIONS:
        raise VocabswapError(f"unknown precision {requested!r}; use {', '.join(PRECISIONS)}")
    if requested == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if requested == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise VocabswapError("--precision bf16: this GPU has no bf16 support; use --precision auto or fp32")
    return requested


def autocast_for(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast for a resolved precision ``bf16``; nothing (plain fp32) for ``fp32``."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def sub_seed(*parts: int) -> int:
    """A 63-bit seed derived from integers (seed, step, rank, ...), stable across runs and platforms."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, dtype=np.uint64)[0] >> 1)
