"""POS/NER fine-tuning end to end on a small real model and the packaged Hebrew UD/NEMO data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from _training import small_target_model

from vocabswap.data.evalsets import build_eval_set
from vocabswap.data.tagged import read_tagged, write_tagged
from vocabswap.device import resolve_precision
from vocabswap.errors import VocabswapError
from vocabswap.finetune import FinetuneConfig, run_finetune

pytestmark = pytest.mark.slow

FAST = dict(batch_size=8, max_epochs=2, eval_every=1, max_length=64)


@pytest.fixture(scope="module")
def model(base_model_enpt: Path, he_tokenizer: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_target_model(base_model_enpt, he_tokenizer, tmp_path_factory.mktemp("ft-model") / "he-2", 2)


@pytest.fixture(scope="module")
def eval_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval")
    for task in ("pos", "ner"):
        build_eval_set("packaged:ud-hebrew-htb", "he", task, root / task, max_sentences=24)
    return {"pos": root / "pos", "ner": root / "ner"}


def test_same_seed_same_score_and_result_json(model: Path, eval_dirs, tmp_path: Path) -> None:
    cfg = FinetuneConfig(task="pos", seed=3, **FAST)
    a = run_finetune(model, eval_dirs["pos"], tmp_path / "a.json", cfg)
    b = run_finetune(model, eval_dirs["pos"], tmp_path / "b.json", cfg)
    assert a["score"] == b["score"] and a["dev_curve"] == b["dev_curve"]
    c = run_finetune(model, eval_dirs["pos"], tmp_path / "c.json", FinetuneConfig(task="pos", seed=4, **FAST))
    assert c["dev_curve"] != a["dev_curve"], "another seed trains differently"
    saved = json.loads((tmp_path / "a.json").read_text())
    assert saved["score"] == a["score"] and 0.0 <= a["score"] <= 1.0
    assert saved["metric"] == "accuracy" and saved["seed"] == 3 and saved["task"] == "pos"
    assert [p["epoch"] for p in saved["dev_curve"]] == [1, 2] and saved["best_epoch"] in (1, 2)
    assert saved["epochs_run"] == 2 and saved["settings"]["lr"] == 5e-6 and saved["settings"]["patience"] == 8
    assert saved["model"] == str(model) and saved["data"] == str(eval_dirs["pos"])
    assert saved["n_sentences"] == {"train": 24, "train_total": 24, "dev": 24, "test": 24}
    assert "NOUN" in saved["labels"] and set(saved["unseen_labels"]) == {"dev", "test"}
    assert (
        saved["precision"] == saved["settings"]["precision"] == resolve_precision("auto", torch.device("cpu"))
    )
    assert saved["settings"]["precision_requested"] == "auto"


def test_fp32_and_bf16_results_record_their_precision(model: Path, eval_dirs, tmp_path: Path) -> None:
    for precision in ("fp32", "bf16"):
        cfg = FinetuneConfig(task="pos", seed=3, precision=precision, **{**FAST, "max_epochs": 1})
        run_finetune(model, eval_dirs["pos"], tmp_path / f"{precision}.json", cfg)
        saved = json.loads((tmp_path / f"{precision}.json").read_text())
        assert saved["precision"] == saved["settings"]["precision"] == precision


def test_ner_with_long_sentences_windows_and_paper_compat(model: Path, eval_dirs, tmp_path: Path) -> None:
    cfg = FinetuneConfig(task="ner", seed=1, batch_size=8, max_epochs=2, eval_every=1, max_length=16)
    r = run_finetune(model, eval_dirs["ner"], tmp_path / "ner.json", cfg)
    assert r["metric"] == "f1" and r["labels"][0] == "O" and r["settings"]["patience"] == 4
    # 16 sub-words per window: most Hebrew sentences need several windows, and every word is scored
    assert r["split_sentences"]["test"] > 0 and r["n_windows"]["test"] > r["n_sentences"]["test"]
    assert {"f1", "precision", "recall"} <= set(r["test_metrics"])
    compat = run_finetune(
        model,
        eval_dirs["ner"],
        tmp_path / "compat.json",
        FinetuneConfig(task="ner", seed=1, paper_compat=True, **FAST),
    )
    assert compat["paper_compat"] and compat["settings"]["paper_compat"]


def test_accumulation_steps_once_per_n_batches_on_summed_losses(
    model: Path, eval_dirs, tmp_path: Path, monkeypatch
) -> None:
    """The authors' gradient_accumulation: N batches' mean losses are backpropagated into one gradient (their
    sum) before each clipped optimizer step; the count carries across epochs (24 sentences in 64-sub-word
    windows, batch 8: 4 batches an epoch, 8 in 2 epochs, so 8 steps at N = 1 and 4 at N = 2)."""
    import torch

    steps: list[int] = []
    step = torch.optim.Adam.step

    def counted(self, *args, **kwargs):
        steps.append(1)
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counted)
    one = run_finetune(
        model, eval_dirs["pos"], tmp_path / "one.json", FinetuneConfig(task="pos", seed=1, **FAST)
    )
    assert len(steps) == 8 and one["settings"]["accumulation"] == 1
    steps.clear()
    two = run_finetune(
        model,
        eval_dirs["pos"],
        tmp_path / "two.json",
        FinetuneConfig(task="pos", seed=1, accumulation=2, **FAST),
    )
    assert len(steps) == 4 and two["settings"]["accumulation"] == 2
    assert two["dev_curve"] != one["dev_curve"]
    with pytest.raises(VocabswapError, match="--accumulation must be at least 1"):
        FinetuneConfig(task="pos", seed=1, accumulation=0).validate()


def test_unseen_test_label_is_reported_and_counted_wrong(model: Path, eval_dirs, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(eval_dirs["pos"], data)
    test = read_tagged(data / "test.tsv")
    words, tags = test[0]
    test[0] = (words, ["NEVERSEEN", *tags[1:]])
    write_tagged(data / "test.tsv", test)
    r = run_finetune(model, data, tmp_path / "r.json", FinetuneConfig(task="pos", seed=1, **FAST))
    assert r["unseen_labels"]["test"] == {"NEVERSEEN": 1}
    assert any("NEVERSEEN" in w and "count as errors" in w for w in r["warnings"])
    assert "NEVERSEEN" not in r["labels"]


def test_bad_inputs(model: Path, eval_dirs, tmp_path: Path) -> None:
    cfg = FinetuneConfig(task="pos", seed=1, **FAST)
    no_tok = tmp_path / "no-tok"
    no_tok.mkdir()
    shutil.copy2(model / "config.json", no_tok)
    shutil.copy2(model / "model.safetensors", no_tok)
    with pytest.raises(VocabswapError, match="no tokenizer in this model directory"):
        run_finetune(no_tok, eval_dirs["pos"], tmp_path / "x.json", cfg)
    empty_dev = tmp_path / "empty-dev"
    shutil.copytree(eval_dirs["pos"], empty_dev)
    (empty_dev / "dev.tsv").write_text("", encoding="utf-8")
    with pytest.raises(VocabswapError, match=r"dev.tsv: no sentences in the dev split"):
        run_finetune(model, empty_dev, tmp_path / "y.json", cfg)
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "y.json").exists()
    with pytest.raises(VocabswapError, match="unknown task"):
        run_finetune(model, eval_dirs["pos"], tmp_path / "z.json", FinetuneConfig(task="dep"))
    exe = str(Path(sys.executable).with_name("vocabswap"))
    cli = [
        exe,
        "finetune",
        "--model",
        str(no_tok),
        "--task",
        "pos",
        "--data",
        str(eval_dirs["pos"]),
        "--seed",
        "1",
        "--out",
        str(tmp_path / "w.json"),
    ]
    result = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "no tokenizer" in result.stderr.strip().splitlines()[-1]


def test_encoder_layout_and_pooling_are_mains(model: Path, eval_dirs, tmp_path: Path) -> None:
    """The encoder keeps b04003f's tagger: every word tokenised alone, windows ``<s> pieces </s>``, the mean
    of a word's pieces (its result JSONs were compared whole with that commit's: identical numbers)."""
    from vocabswap.family import ENCODER, family_of_dir
    from vocabswap.modeldir import load_tokenizer
    from vocabswap.tagging import encode_sentences, layout_for

    tok = load_tokenizer(model)
    sentence = read_tagged(eval_dirs["pos"] / "dev.tsv")[0]
    w = encode_sentences([sentence], tok, {}, 256, layout_for(family_of_dir(model), tok))
    pieces = [i for word in sentence[0] for i in tok(word, add_special_tokens=False)["input_ids"]]
    assert w.input_ids[0].tolist() == [tok.bos_token_id, *pieces, tok.eos_token_id]
    assert family_of_dir(model) is ENCODER and ENCODER.word_pooling == "mean"
    r = run_finetune(model, eval_dirs["pos"], tmp_path / "r.json", FinetuneConfig(task="pos", seed=1, **FAST))
    assert (r["settings"]["family"], r["settings"]["pooling"]) == ("encoder", "mean")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_length_ordered_prediction_is_each_windows_own(model: Path, eval_dirs, precision: str) -> None:
    """Evaluation batches the longest windows together where padding is masked: every window still gets
    the labels it gets alone, unpadded (batch size 1), back in corpus order."""
    from vocabswap.finetune import _build_run, _prepare, predict

    cfg = FinetuneConfig(task="pos", seed=1, precision=precision, **{**FAST, "max_length": 16})
    run = _build_run(model, _prepare(model, eval_dirs["pos"], cfg), cfg)
    windows = run.windows["test"]
    assert len({len(ids) for ids in windows.input_ids}) > 1 and windows.n_sentences < len(windows)
    batched = predict(run.model, windows, 8, run.pad_id, run.device, run.autocast)
    alone = predict(run.model, windows, 1, run.pad_id, run.device, run.autocast)
    assert [len(p) for p in batched] == [len(tags) for _, tags in run.gold["test"]]
    assert all(np.array_equal(a, b) for a, b in zip(batched, alone, strict=True))


def test_prediction_keeps_corpus_order_where_padding_is_attended() -> None:
    """paper_compat's tagger attends padding, so a window's batch changes its outputs: the paper's order."""
    from vocabswap.finetune import prediction_order
    from vocabswap.tagging import Windows

    ids = [np.arange(n) for n in (3, 9, 5, 9)]
    windows = Windows(ids, ids, ids, np.arange(4), 4, 0, 0)
    assert prediction_order(windows, attend_padding=True).tolist() == [0, 1, 2, 3]
    assert prediction_order(windows, attend_padding=False).tolist() == [1, 3, 2, 0]
