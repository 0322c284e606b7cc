"""Issue 19: nothing stale, nothing escapes. Each test reproduces one defect of the issue (numbered as
there) and asserts what the product does now."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from _training import small_target_model, split_text
from safetensors.torch import load_file

from vocabswap.errors import VocabswapError
from vocabswap.lapt import LaptConfig, run_lapt
from vocabswap.lapt_state import StateDir

TINY = dict(
    regime="full", steps=2, eval_every=1, batch_size=4, micro_batch_size=2, max_length=32, log_every=1
)


@pytest.fixture(scope="module")
def models(
    base_model_enpt: Path, he_tokenizer: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """Two small real models for one vocabulary that differ only in their initial embedding rows (as two
    `init_seed`s give): INIT_A and INIT_B of the issue."""
    root = tmp_path_factory.mktemp("h19-models")
    return (
        small_target_model(base_model_enpt, he_tokenizer, root / "a", 1, seed=0),
        small_target_model(base_model_enpt, he_tokenizer, root / "b", 1, seed=7),
    )


@pytest.fixture(scope="module")
def texts(hebrew_train_text: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return split_text(hebrew_train_text, tmp_path_factory.mktemp("h19-text"), 200, 20)


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return load_file(out / "model.safetensors")


def _events(out: Path) -> list[str]:
    lines = (out / "training_log.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(x).get("event", "") for x in lines]


# --------------------------------------------------------------------------------------------------------
# 1. LAPT state keyed by everything it depends on


def test_1_changed_model_is_refused_in_one_line_then_restarted(models, texts, tmp_path: Path) -> None:
    a, b = models
    state = tmp_path / "S"
    run_lapt(a, *texts, tmp_path / "A", LaptConfig(keep_state=True, **TINY), state_dir=state)
    with pytest.raises(
        VocabswapError, match=r"S: holds a run with other inputs or settings \(the model changed\)"
    ):
        run_lapt(b, *texts, tmp_path / "B", LaptConfig(**TINY), state_dir=state)
    assert not (tmp_path / "B").exists() and (state / "checkpoint").is_dir()  # refused: nothing touched

    run_lapt(b, *texts, tmp_path / "B", LaptConfig(**TINY), state_dir=state, on_change="restart")
    run_lapt(b, *texts, tmp_path / "B-fresh", LaptConfig(**TINY))
    wa, wb, fresh = _weights(tmp_path / "A"), _weights(tmp_path / "B"), _weights(tmp_path / "B-fresh")
    assert any(not torch.equal(wa[n], wb[n]) for n in wa)
    assert all(torch.equal(wb[n], fresh[n]) for n in wb), "a restart trains B from B, as a fresh run does"
    assert "resumed" not in _events(tmp_path / "B")
    assert not state.exists()


def test_1_changed_train_or_dev_text_is_refused(models, texts, tmp_path: Path) -> None:
    train, dev = texts
    state = tmp_path / "S"
    run_lapt(models[0], train, dev, tmp_path / "A", LaptConfig(keep_state=True, **TINY), state_dir=state)
    other = tmp_path / "train2.txt"
    other.write_text(train.read_text(encoding="utf-8") + "שורה חדשה אחת\n", encoding="utf-8")
    with pytest.raises(VocabswapError, match=r"\(the train changed\)"):
        run_lapt(models[0], other, dev, tmp_path / "B", LaptConfig(**TINY), state_dir=state)
    with pytest.raises(VocabswapError, match=r"\(the dev changed; steps 2 -> 3\)"):
        run_lapt(models[0], train, other, tmp_path / "B", LaptConfig(**{**TINY, "steps": 3}), state_dir=state)
    # the same inputs resume (nothing left to train: the kept state is at its last step)
    run_lapt(models[0], train, dev, tmp_path / "C", LaptConfig(**TINY), state_dir=state)
    assert "resumed" in _events(tmp_path / "C")
    assert all(
        torch.equal(x, y)
        for x, y in zip(_weights(tmp_path / "A").values(), _weights(tmp_path / "C").values(), strict=True)
    )


def test_1_state_of_an_older_vocabswap_has_unknown_inputs(models, texts, tmp_path: Path) -> None:
    state = tmp_path / "S"
    run_lapt(models[0], *texts, tmp_path / "A", LaptConfig(keep_state=True, **TINY), state_dir=state)
    (state / "vocabswap-lapt-key.json").unlink()  # as a state directory written before the key existed
    with pytest.raises(VocabswapError, match="its inputs are unknown"):
        run_lapt(models[0], *texts, tmp_path / "B", LaptConfig(**TINY), state_dir=state)


def test_1_workflow_script_restarts_a_stale_state() -> None:
    """The workflow's LAPT rule never resumes across a changed input: its script asks for a restart."""
    script = (Path(__file__).parents[1] / "workflow" / "scripts" / "lapt.py").read_text(encoding="utf-8")
    assert 'on_change="restart"' in script


