"""LAPT on a small real model (2 blocks of the packaged e5-small, a Hebrew 8k vocabulary) and Hebrew text."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from _training import small_target_model, split_text
from safetensors.torch import load_file

from vocabswap.errors import VocabswapError
from vocabswap.lapt import ENCODER_PREFIX, LaptConfig, run_lapt

pytestmark = pytest.mark.slow

TINY = dict(batch_size=4, micro_batch_size=2, max_length=32, log_every=1)
VOCABSWAP = str(Path(sys.executable).with_name("vocabswap"))
TORCHRUN = str(Path(sys.executable).with_name("torchrun"))


@pytest.fixture(scope="module")
def small_model(base_model_enpt: Path, he_tokenizer: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_target_model(
        base_model_enpt, he_tokenizer, tmp_path_factory.mktemp("lapt-model") / "he-2", 2
    )


@pytest.fixture(scope="module")
def corpus(hebrew_train_text: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return split_text(hebrew_train_text, tmp_path_factory.mktemp("lapt-text"), 400, 40)


def _env() -> dict[str, str]:
    # Same thread count in every subprocess: bitwise comparisons need identical reduction orders.
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def _cli(model: Path, corpus: tuple[Path, Path], out: Path, *extra: str) -> list[str]:
    train, dev = corpus
    return [
        VOCABSWAP,
        "lapt",
        "--model",
        str(model),
        "--train",
        str(train),
        "--dev",
        str(dev),
        "--regime",
        "full",
        "--out",
        str(out),
        "--batch-size",
        "4",
        "--micro-batch-size",
        "2",
        "--max-length",
        "32",
        "--log-every",
        "1",
        *extra,
    ]


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return load_file(out / "model.safetensors")


def test_freeze_semantics_and_one_linear_lr_decay(small_model: Path, corpus, tmp_path: Path) -> None:
    snapshots: dict[int, dict[str, torch.Tensor]] = {}
    adam_steps: dict[int, dict[str, int]] = {}

    def watch(step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        snapshots[step] = {n: p.detach().clone() for n, p in model.named_parameters()}
        names = {id(p): n for n, p in model.named_parameters()}
        adam_steps[step] = {names[id(p)]: int(s["step"]) for p, s in optimizer.state.items()}

    config = LaptConfig(regime="full", steps=8, freeze_fraction=0.25, eval_every=4, **TINY)
    assert config.frozen_steps == 2
    summary = run_lapt(small_model, *corpus, tmp_path / "out", config, callback=watch)

    names = list(snapshots[0])
    encoder = [n for n in names if n.startswith(ENCODER_PREFIX + ".")]
    others = [n for n in names if n not in encoder]
    assert len(encoder) == 2 * 16 and {"lm_head.dense.weight", "roberta.embeddings.LayerNorm.weight"} <= set(
        others
    )
    for step in (1, 2):  # the frozen phase: optimizer steps 0 and 1
        for n in encoder:
            assert torch.equal(snapshots[step][n], snapshots[0][n]), f"{n} moved during the frozen phase"
        for n in others:
            if n == "roberta.embeddings.token_type_embeddings.weight":
                continue  # only row 0 is used; checked below
            assert not torch.equal(snapshots[step][n], snapshots[step - 1][n]), f"{n} did not train"
        assert not any(n in adam_steps[step] for n in encoder), "frozen blocks have no optimizer state"
    tte = "roberta.embeddings.token_type_embeddings.weight"
    assert not torch.equal(snapshots[1][tte][0], snapshots[0][tte][0])
    for n in encoder:  # after unfreezing every block parameter is really updated, at every step
        for step in range(3, 9):
            assert not torch.equal(snapshots[step][n], snapshots[step - 1][n]), f"{n} frozen at step {step}"
        assert adam_steps[8][n] == 6 and adam_steps[8]["lm_head.dense.weight"] == 8

    records = [json.loads(x) for x in (tmp_path / "out" / "training_log.jsonl").read_text().splitlines()]
    steps = [r for r in records if "loss" in r]
    assert [r["lr"] for r in steps] == pytest.approx([1e-5 * (1 - k / 8) for k in range(8)])
    assert [r["frozen"] for r in steps] == [True, True] + [False] * 6
    assert any(r.get("event") == "unfrozen" and r["step"] == 2 for r in records)

    # The output: a loadable HF directory with the tokenizer, the log, and FLOPs both ways.
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    out = tmp_path / "out"
    AutoModelForMaskedLM.from_pretrained(out)
    assert len(AutoTokenizer.from_pretrained(out)) == 8002
    log = json.loads((out / "lapt_log.json").read_text())
    assert log == summary
    assert [p["step"] for p in log["dev_curve"]] == [0, 4, 8]
    assert log["best_step"] in (4, 8) and log["steps"] == 8
    assert log["tokens_seen"] > 0 and 0 < log["flops"]["executed"] < log["flops"]["paper"]
    assert not (tmp_path / "out.state").exists(), "the state directory is removed after success"


def test_emb_regime_keeps_blocks_frozen_throughout(small_model: Path, corpus, tmp_path: Path) -> None:
    first: dict[str, torch.Tensor] = {}
    last: dict[str, torch.Tensor] = {}

    def watch(step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        target = first if step == 0 else last
        target.update({n: p.detach().clone() for n, p in model.named_parameters()})

    run_lapt(
        small_model,
        *corpus,
        tmp_path / "out",
        LaptConfig(regime="emb", steps=3, eval_every=3, **TINY),
        callback=watch,
    )
    for n, p in first.items():
        same = torch.equal(p, last[n])
        assert same == n.startswith(ENCODER_PREFIX + "."), n


# The same run as `_cli(..., "--steps", "9", "--eval-every", "3", "--seed", "5")`, slowed by a callback
# (half a second after each step) so that the test can kill it between two checkpoints.
SLOW_LAPT = """
import sys, time
from vocabswap.lapt import LaptConfig, run_lapt
config = LaptConfig(regime="full", steps=9, eval_every=3, seed=5, batch_size=4, micro_batch_size=2,
                    max_length=32, log_every=1)
