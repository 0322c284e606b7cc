"""Precision: bf16 autocast where the CPU/GPU computes bf16 natively, fp32 elsewhere, one setting
(``precision``, ``--precision``, ``--no-bf16``), recorded in every LAPT log and fine-tuning result."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import torch

from vocabswap import device as device_mod
from vocabswap.cli import build_parser
from vocabswap.device import autocast_for, cpu_bf16_flags, resolve_precision
from vocabswap.errors import VocabswapError
from vocabswap.training_config import FinetuneConfig, LaptConfig

CPU = torch.device("cpu")
# The flags lines of two real /proc/cpuinfo files (trimmed): Sapphire Rapids (AMX) and an older Xeon.
SPR_FLAGS = "flags\t\t: fpu vme avx512f avx512bw avx512_bf16 amx_bf16 amx_tile amx_int8 avx512_fp16"
SKX_FLAGS = "flags\t\t: fpu vme avx2 avx512f avx512bw avx512vl"


def cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(
        f"processor\t: 0\nmodel name\t: x\n{flags}\n\nprocessor\t: 1\n{flags}\n", encoding="utf-8"
    )
    return path


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    assert cpu_bf16_flags(cpuinfo(tmp_path, SPR_FLAGS)) == ("amx_bf16", "avx512_bf16")
    assert cpu_bf16_flags(cpuinfo(tmp_path, SKX_FLAGS)) == ()
    assert cpu_bf16_flags(tmp_path / "missing") == ()  # not Linux: no native bf16 assumed


@pytest.mark.parametrize(("flags", "auto"), [(("avx512_bf16",), "bf16"), ((), "fp32")])
def test_auto_follows_the_cpu_and_explicit_values_win(monkeypatch, flags, auto) -> None:
    monkeypatch.setattr(device_mod, "cpu_bf16_flags", lambda: flags)
    assert resolve_precision("auto", CPU) == auto
    assert resolve_precision("fp32", CPU) == "fp32"
    assert resolve_precision("bf16", CPU) == "bf16"  # honoured (emulated where not native)
    with pytest.raises(VocabswapError, match="unknown precision 'fp16'"):
        resolve_precision("fp16", CPU)


def test_fp32_adds_no_autocast_and_bf16_computes_in_bf16() -> None:
    assert isinstance(autocast_for(CPU, "fp32"), contextlib.nullcontext)
    a, b = torch.randn(4, 8), torch.randn(8, 2)
    with autocast_for(CPU, "fp32"):
        assert (a @ b).dtype == torch.float32
    with autocast_for(CPU, "bf16"):
        assert (a @ b).dtype == torch.bfloat16


@pytest.mark.parametrize("command", ["lapt", "finetune"])
def test_cli_precision_and_no_bf16(command) -> None:
    required = {
        "lapt": ["--model", "m", "--train", "t", "--dev", "d", "--regime", "full", "--out", "o"],
        "finetune": ["--model", "m", "--task", "pos", "--data", "d", "--seed", "1", "--out", "o"],
    }
    parse = build_parser().parse_args
    assert parse([command, *required[command]]).precision == "auto"
    assert parse([command, *required[command], "--no-bf16"]).precision == "fp32"
    assert parse([command, *required[command], "--precision", "bf16"]).precision == "bf16"
    with pytest.raises(SystemExit):
        parse([command, *required[command], "--precision", "fp16"])


@pytest.mark.parametrize("config_cls", [LaptConfig, FinetuneConfig])
def test_bad_precision_in_a_config_is_one_clear_error(config_cls) -> None:
    with pytest.raises(VocabswapError, match="--precision must be one of auto, bf16, fp32, got 'half'"):
        config_cls(precision="half").validate()