# --------------------------------------------------------------------------------------------------------
# (issue preamble) --state-dir never deletes a user's training_log.jsonl or cache/train.*


def test_state_dir_holding_the_users_log_and_cache_is_refused(models, texts, tmp_path: Path) -> None:
    state = tmp_path / "mine"
    (state / "cache").mkdir(parents=True)
    (state / "training_log.jsonl").write_text("my log\n", encoding="utf-8")
    (state / "cache" / "train.notes").write_text("my cache\n", encoding="utf-8")
    with pytest.raises(VocabswapError, match=r"mine/cache: exists, but vocabswap did not make"):
        run_lapt(models[0], *texts, tmp_path / "A", LaptConfig(**TINY), state_dir=state)
    assert (state / "training_log.jsonl").read_text(encoding="utf-8") == "my log\n"
    assert (state / "cache" / "train.notes").read_text(encoding="utf-8") == "my cache\n"
    StateDir(state).remove()  # not vocabswap's directory: nothing deleted
    assert sorted(p.name for p in state.rglob("*")) == ["cache", "train.notes", "training_log.jsonl"]


# --------------------------------------------------------------------------------------------------------
# 11. one run at a time per state directory


def test_11_concurrent_lapt_on_one_state_dir_is_refused(models, texts, tmp_path: Path) -> None:
    held = StateDir(tmp_path / "S")
    held.lock()
    try:
        with pytest.raises(VocabswapError, match="another vocabswap lapt is using this state directory"):
            run_lapt(models[0], *texts, tmp_path / "A", LaptConfig(**TINY), state_dir=held.root)
    finally:
        held.release()
    assert (
        not (tmp_path / "A").exists() and (held.root / "vocabswap-lapt.lock").exists()
    )  # the holder's files stay


def test_11_lapt_replaces_an_earlier_output_only_with_overwrite(models, texts, tmp_path: Path) -> None:
    run_lapt(models[0], *texts, tmp_path / "A", LaptConfig(**TINY))
    with pytest.raises(VocabswapError, match="pass --overwrite to replace it"):
        run_lapt(models[0], *texts, tmp_path / "A", LaptConfig(**TINY))
    assert not (tmp_path / "A.state").exists()
    run_lapt(models[0], *texts, tmp_path / "A", LaptConfig(**TINY), overwrite=True)


# --------------------------------------------------------------------------------------------------------
# 12. a failed LAPT leaves no OUT.state