run_lapt(*sys.argv[1:5], config, callback=lambda *_: time.sleep(0.5))
"""


def test_resume_after_sigkill_gives_identical_weights(small_model: Path, corpus, tmp_path: Path) -> None:
    args = ("--steps", "9", "--eval-every", "3", "--seed", "5")
    full = subprocess.run(
        _cli(small_model, corpus, tmp_path / "full", *args),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert full.returncode == 0, full.stderr

    killed_out = tmp_path / "killed"
    slow = [sys.executable, "-c", SLOW_LAPT, str(small_model), *map(str, corpus), str(killed_out)]
    proc = subprocess.Popen(slow, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = tmp_path / "killed.state" / "checkpoint" / "trainer_state.json"
    deadline = time.time() + 240
    while time.time() < deadline:
        if state.exists() and json.loads(state.read_text())["step"] >= 3:
            break
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = json.loads(state.read_text())["step"]
    assert 3 <= killed_at < 9 and not killed_out.exists()

    again = subprocess.run(
        _cli(small_model, corpus, killed_out, *args), env=_env(), capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    a, b = _weights(tmp_path / "full"), _weights(killed_out)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    log_a = json.loads((tmp_path / "full" / "lapt_log.json").read_text())
    log_b = json.loads((killed_out / "lapt_log.json").read_text())
    assert log_a["dev_curve"] == log_b["dev_curve"] and log_a["tokens_seen"] == log_b["tokens_seen"]
    events = [json.loads(x) for x in (killed_out / "training_log.jsonl").read_text().splitlines()]
    assert any(e.get("event") == "resumed" and e["step"] == killed_at for e in events)


def _poison_once_before(step: int):
    """A callback that makes the model's output NaN once, just before optimizer step ``step`` (0-based)
    runs; the restart reloads the last checkpoint's clean weights."""
    done = []

    def callback(at: int, model: torch.nn.Module, optimizer) -> None:
        if at == step and not done:
            done.append(at)
            with torch.no_grad():
                model.get_input_embeddings().weight.fill_(float("nan"))

    return callback


