"""``vocabswap clean`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

from vocabswap.cli import main


def test_clean_cli(tmp_path: Path, hebrew_train_text: Path, capsys):
    out, stats = tmp_path / "he.clean.txt", tmp_path / "stats.json"
    assert main(["clean", "--lang", "he", str(hebrew_train_text), str(out), "--stats", str(stats)]) == 0
    s = json.loads(stats.read_text())
    assert s["lang"] == "he" and s["input_lines"] == 4937
    assert s["kept_lines"] == len(out.read_text(encoding="utf-8").splitlines()) > 4000
    assert set(s["removed"]) == {
        "invalid_utf8",
        "nul_byte",
        "duplicate",
        "length",
        "average_word_length",
        "long_word",
        "alphabet_ratio",
        "english",
    }
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert main(["clean", "--lang", "he", str(empty), str(tmp_path / "o.txt")]) == 2
    assert "empty corpus" in capsys.readouterr().err
    assert not (tmp_path / "o.txt").exists()