def test_12_failed_lapt_leaves_no_state_dir(models, texts, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(models[0], broken)
    (broken / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(VocabswapError):
        run_lapt(broken, *texts, tmp_path / "A", LaptConfig(**TINY))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken"]


# --------------------------------------------------------------------------------------------------------
# 8 and 14. settings that cannot train are refused in one line, before any work


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_grad_norm": float("nan")}, "--max-grad-norm must be a finite number above 0, got nan"),
        ({"lr": float("nan")}, "--lr must be a finite number above 0, got nan"),
        ({"lr": float("inf")}, "--lr must be a finite number above 0, got inf"),
        ({"weight_decay": -1.0}, "--weight-decay must be a finite number >= 0, got -1.0"),
        ({"seed": -1}, "--seed must be an integer from 0 to 4294967295, got -1"),
        ({"seed": 10**20}, "--seed must be an integer from 0 to 4294967295"),
    ],
)
def test_8_14_lapt_settings_are_checked(change: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(VocabswapError, match=message.replace("(", r"\(").replace("+", r"\+")):
        run_lapt(
            tmp_path / "m", tmp_path / "t", tmp_path / "d", tmp_path / "o", LaptConfig(**{**TINY, **change})
        )
    assert sorted(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------------------
# 2, 8, 14. aggregate: the result decides no path; malformed results are one line; NaN and true refused


def _result(tmp_path: Path, name: str, **cell_and_score) -> Path:
    score = cell_and_score.pop("score", 0.9)
    cell = {"task": "pos", "lang": "he", "seed": 1, "target": "offtheshelf", **cell_and_score}
    path = tmp_path / name
    path.write_text(json.dumps({"cell": cell, "score": score}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"task": str(Path("/tmp") / "escaped")}, "`cell.task` must be one of pos, ner"),
        ({"task": "../../escaped"}, "`cell.task` must be one of pos, ner, got '../../escaped'"),
        ({"lang": None}, "`cell.lang` must be a language name, got None"),
        ({"seed": "one"}, "`cell.seed` must be an integer >= 0, got 'one'"),
        ({"seed": True}, "`cell.seed` must be an integer >= 0, got True"),
        ({"score": float("nan")}, "`score` must be a finite number, got nan"),
        ({"score": True}, "`score` must be a finite number, got True"),
    ],
)
def test_2_8_14_aggregate_refuses_a_malformed_result(change, needle, tmp_path: Path, capsys) -> None:
    from _cli import one_line_error, run_cli

    bad = _result(tmp_path, "bad.json", **change)
    good = _result(tmp_path, "good.json", seed=2)
    rc, err = run_cli(["aggregate", good, bad, "--out-dir", tmp_path / "tables"], capsys)
    one_line_error(rc, err, "bad.json", needle)
    assert not (tmp_path / "tables").exists()
    assert not list(tmp_path.parent.glob("escaped*")) and not Path("/tmp/escaped.md").exists()


def test_8_aggregate_json_list_and_negative_decimals(tmp_path: Path, capsys) -> None:
    from _cli import one_line_error, run_cli

    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]", encoding="utf-8")
    rc, err = run_cli(["aggregate", listed, "--out-dir", tmp_path / "t"], capsys)
    one_line_error(rc, err, "list.json: a result JSON needs to be an object with a `cell` object")
    rc, err = run_cli(
        ["aggregate", _result(tmp_path, "ok.json"), "--out-dir", tmp_path / "t", "--decimals", "-1"], capsys
    )
    one_line_error(rc, err, "--decimals must be at least 0, got -1")


# --------------------------------------------------------------------------------------------------------
# 3. credentials stay out of error messages and Snakemake's params


@pytest.mark.parametrize(
    "url",
    [
        "http://alice:PASS@127.0.0.1:99999/x",  # port out of range
        "http://alice:PASS@[::1/x",  # a bad IPv6 host
        "http://alice:PA SS@127.0.0.1:1/x",  # a space
    ],
)
def test_3_malformed_url_keeps_the_password_out_of_the_error(url: str, tmp_path: Path, monkeypatch) -> None:
    from vocabswap.data.sources import fetch_corpus

    monkeypatch.setenv("VOCABSWAP_DOWNLOADS", str(tmp_path / "cache"))
    with pytest.raises(VocabswapError) as info:
        fetch_corpus(f"url:{url}", tmp_path / "out.txt")
    assert "PASS" not in str(info.value) and "SS@" not in str(info.value), str(info.value)
    assert "alice" not in str(info.value)