def test_non_finite_loss_restarts_with_half_grad_norm(small_model: Path, corpus, tmp_path: Path) -> None:
    config = LaptConfig(regime="full", steps=6, eval_every=2, **TINY)
    summary = run_lapt(small_model, *corpus, tmp_path / "out", config, callback=_poison_once_before(3))
    assert summary["steps"] == 6 and (tmp_path / "out" / "model.safetensors").exists()
    assert summary["restarts"] == [
        {"at_step": 3, "what": "training loss", "resumed_from_step": 2, "max_grad_norm": 0.5}
    ]
    assert summary["final_max_grad_norm"] == 0.5
    records = [json.loads(x) for x in (tmp_path / "out" / "training_log.jsonl").read_text().splitlines()]
    restart = [r for r in records if r.get("event") == "restart"]
    assert len(restart) == 1 and "max grad norm 0.5" in restart[0]["message"]
    steps = [r for r in records if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2, 3, 4, 5, 6], "replayed steps replace the lost ones"
    assert [r["max_grad_norm"] for r in steps] == [1.0, 1.0, 0.5, 0.5, 0.5, 0.5]


def test_ddp_two_processes_on_cpu(base_model_enpt: Path, he_tokenizer: Path, corpus, tmp_path: Path) -> None:
    model = small_target_model(base_model_enpt, he_tokenizer, tmp_path / "nodrop", 2, dropout=0.0)
    # fp32: the comparison at atol 2e-5 is of summation orders, which bf16's 8-bit mantissa would swamp
    args = ("--steps", "4", "--eval-every", "2", "--freeze-fraction", "0.25", "--precision", "fp32")
    single = subprocess.run(
        _cli(model, corpus, tmp_path / "one", *args), env=_env(), capture_output=True, text=True, timeout=300
    )
    assert single.returncode == 0, single.stderr
    ddp = subprocess.run(
        [
            TORCHRUN,
            "--nproc_per_node",
            "2",
            "--master_port",
            "29517",
            "--no-python",
            *_cli(model, corpus, tmp_path / "two", *args),
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    one, two = tmp_path / "one", tmp_path / "two"
    assert sorted(p.name for p in one.iterdir()) == sorted(p.name for p in two.iterdir())
    log1 = json.loads((one / "lapt_log.json").read_text())
    log2 = json.loads((two / "lapt_log.json").read_text())
    assert (log1["settings"]["world_size"], log1["settings"]["per_process_batch"]) == (1, 4)
    assert (log2["settings"]["world_size"], log2["settings"]["per_process_batch"]) == (2, 2)
    assert log2["settings"]["accumulation_steps"] == 1 and log1["settings"]["accumulation_steps"] == 2
    # Same global batches, masks and loss normalisation: the same training up to float summation order.
    assert log1["tokens_seen"] == log2["tokens_seen"]
    assert log1["flops"]["paper"] == log2["flops"]["paper"]
    for p1, p2 in zip(log1["dev_curve"], log2["dev_curve"], strict=True):
        assert p1["dev_loss"] == pytest.approx(p2["dev_loss"], rel=1e-4)
    w1, w2 = _weights(one), _weights(two)
    for name in w1:
        torch.testing.assert_close(w1[name], w2[name], rtol=0, atol=2e-5)


def test_bad_inputs_get_clear_errors(small_model: Path, corpus, tmp_path: Path) -> None:
    train, dev = corpus
    config = LaptConfig(regime="full", steps=2, eval_every=1, **TINY)
    no_tok = tmp_path / "no-tokenizer"
    no_tok.mkdir()
    for f in ("config.json", "model.safetensors"):
        shutil.copy2(small_model / f, no_tok / f)
    with pytest.raises(VocabswapError, match="no tokenizer in this model directory"):
        run_lapt(no_tok, train, dev, tmp_path / "a", config)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(VocabswapError, match=r"empty.txt: the file has no non-blank line"):
        run_lapt(small_model, train, empty, tmp_path / "b", config)
    assert not (tmp_path / "b").exists() and not (tmp_path / "b.state").exists()
    with pytest.raises(VocabswapError, match="must lie outside the output"):
        run_lapt(small_model, train, dev, tmp_path / "c", config, state_dir=tmp_path / "c" / "state")
    with pytest.raises(VocabswapError, match="unknown LAPT regime"):
        run_lapt(small_model, train, dev, tmp_path / "d", LaptConfig(regime="partial"))
    # A state directory of another run is refused, not silently mixed in.
    keep = LaptConfig(regime="full", steps=2, eval_every=1, keep_state=True, **TINY)
    run_lapt(small_model, train, dev, tmp_path / "e", keep)
    other = LaptConfig(regime="full", steps=2, eval_every=1, lr=2e-5, **TINY)
    with pytest.raises(
        VocabswapError, match=r"holds a run with other inputs or settings \(lr 1e-05 -> 2e-05\)"
    ):
        run_lapt(small_model, train, dev, tmp_path / "e2", other, state_dir=tmp_path / "e.state")
    result = subprocess.run(
        _cli(no_tok, corpus, tmp_path / "f", "--steps", "1"),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("vocabswap lapt: error: ")


def _step_shapes(lengths: list[int], micro: int) -> tuple[int, int]:
    """Real tokens and tensor positions of one step whose lines have ``lengths``, longest first, cut into
    micro-batches of ``micro`` rows each padded to its longest."""
    lengths = sorted(lengths, reverse=True)
    cuts = [lengths[i : i + micro] for i in range(0, len(lengths), micro)]
    return sum(lengths), sum(len(c) * max(c) for c in cuts)


@pytest.mark.parametrize("sequences", ["lines", "packed"])
def test_sequences_lines_feeds_whole_lines_and_counts_real_tokens(
    small_model: Path, corpus, tmp_path: Path, sequences: str
) -> None:
    """Issue 8.1: with ``lines`` a step's batch is B whole lines (<s> ... </s>, truncated at max_length),
    exactly the ones the seeded stream picks; grouping by length inside the step only cuts the padding of
    its micro-batches; tokens and FLOPs count real positions. ``packed`` sees full max_length rows."""
    from transformers import AutoConfig

    from vocabswap.flops import MLMFlopModel, sequences_step_flops
    from vocabswap.lapt import BatchStream
    from vocabswap.mlm import encode_lines, read_lines
    from vocabswap.modeldir import load_tokenizer

    steps, cfg = 3, dict(TINY, max_length=24)
    config = LaptConfig(regime="full", steps=steps, eval_every=steps, sequences=sequences, **cfg)
    log = run_lapt(small_model, *corpus, tmp_path / "out", config)
    encoded = encode_lines(read_lines(corpus[0]), load_tokenizer(small_model), 24, sequences=sequences)
    stream = BatchStream(len(encoded), config.batch_size, config.seed)
    tokens = positions = 0
    seen: list[int] = []
    for step in range(steps):
        lengths = encoded.lengths[stream.indices(step)].tolist()
        seen += lengths
        t, p = _step_shapes(lengths, config.micro_batch_size)
        tokens, positions = tokens + t, positions + p
    assert log["data"]["train_sequences"] == len(encoded)
    assert log["tokens_seen"] == tokens and log["tokens_per_step"] == tokens / steps
    if sequences == "lines":
        assert len(encoded) == encoded.n_lines == 400 and (encoded.lengths <= 24).all()
        assert log["positions_seen"] == positions and 0 < log["padding_share"] < 0.5
        assert log["tokens_per_step"] < 0.9 * config.batch_size * 24  # short lines: far fewer than packed
    else:
        assert log["tokens_per_step"] == config.batch_size * 24 and log["padding_share"] == 0
    # FLOPs of the real positions only (the paper's accounting does not depend on the masks)
    flop_model = MLMFlopModel.from_config(AutoConfig.from_pretrained(small_model))
    expected = sequences_step_flops(flop_model, seen, 0, encoder_trainable=True)["paper"]
    assert log["flops"]["paper"] == pytest.approx(expected, rel=1e-12)


def test_early_stopping_after_patience_evaluations_keeps_the_best(
    small_model: Path, corpus, tmp_path: Path
) -> None:
    """Issue 8.2: LAPT stops after ``patience`` evaluations in a row without a strictly lower dev loss (the
    HF EarlyStoppingCallback of the paper's *_cpt-full.yml) and writes the best checkpoint. An lr of 1e-30
    leaves the weights unchanged, so every dev loss after the first equals it: no improvement."""
    config = LaptConfig(
        regime="full", steps=20, eval_every=1, lr=1e-30, patience=2, freeze_fraction=0.0, **TINY
    )
    log = run_lapt(small_model, *corpus, tmp_path / "out", config)
    assert log["stopped_early"] is True and log["steps"] == 3 and log["best_step"] == 1
    assert [p["step"] for p in log["dev_curve"]] == [0, 1, 2, 3]
    records = [json.loads(x) for x in (tmp_path / "out" / "training_log.jsonl").read_text().splitlines()]
    assert {"event": "early_stop", "step": 3, "best_step": 1} in records
    assert json.loads((tmp_path / "out" / "lapt_log.json").read_text())["steps"] == 3
    # without patience the same run goes the whole way
    full = run_lapt(
        small_model,
        *corpus,
        tmp_path / "b",
        LaptConfig(regime="full", steps=4, eval_every=1, lr=1e-30, **TINY),
    )
    assert full["stopped_early"] is False and full["steps"] == 4
    with pytest.raises(VocabswapError, match="--patience must be at least 1"):
        LaptConfig(patience=0).validate()


def test_cli_passes_sequences_and_patience(small_model: Path, corpus, tmp_path: Path) -> None:
    """`vocabswap lapt --sequences packed --patience 1`: both reach the run (its lapt_log.json settings);
    an lr of 1e-30 gives no improvement, so patience 1 stops after the first evaluation past the best."""
    out = tmp_path / "out"
    argv = _cli(
        small_model,
        corpus,
        out,
        "--steps",
        "6",
        "--eval-every",
        "1",
        "--lr",
        "1e-30",
        "--sequences",
        "packed",
        "--patience",
        "1",
    )
    result = subprocess.run(argv, env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    log = json.loads((out / "lapt_log.json").read_text(encoding="utf-8"))
    assert log["settings"]["sequences"] == "packed" and log["settings"]["patience"] == 1
    assert log["data"]["sequences"] == "packed" and log["stopped_early"] is True and log["steps"] == 2
    bad = subprocess.run(
        _cli(small_model, corpus, tmp_path / "x", "--sequences", "blocks"),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "invalid choice: 'blocks'" in bad.stderr


def test_bf16_records_its_precision_and_keeps_the_dev_loss(small_model: Path, corpus, tmp_path: Path) -> None:
    """The same 4 steps in fp32 and in bf16 autocast: each log says which ran; step-0 dev loss within 1 %,
    and the dev curve stays within 2 % of fp32's."""
    logs = {}
    for precision in ("fp32", "bf16"):
        config = LaptConfig(regime="full", steps=4, eval_every=2, precision=precision, **TINY)
        logs[precision] = run_lapt(small_model, *corpus, tmp_path / precision, config)
        saved = json.loads((tmp_path / precision / "lapt_log.json").read_text())
        assert saved["precision"] == saved["settings"]["precision"] == precision
        assert saved["settings"]["precision_requested"] == precision
    fp32, bf16 = ([p["dev_loss"] for p in logs[k]["dev_curve"]] for k in ("fp32", "bf16"))
    assert bf16[0] == pytest.approx(fp32[0], rel=0.01)
    assert bf16 == pytest.approx(fp32, rel=0.02)
    assert bf16 != fp32, "bf16 autocast changed nothing: it did not run"


@pytest.mark.parametrize("regime", ["full", "emb"])
def test_encoder_outputs_unchanged_by_causal_lapt(small_model: Path, corpus, tmp_path: Path, regime) -> None:
    """Masked-LM LAPT gives the dev curve, FLOPs and model bytes it gave before the decoder family was
    added (recorded by main at b04003f: tests/reference/encoder_lapt_b04003f.json), bit for bit on a CPU
    of the reference's vector ISA."""
    import hashlib

    ref = json.loads((Path(__file__).parent / "reference" / "encoder_lapt_b04003f.json").read_text())
    config = LaptConfig(
        regime=regime, steps=6, freeze_fraction=0.34, eval_every=2, seed=3, precision="fp32",
        **TINY,
    )  # fmt: skip
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the reference's reduction order
    try:
        summary = run_lapt(small_model, *corpus, tmp_path / regime, config)
    finally:
        torch.set_num_threads(threads)
    expected = ref["runs"][regime]
    assert summary["flops"] == expected["flops"]
    same_isa = torch.backends.cpu.get_cpu_capability() == ref["cpu_capability"]
    if not same_isa or summary["dev_curve"][0] != expected["dev_curve"][0]:
        # another vector ISA (or, within AVX512, another CPU generation: AMX machines differ at step 0 by
        # 2e-8 relative) rounds fp32 differently: the same run to float rounding, the bytes cannot match
        assert len(summary["dev_curve"]) == len(expected["dev_curve"])
        for got, want in zip(summary["dev_curve"], expected["dev_curve"], strict=True):
            assert got == pytest.approx(want, rel=1e-6)
        return
    assert summary["dev_curve"] == expected["dev_curve"]
    sha = hashlib.sha256((tmp_path / regime / "model.safetensors").read_bytes()).hexdigest()
    assert sha == expected["model_sha256"]
