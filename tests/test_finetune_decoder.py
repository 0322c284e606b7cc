"""POS/NER fine-tuning of decoders end to end: SmolLM2 (its first 2 blocks) with a Hebrew byte-level BPE
trained like its tokenizer and installed by `vocabswap init`, and the off-the-shelf SmolLM2 with its own
49k tokenizer, on the packaged Hebrew UD/NEMO data."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from _cli import one_line_error, run_cli
from _training import truncated_decoder

from vocabswap.data.evalsets import build_eval_set
from vocabswap.data.tagged import read_tagged
from vocabswap.finetune import FinetuneConfig, run_finetune

pytestmark = pytest.mark.slow

# a raised lr: the paper's 5e-6 needs tens of epochs; 2 epochs at 1e-3 beat the majority tag (measured)
FAST = dict(batch_size=8, max_epochs=2, eval_every=1, max_length=32, lr=1e-3)


@pytest.fixture(scope="module")
def decoders(
    smollm2_base: Path,
    smollm2_tokenizer: Path,
    hebrew_train_text: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    """``base``: SmolLM2's first 2 blocks with its own tokenizer; ``he``: the same with a 1,500-id Hebrew
    BPE installed by `vocabswap init --method mean+ident` (a LlamaForCausalLM dir, as LAPT writes)."""
    from vocabswap.cli import main
    from vocabswap.tokenizer_like import train_tokenizer_like

    root = tmp_path_factory.mktemp("ft-decoder")
    base = truncated_decoder(smollm2_base, root / "smollm2-2", 2)
    tok = train_tokenizer_like([hebrew_train_text], 1500, root / "he-bpe", like=smollm2_tokenizer, seed=1)
    he = root / "smollm2-2-he"
    argv = ["init", "--base", base, "--tokenizer", tok, "--method", "mean+ident", "--out", he]
    assert main([str(a) for a in argv]) == 0
    return {"base": base, "he": he}


@pytest.fixture(scope="module")
def eval_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval")
    build_eval_set("packaged:ud-hebrew-htb", "he", "pos", root / "pos", max_sentences=24)
    build_eval_set("packaged:ud-hebrew-htb", "he", "ner", root / "ner", max_sentences=8)
    return {"pos": root / "pos", "ner": root / "ner"}


def _majority_accuracy(data: Path) -> float:
    train, test = read_tagged(data / "train.tsv"), read_tagged(data / "test.tsv")
    top, _ = Counter(t for _, ts in train for t in ts).most_common(1)[0]
    gold = [t for _, ts in test for t in ts]
    return sum(t == top for t in gold) / len(gold)


def test_decoder_pos_beats_the_majority_tag_and_same_seed_gives_the_same_bits(
    decoders, eval_dirs, tmp_path: Path
) -> None:
    cfg = FinetuneConfig(task="pos", seed=1, **FAST)
    a = run_finetune(decoders["he"], eval_dirs["pos"], tmp_path / "a.json", cfg)
    saved = json.loads((tmp_path / "a.json").read_text())
    assert saved["score"] == a["score"] and saved["metric"] == "accuracy"
    settings = saved["settings"]
    assert (settings["family"], settings["pooling"], settings["first_word_prefix_space"]) == (
        "decoder",
        "last",
        False,
    )
    assert a["score"] > _majority_accuracy(eval_dirs["pos"]) + 0.2  # measured: 0.63 vs 0.22
    b = run_finetune(decoders["he"], eval_dirs["pos"], tmp_path / "b.json", cfg)
    a.pop("seconds"), b.pop("seconds")
    assert a == b  # every score and loss to the last bit


def test_decoder_ner_on_the_off_the_shelf_base_in_windows(decoders, eval_dirs, tmp_path: Path) -> None:
    cfg = FinetuneConfig(task="ner", seed=1, **{**FAST, "max_epochs": 1, "max_length": 16})
    r = run_finetune(decoders["base"], eval_dirs["ner"], tmp_path / "ner.json", cfg)
    assert (
        r["metric"] == "f1"
        and r["labels"][0] == "O"
        and {"f1", "precision", "recall"} <= set(r["test_metrics"])
    )
    # SmolLM2's English BPE spends ~2 tokens a Hebrew character: most sentences need several windows
    assert r["split_sentences"]["test"] > 0 and r["n_windows"]["test"] > r["n_sentences"]["test"]
    assert r["settings"]["family"] == "decoder" and r["settings"]["pooling"] == "last"


def test_decoder_bad_inputs_give_one_line(decoders, eval_dirs, tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(decoders["he"], broken)
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    out = tmp_path / "x.json"
    argv = ["finetune", "--model", broken, "--data", eval_dirs["pos"], "--task", "pos", "--seed", "1"]
    rc, err = run_cli([*argv, "--out", out], capsys)
    one_line_error(rc, err, str(broken), "does not load as the body of a causal LM")
    argv[2] = decoders["he"]
    rc, err = run_cli([*argv, "--max-length", "1", "--out", out], capsys)
    one_line_error(rc, err, "--max-length must be at least 3, got 1")
    assert not out.exists()