def test_3_download_params_carry_no_secret() -> None:
    """`download_corpus` records its params in .snakemake/metadata: the source there is redacted; the
    script reads the source itself from the config."""
    rules = Path(__file__).parents[1] / "rules"
    assert "source=corpus_source_redacted" in (rules / "data.smk").read_text(encoding="utf-8")
    from vocabswap.data.download import redact_urls

    assert (
        redact_urls("url:https://alice:PASS@h/x?token=T&a=1")
        == "url:https://REDACTED@h/x?token=REDACTED&a=REDACTED"
    )


# --------------------------------------------------------------------------------------------------------
# 4. an output never replaces its own input


def test_4_outputs_that_are_inputs_are_refused(small_text: Path, tmp_path: Path, capsys) -> None:
    from _cli import one_line_error, run_cli

    text = tmp_path / "in.txt"
    shutil.copy2(small_text, text)
    before = text.read_bytes()
    cases = [
        (["clean", "--lang", "he", text, text], "OUT is also an input"),
        (
            ["clean", "--lang", "he", text, tmp_path / "o.txt", "--stats", tmp_path / "o.txt"],
            "--stats is also the OUT output",
        ),
        (["sample", "--lines", "5", f"he={text}", "--out", text], "--out is also an input"),
    ]
    for argv, needle in cases:
        rc, err = run_cli(argv, capsys)
        one_line_error(rc, err, needle)
        assert text.read_bytes() == before
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.tsv").write_text("w\tNOUN\n\n", encoding="utf-8")
    rc, err = run_cli(["finetune", "--model", tmp_path, "--task", "pos", "--data", data, "--seed", "1",
                       "--out", data / "train.tsv"], capsys)  # fmt: skip
    one_line_error(rc, err, "--out is also an input")
    assert (data / "train.tsv").read_text(encoding="utf-8") == "w\tNOUN\n\n"


@pytest.fixture(scope="module")
def small_text(hebrew_train_text: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("h19-small") / "he.txt"
    out.write_text(
        "\n".join(hebrew_train_text.read_text(encoding="utf-8").splitlines()[:300]) + "\n", encoding="utf-8"
    )
    return out


# --------------------------------------------------------------------------------------------------------
# 5. model weights readable by collaborators


def test_5_safetensors_in_an_output_directory_get_ordinary_modes(tmp_path: Path) -> None:
    import os
    import stat

    from safetensors.torch import save_file

    from vocabswap.atomic import atomic_dir

    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "model") as tmp:
            save_file({"w": torch.zeros(2)}, tmp / "model.safetensors")  # its writer makes the file 0600
            (tmp / "sub").mkdir(mode=0o700)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "model" / "model.safetensors").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "model" / "sub").stat().st_mode) == 0o755


# --------------------------------------------------------------------------------------------------------
# 6. small hostile inputs cannot cost gigabytes


