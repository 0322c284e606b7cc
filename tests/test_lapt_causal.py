"""Causal LAPT on a real decoder: SmolLM2's first 2 blocks with a 4k Hebrew byte-level BPE, Hebrew text."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from _cli import one_line_error, run_cli
from _training import split_text
from safetensors.torch import load_file

from vocabswap.errors import VocabswapError
from vocabswap.lapt import LaptConfig, run_lapt

pytestmark = pytest.mark.slow

TINY = dict(batch_size=4, micro_batch_size=2, max_length=32, log_every=1, precision="fp32")
BLOCKS = "model.layers."


@pytest.fixture(scope="module")
def corpus(hebrew_train_text: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return split_text(hebrew_train_text, tmp_path_factory.mktemp("causal-lapt-text"), 400, 24)


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    return load_file(directory / "model.safetensors")


def _lines(path: Path) -> list[str]:
    return [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_causal_loss_equals_transformers_labels_loss(smollm2_he_small: Path, corpus) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from vocabswap.causal_lapt import CausalLMObjective, NextTokenLabels, causal_specials
    from vocabswap.lapt_data import make_global_batch
    from vocabswap.mlm import SequenceCorpus, line_sequences

    tok = AutoTokenizer.from_pretrained(smollm2_he_small)
    model = AutoModelForCausalLM.from_pretrained(smollm2_he_small, dtype=torch.float32).eval()
    specials = causal_specials(tok, "test")
    ids = [tok(x, add_special_tokens=False)["input_ids"] for x in _lines(corpus[1])[:6]]
    flat, lengths = line_sequences(ids, specials[0], specials[1], 32)  # as LAPT's encoder builds them
    seqs = SequenceCorpus(flat, np.concatenate([[0], np.cumsum(lengths)]), len(ids), int(lengths.sum()))
    batch = make_global_batch(seqs, np.arange(len(ids)), NextTokenLabels(), torch.Generator(), specials[2])
    assert torch.equal(batch.labels[batch.attention_mask == 1], batch.input_ids[batch.attention_mask == 1])
    assert (batch.labels[batch.attention_mask == 0] == -100).all() and (batch.attention_mask == 0).any()
    assert (batch.input_ids[:, 0] == specials[0]).all()  # every line opens with the context token
    with torch.no_grad():
        total, count = CausalLMObjective(model)(batch.input_ids, batch.attention_mask, batch.labels)
        reference = model(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask, labels=batch.labels
        ).loss
    assert int(count) == int(lengths.sum()) - len(ids)  # every real position but each line's last
    assert float(total) / float(count) == pytest.approx(float(reference), rel=1e-5)


def test_emb_keeps_every_block_bit_identical_while_embeddings_train(
    smollm2_he_small: Path, corpus, tmp_path: Path
) -> None:
    config = LaptConfig(regime="emb", steps=3, eval_every=3, **TINY)
    summary = run_lapt(smollm2_he_small, *corpus, tmp_path / "out", config)
    before, after = _weights(smollm2_he_small), _weights(tmp_path / "out")
    blocks = [n for n in before if n.startswith(BLOCKS)]
    assert len(blocks) == 2 * 9  # q k v o, gate up down, two norms per block
    for name in blocks:
        assert torch.equal(before[name], after[name]), f"{name} moved under LAPT-EMB"
    for name in ("model.embed_tokens.weight", "model.norm.weight"):
        assert not torch.equal(before[name], after[name]), f"{name} did not train"
    points = summary["dev_curve"]
    assert [p["step"] for p in points] == [0, 3]
    assert all(p["dev_bpb"] > 0 and p["dev_nats_per_token"] == p["dev_loss"] for p in points)
    best = next(p for p in points if p["step"] == summary["best_step"])
    assert summary["best_dev_bpb"] == best["dev_bpb"] and summary["family"] == "decoder"
    assert 0 < summary["flops"]["executed"] < summary["flops"]["paper"]


def test_full_unfreezes_the_blocks_at_the_scheduled_step(smollm2_he_small: Path, corpus, tmp_path) -> None:
    snapshots: dict[int, dict[str, torch.Tensor]] = {}

    def watch(step: int, model: torch.nn.Module, optimizer) -> None:
        snapshots[step] = {n: p.detach().clone() for n, p in model.named_parameters()}

    config = LaptConfig(regime="full", steps=4, freeze_fraction=0.5, eval_every=4, **TINY)
    run_lapt(smollm2_he_small, *corpus, tmp_path / "out", config, callback=watch)
    blocks = [n for n in snapshots[0] if n.startswith(BLOCKS)]
    for step in (1, 2):  # optimizer steps 0 and 1: frozen
        assert all(torch.equal(snapshots[step][n], snapshots[0][n]) for n in blocks)
        assert not torch.equal(
            snapshots[step]["model.embed_tokens.weight"], snapshots[step - 1]["model.embed_tokens.weight"]
        )
    for step in (3, 4):  # unfrozen from step 2 on: every block weight moves at every step
        for n in blocks:
            assert not torch.equal(snapshots[step][n], snapshots[step - 1][n]), f"{n} frozen at {step}"
    records = [json.loads(x) for x in (tmp_path / "out" / "training_log.jsonl").read_text().splitlines()]
    assert [r["frozen"] for r in records if "loss" in r] == [True, True, False, False]
    assert any(r.get("event") == "unfrozen" and r["step"] == 2 for r in records)


class _Killed(Exception):
    pass


def test_resumed_run_equals_an_uninterrupted_one(smollm2_he_small: Path, corpus, tmp_path: Path) -> None:
    config = LaptConfig(regime="full", steps=4, freeze_fraction=0.25, eval_every=2, seed=5, **TINY)
    whole = run_lapt(smollm2_he_small, *corpus, tmp_path / "whole", config)

    def die_after_2(step: int, model, optimizer) -> None:
        if step == 3:  # the checkpoint of step 2 is on disk; step 3's update is lost
            raise _Killed

    with pytest.raises(_Killed):
        run_lapt(smollm2_he_small, *corpus, tmp_path / "again", config, callback=die_after_2)
    assert not (tmp_path / "again").exists() and (tmp_path / "again.state").exists()
    resumed = run_lapt(smollm2_he_small, *corpus, tmp_path / "again", config)
    a, b = _weights(tmp_path / "whole"), _weights(tmp_path / "again")
    assert a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)
    assert resumed["dev_curve"] == whole["dev_curve"]
    assert [p["step"] for p in whole["dev_curve"]] == [0, 2, 4]
    events = [json.loads(x) for x in (tmp_path / "again" / "training_log.jsonl").read_text().splitlines()]
    assert any(e.get("event") == "resumed" and e["step"] == 2 for e in events)


def test_step0_bits_per_byte_is_inits_definition(smollm2_he_small: Path, corpus, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from vocabswap.causal_lm import bits_per_byte

    tok = AutoTokenizer.from_pretrained(smollm2_he_small)
    lines = [x for x in _lines(corpus[1]) if len(tok(x)["input_ids"]) <= 62][:16]  # none cut at 64
    dev = tmp_path / "dev.txt"
    dev.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = LaptConfig(regime="emb", steps=1, eval_every=1, **{**TINY, "max_length": 64})
    summary = run_lapt(smollm2_he_small, corpus[0], dev, tmp_path / "out", config)
    model = AutoModelForCausalLM.from_pretrained(smollm2_he_small, dtype=torch.float32)
    ref = bits_per_byte(model, tok, lines, max_length=64)
    step0 = summary["dev_curve"][0]
    # the per-id byte table covers exactly the text's UTF-8 bytes, one byte per line end
    assert summary["dev_bytes"] == ref["bytes"] == sum(len(x.encode()) + 1 for x in lines)
    assert step0["dev_bpb"] == pytest.approx(ref["bits_per_byte"], rel=1e-5)
    assert step0["dev_nats_per_token"] == pytest.approx(ref["nats_per_token"], rel=1e-5)


def test_untied_llama_trains_and_saves_its_own_lm_head(he_bpe_4k: Path, corpus, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(he_bpe_4k)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )  # fmt: skip
    torch.manual_seed(0)
    base = tmp_path / "untied"
    LlamaForCausalLM(config).save_pretrained(base)
    tok.save_pretrained(base)
    summary = run_lapt(
        base, *corpus, tmp_path / "out", LaptConfig(regime="full", steps=2, eval_every=2, **TINY)
    )
    before, after = _weights(base), _weights(tmp_path / "out")
    assert "lm_head.weight" in after and not torch.equal(
        after["lm_head.weight"], after["model.embed_tokens.weight"]
    )
    assert not torch.equal(before["lm_head.weight"], after["lm_head.weight"])
    assert not torch.equal(before["model.embed_tokens.weight"], after["model.embed_tokens.weight"])
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    assert not model.config.tie_word_embeddings
    assert torch.equal(model.lm_head.weight.detach(), after["lm_head.weight"])
    assert math.isfinite(summary["best_dev_bpb"])


def test_decoder_without_context_token_is_one_line(
    smollm2_he_small: Path, corpus, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from transformers import AutoTokenizer

    broken = tmp_path / "no-context"
    shutil.copytree(smollm2_he_small, broken)
    tok = AutoTokenizer.from_pretrained(broken)
    tok.eos_token = None
    tok.bos_token = None
    tok.save_pretrained(broken)
    with pytest.raises(VocabswapError, match="neither an eos nor a bos token"):
        run_lapt(broken, *corpus, tmp_path / "a", LaptConfig(regime="emb", steps=1, **TINY))
    assert not (tmp_path / "a").exists() and not (tmp_path / "a.state").exists()
    train, dev = corpus
    args = ["lapt", "--model", broken, "--train", train, "--dev", dev, "--regime", "emb", "--out",
            tmp_path / "b", "--steps", "1"]  # fmt: skip
    one_line_error(*run_cli(args, capsys), str(broken), "neither an eos nor a bos token")


def test_cli_trains_a_decoder(
    smollm2_he_small: Path, corpus, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from transformers import AutoModelForCausalLM

    train, dev = corpus
    args = ["lapt", "--model", smollm2_he_small, "--train", train, "--dev", dev, "--regime", "full",
            "--out", tmp_path / "out", "--steps", "2", "--eval-every", "2", "--batch-size", "4",
            "--max-length", "32", "--precision", "fp32"]  # fmt: skip
    rc, err = run_cli(args, capsys)
    assert rc == 0, err
    log = json.loads((tmp_path / "out" / "lapt_log.json").read_text())
    assert log["settings"]["frozen_steps"] == 0 and log["best_dev_bpb"] > 0
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    assert model.config.tie_word_embeddings and model.get_input_embeddings().weight.shape[0] == 4000


@pytest.mark.parametrize("sequences", ["lines", "packed"])
def test_decoder_sequences_open_with_the_context_token_and_close_lines_with_eos(
    he_bpe_4k: Path, corpus, sequences: str
) -> None:
    from transformers import AutoTokenizer

    from vocabswap.causal_lapt import causal_specials
    from vocabswap.mlm import encode_lines

    tok = AutoTokenizer.from_pretrained(he_bpe_4k)
    start, eos, _ = causal_specials(tok, "test")
    lines = _lines(corpus[1])[:8]
    ids = [tok(x, add_special_tokens=False)["input_ids"] for x in lines]
    seqs = encode_lines(lines, tok, 32, sequences=sequences, specials=(start, eos, eos))
    rows = seqs.sequences(np.arange(len(seqs)))
    assert all(int(r[0]) == start for r in rows)
    if sequences == "packed":  # blocks of 32: the context token, then the lines each closed by eos
        stream = np.concatenate([r[1:] for r in rows])
        assert stream.tolist() == [t for x in ids for t in (*x, eos)]
    else:
        assert [r.tolist() for r in rows] == [[start, *x[:30], eos] for x in ids]


def test_ddp_two_processes_give_the_single_process_dev_bits(
    smollm2_he_small: Path, corpus, tmp_path: Path
) -> None:
    """The dev bytes are the whole dev set's, the nats summed over both processes' shares."""
    import os
    import subprocess
    import sys

    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    train, dev = corpus
    cli = [str(bin_dir / "vocabswap"), "lapt", "--model", str(smollm2_he_small), "--train", str(train),
           "--dev", str(dev), "--regime", "full", "--steps", "2", "--eval-every", "2", "--batch-size", "4",
           "--micro-batch-size", "2", "--max-length", "32", "--precision", "fp32", "--out"]  # fmt: skip
    one = subprocess.run([*cli, str(tmp_path / "one")], env=env, capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-3000:]
    torchrun = [str(bin_dir / "torchrun"), "--nproc_per_node", "2", "--master_port", "29523", "--no-python"]
    two = subprocess.run(
        [*torchrun, *cli, str(tmp_path / "two")], env=env, capture_output=True, text=True, timeout=300
    )
    assert two.returncode == 0, two.stderr[-3000:]
    log1, log2 = (json.loads((tmp_path / d / "lapt_log.json").read_text()) for d in ("one", "two"))
    assert log2["settings"]["world_size"] == 2 and log1["dev_bytes"] == log2["dev_bytes"]
    assert log1["tokens_seen"] == log2["tokens_seen"] and log1["flops"] == log2["flops"]
    for p1, p2 in zip(log1["dev_curve"], log2["dev_curve"], strict=True):
        assert p1["dev_bpb"] == pytest.approx(p2["dev_bpb"], rel=1e-4)