def test_6_one_huge_line_in_a_small_gzip_is_refused(tmp_path: Path, monkeypatch) -> None:
    import gzip

    from vocabswap.data.sources import MAX_LINE_BYTES, fetch_corpus

    bomb = tmp_path / "bomb.txt.gz"
    bomb.write_bytes(gzip.compress(b"x" * (MAX_LINE_BYTES * 4) + b"\n"))
    assert bomb.stat().st_size < 20_000
    with pytest.raises(VocabswapError, match=r"bomb.txt.gz:1: a line longer than 1,048,576 bytes"):
        fetch_corpus(f"file:{bomb}", tmp_path / "out.txt", max_bytes=1 << 20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.txt.gz"]


def test_6_a_source_expands_to_at_most_max_bytes_by_default() -> None:
    import inspect

    from vocabswap.data.sources import DEFAULT_MAX_BYTES, fetch_corpus

    assert inspect.signature(fetch_corpus).parameters["max_bytes"].default == DEFAULT_MAX_BYTES == 2 << 30


def test_6_wikiann_member_far_larger_than_its_archive_is_refused(tmp_path: Path) -> None:
    import io
    import tarfile

    from vocabswap.data.evalsets import build_eval_set

    archive = tmp_path / "he.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"he:x O\n" * (16 << 20)  # 112 MB of one repeated line: a 100 KB archive
        info = tarfile.TarInfo("wikiann-he.bio")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert archive.stat().st_size < 1 << 20
    with pytest.raises(VocabswapError, match=r"expands to 117,440,512 bytes, over 100x the archive"):
        build_eval_set(f"wikiann:{archive}", "he", "ner", tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["he.tar.gz"]


def test_6_wikiann_member_copy_sits_beside_the_archive(tmp_path: Path, monkeypatch) -> None:
    """The streamed member copy is a scratch directory beside the archive (reaped by the next run if this
    one is killed), never the system temp folder, and it is gone after the read."""
    import io
    import tarfile

    from vocabswap.data import evalsets

    archive = tmp_path / "he.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = "שלום\tO\nעולם\tB-LOC\n\n".encode()
        info = tarfile.TarInfo("wikiann-he.bio")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    seen: list[Path] = []
    read_ner = evalsets.read_ner
    monkeypatch.setattr(evalsets, "read_ner", lambda path: seen.append(Path(path)) or read_ner(path))
    evalsets._read_wikiann(archive)
    assert seen and seen[0].parent.parent == tmp_path, seen
    assert sorted(p.name for p in tmp_path.iterdir()) == ["he.tar.gz"]


# --------------------------------------------------------------------------------------------------------
# 7, 10. downloads: no splice of two versions; hostile answers are one clear error


@pytest.fixture()
def server(monkeypatch):
    from test_data_download import _Server

    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    s = _Server()
    yield s
    s.close()


def test_7_resume_after_the_file_changed_restarts_instead_of_splicing(server, tmp_path: Path) -> None:
    from vocabswap.data.download import DownloadError, download

    v1, v2 = b"version one\n" * 8000, b"VERSION TWO\n" * 8000
    server.routes["/f.txt"], server.faults["/f.txt"] = v1, "truncate"
    with pytest.raises(DownloadError, match=r"truncated|interrupted"):
        download(f"{server.url}/f.txt", tmp_path / "f.txt", retries=0)
    assert 0 < (tmp_path / "f.txt.part").stat().st_size < len(v1)
    server.routes["/f.txt"] = v2  # the server now has another version; it ignores If-Range
    del server.faults["/f.txt"]
    record = download(f"{server.url}/f.txt", tmp_path / "f.txt", retries=0)
    assert (tmp_path / "f.txt").read_bytes() == v2 and record["resumed_from"] == 0
    ranged = [h for _, h in server.requests if "Range" in h]
    assert ranged and all(h.get("If-Range") for h in ranged)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt", "f.txt.provenance.json"]


def test_7_resume_of_the_same_version_still_resumes(server, tmp_path: Path) -> None:
    from vocabswap.data.download import DownloadError, download

    v1 = b"version one\n" * 8000
    server.routes["/f.txt"], server.faults["/f.txt"] = v1, "truncate"
    with pytest.raises(DownloadError):
        download(f"{server.url}/f.txt", tmp_path / "f.txt", retries=0)
    del server.faults["/f.txt"]
    record = download(f"{server.url}/f.txt", tmp_path / "f.txt", retries=0)
    assert (tmp_path / "f.txt").read_bytes() == v1 and record["resumed_from"] > 0


@pytest.mark.parametrize(
    ("listing", "needle"),
    [
        ({"message": "rate limited"}, "the answer is not a JSON list of entries"),
        ([{"type": "file"}], "a listing entry has no 'name'"),
        (
            [{"type": "file", "name": "he-ud-train.conllu"}],
            "a .conllu entry of the listing has no download_url",
        ),
    ],
)
def test_10_hostile_ud_listing_is_one_error(listing, needle, server, tmp_path: Path, monkeypatch) -> None:
    from vocabswap.data.sources import fetch_ud

    monkeypatch.setenv("VOCABSWAP_GITHUB_API_URL", server.url)
    server.routes["/repos/UniversalDependencies/UD_X/contents"] = json.dumps(listing).encode()
    with pytest.raises(VocabswapError, match=needle):
        fetch_ud("UD_X", "2.11", tmp_path / "ud")


def test_10_oscar_part_without_a_checksum_is_refused(server, tmp_path: Path, monkeypatch) -> None:
    from vocabswap.data.sources import fetch_corpus

    monkeypatch.setenv("VOCABSWAP_HF_URL", server.url)
    monkeypatch.setenv("VOCABSWAP_DOWNLOADS", str(tmp_path / "dl"))
    server.routes["/api/datasets/oscar-corpus/OSCAR-2201/tree/main/compressed/he_meta"] = json.dumps(
        [{"type": "file", "path": "compressed/he_meta/he_meta_part_1.jsonl.gz", "size": 10}]
    ).encode()
    with pytest.raises(VocabswapError, match="has no LFS sha256 in the listing; refusing it unverified"):
        fetch_corpus("oscar:he", tmp_path / "he.txt")
    assert not any(path.endswith(".jsonl.gz") for path, _ in server.requests)


def test_10_corrupt_gzip_body_and_bad_url_template(server, tmp_path: Path, monkeypatch) -> None:
    from vocabswap.data.sources import fetch_corpus, fetch_wikiann

    monkeypatch.setenv("VOCABSWAP_DOWNLOADS", str(tmp_path / "dl"))
    server.routes["/c.txt.gz"] = b"\x1f\x8b\x08\x00" + b"\xff" * 200
    with pytest.raises(VocabswapError, match="the compressed data is damaged"):
        fetch_corpus(f"url:{server.url}/c.txt.gz", tmp_path / "c.txt")
    monkeypatch.setenv("VOCABSWAP_WIKIANN_URL", server.url + "/{0}.tar.gz")
    with pytest.raises(
        VocabswapError, match=r"VOCABSWAP_WIKIANN_URL: the URL template may hold only \{lang\}"
    ):
        fetch_wikiann("he", tmp_path / "he.tar.gz")


def test_10_redirect_loop_is_not_retried() -> None:
    import requests

    from vocabswap.data.download import _not_transient

    assert issubclass(requests.exceptions.TooManyRedirects, _not_transient(requests))
    assert issubclass(requests.exceptions.SSLError, _not_transient(requests))


# --------------------------------------------------------------------------------------------------------
# 8. more one-line errors: seeds on every command, --max-length against the model's positions


@pytest.mark.parametrize("seed", ["-1", "1e20", "99999999999999999999"])
def test_8_bad_seed_is_a_usage_error_on_every_command(
    seed: str, small_text: Path, tmp_path: Path, capsys
) -> None:
    argvs = [
        ["train-tokenizer", "--corpus", small_text, "--vocab-size", "300", "--out", tmp_path / "t"],
        ["init", "--base", tmp_path, "--tokenizer", tmp_path, "--method", "random", "--out", tmp_path / "i"],
        ["sample", "--lines", "5", f"he={small_text}", "--out", tmp_path / "s.txt"],
        [
            "lapt",
            "--model",
            tmp_path,
            "--train",
            small_text,
            "--dev",
            small_text,
            "--regime",
            "full",
            "--out",
            tmp_path / "l",
        ],
        ["finetune", "--model", tmp_path, "--task", "pos", "--data", tmp_path, "--out", tmp_path / "f.json"],
    ]
    from vocabswap.cli import main

    for argv in argvs:
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in argv] + ["--seed", seed])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "argument --seed:" in err, err
    assert sorted(tmp_path.iterdir()) == []


def test_8_max_length_beyond_the_models_positions_fails_before_encoding(
    models, texts, tmp_path: Path
) -> None:
    with pytest.raises(VocabswapError, match=r"--max-length 100000 exceeds the 512 positions of the model"):
        run_lapt(models[0], *texts, tmp_path / "A", LaptConfig(**{**TINY, "max_length": 100_000}))
    assert sorted(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------------------
# 9. config values that a job would choke on are refused at validation, naming the key


DEMO = Path(__file__).parents[1] / "config" / "config.yaml"


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        ("tokenizer.vocab_size", 300.0, "tokenizer.vocab_size"),
        ("seeds", [1.0], "seeds"),
        ("lapt.lr", float("nan"), "lapt.lr"),
        ("lapt.weight_decay", float("inf"), "lapt.weight_decay"),
    ],
)
def test_9_float_for_an_integer_and_nan_are_refused(path: str, value, needle: str) -> None:
    import yaml

    from vocabswap.config import ConfigError, validate_config

    config = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    node = config
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        validate_config(config)


def test_9_resplit_fractions_out_of_range_are_refused() -> None:
    import yaml

    from vocabswap.config import ConfigError, validate_config

    config = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    lang = next(iter(config["languages"]))
    config["languages"][lang].setdefault("eval", {}).setdefault("ner", {})["resplit_fractions"] = [
        -1,
        0.5,
        1.5,
    ]
    with pytest.raises(ConfigError, match="resplit_fractions"):
        validate_config(config)


def test_9_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    from vocabswap.config import ConfigError, load_config

    text = DEMO.read_text(encoding="utf-8")
    path = tmp_path / "twice.yaml"
    path.write_text(text + "\nseeds: [1, 2]\n", encoding="utf-8")  # `seeds` is already set above
    with pytest.raises(ConfigError, match=r"twice.yaml: line \d+: the key 'seeds' is given twice"):
        load_config(path)
    snakefile = (Path(__file__).parents[1] / "Snakefile").read_text(encoding="utf-8")
    assert "for path in workflow.configfiles:\n    read_yaml(path)" in snakefile


# --------------------------------------------------------------------------------------------------------
# 11. --overwrite is checked again at the end: a concurrent run's output is not replaced silently


def test_11_tokenizer_output_appearing_during_training_is_not_replaced(
    small_text: Path, tmp_path: Path
) -> None:
    from vocabswap.atomic import OutputError, atomic_dir
    from vocabswap.tokenizer import train_tokenizer

    out = tmp_path / "tok"
    with atomic_dir(out) as tmp:  # what a concurrent run installs first
        (tmp / "first.txt").write_text("first\n", encoding="utf-8")
    with pytest.raises(OutputError, match="pass --overwrite to replace it"):
        train_tokenizer([small_text], 300, out, overwrite=False)
    assert (out / "first.txt").read_text(encoding="utf-8") == "first\n"


# --------------------------------------------------------------------------------------------------------
# 12. litter of killed runs: temporaries beside the output, reaped by the next run


def test_12_a_killed_writers_temporaries_are_reaped(small_text: Path, tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    from vocabswap.tokenizer import train_tokenizer

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid, host = int(dead.stdout), socket.gethostname()
    litter = [tmp_path / f".tok.{host}-{pid}.abc123.tmp", tmp_path / f".tok.{host}-{pid}.def456.tmp.old"]
    for path in litter:
        path.mkdir()
        (path / "train.txt").write_text("a corpus copy\n", encoding="utf-8")
    alive = tmp_path / f".tok.{host}-{os.getpid()}.ghi789.tmp"  # a live writer's: kept
    other = tmp_path / f".tok.otherhost-{pid}.jkl012.tmp"  # another host's: kept
    alive.mkdir()
    other.mkdir()
    train_tokenizer([small_text], 300, tmp_path / "tok")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other.name, "tok"])


def test_12_tokenizer_training_copies_its_text_beside_the_output(
    small_text: Path, tmp_path: Path, monkeypatch
) -> None:
    import tempfile

    from vocabswap import tokenizer

    seen = []
    original = tokenizer._train_spm

    def spy(text, *args, **kwargs):
        seen.append(Path(text))
        return original(text, *args, **kwargs)

    monkeypatch.setattr(tokenizer, "_train_spm", spy)
    tokenizer.train_tokenizer([small_text], 300, tmp_path / "tok")
    assert seen[0].parent.parent == tmp_path and not str(seen[0]).startswith(
        tempfile.gettempdir() + "/vocabswap-spm"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tok"]


# --------------------------------------------------------------------------------------------------------
# 13. CoNLL-U: a blank FORM or one with a line break names the file and line; an empty dev split is refused


@pytest.mark.parametrize("form", ["   ", "a\rb"])
def test_13_conllu_blank_or_broken_form(form: str, tmp_path: Path) -> None:
    from vocabswap.data.conllu import read_conllu
    from vocabswap.errors import InputError

    path = tmp_path / "x.conllu"
    path.write_text(
        f"1\tok\tok\tNOUN\t_\t_\t0\troot\t_\t_\n2\t{form}\t_\tNOUN\t_\t_\t1\tdep\t_\t_\n\n",
        encoding="utf-8",
        newline="",
    )
    with pytest.raises(InputError, match=r"x.conllu:2: FORM .* is blank or holds a line break"):
        read_conllu(path)


def test_13_empty_dev_file_is_refused(tmp_path: Path) -> None:
    from vocabswap.data.evalsets import build_eval_set

    root = tmp_path / "UD_X"
    root.mkdir()
    sentence = "1\tשלום\tשלום\tINTJ\t_\t_\t0\troot\t_\t_\n\n"
    (root / "x-ud-train.conllu").write_text(sentence * 5, encoding="utf-8")
    (root / "x-ud-dev.conllu").write_text("", encoding="utf-8")
    (root / "x-ud-test.conllu").write_text(sentence * 2, encoding="utf-8")
    with pytest.raises(VocabswapError, match="the dev split is empty but train has 5 sentences"):
        build_eval_set(f"ud:{root}", "he", "pos", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_8_binary_config_file_is_one_error(tmp_path: Path) -> None:
    from vocabswap.config import ConfigError, load_config

    path = tmp_path / "binary.yaml"
    path.write_bytes(b"seeds: [1]\n\xff\xfe\x00\x81")
    with pytest.raises(ConfigError, match=r"binary.yaml: not UTF-8 text \(byte 11\)"):
        load_config(path)


def test_8_full_disk_while_saving_tokenizer_json(
    small_text: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    """The tokenizers library reports ENOSPC as a bare Exception: one line, no output, no temporary."""
    from _cli import hidden_files, one_line_error, run_cli
    from transformers import XLMRobertaTokenizer

    def full_disk(self, *args, **kwargs):
        raise Exception("No space left on device (os error 28)")

    monkeypatch.setattr(XLMRobertaTokenizer, "save_pretrained", full_disk)
    rc, err = run_cli(
        ["train-tokenizer", "--corpus", small_text, "--vocab-size", "300", "--out", tmp_path / "tok"], capsys
    )
    one_line_error(rc, err, "cannot write the tokenizer files: No space left on device")
    assert not (tmp_path / "tok").exists() and hidden_files(tmp_path) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lr": float("nan")}, "--lr must be a finite number above 0, got nan"),
        ({"dropout": 1.5}, r"--dropout must be in \[0, 1\), got 1.5"),
        ({"dropout": float("nan")}, r"--dropout must be in \[0, 1\), got nan"),
        ({"max_grad_norm": float("nan")}, "--max-grad-norm must be a finite number above 0, got nan"),
        ({"seed": -1}, "--seed must be an integer from 0 to 4294967295, got -1"),
    ],
)
def test_8_14_finetune_settings_are_checked(change: dict, message: str) -> None:
    from vocabswap.training_config import FinetuneConfig

    with pytest.raises(VocabswapError, match=message):
        FinetuneConfig(**change).validate()


def test_8_pickled_model_with_code_is_one_line(models, tmp_path: Path, capsys) -> None:
    from _cli import one_line_error, run_cli

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(tmp_path / "pwned"),))

    model = tmp_path / "pickled"
    shutil.copytree(models[0], model)
    (model / "model.safetensors").unlink()
    torch.save({"roberta.embeddings.word_embeddings.weight": Payload()}, model / "pytorch_model.bin")
    rc, err = run_cli(["base-model", model, "--out", tmp_path / "out"], capsys)
    one_line_error(rc, err, "UnpicklingError: Weights only load failed")
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "out").exists()
