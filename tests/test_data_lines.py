"""The one corpus line rule (data.lines), the one file checksum and the one first-line helper."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from vocabswap.checksums import file_sha256
from vocabswap.data.lines import byte_lines, text_lines
from vocabswap.errors import InputError, first_line

EDGE = "  lead\ntrail  \n\n \t \nx\r\n\u00a0\nmid\rcr\n\u3000wide\u3000\nlast".encode()


def test_text_lines_skip_blank_lines_and_keep_the_rest_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(EDGE)
    assert list(text_lines(path)) == ["  lead", "trail  ", "x", "mid\rcr", "\u3000wide\u3000", "last"]
    assert list(text_lines(path, strip=True)) == ["lead", "trail", "x", "mid\rcr", "wide", "last"]
    assert list(text_lines(path, split_cr=True))[3:5] == ["mid", "cr"]


def test_byte_lines_skip_only_empty_lines_within_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(EDGE)
    assert list(byte_lines(path)) == [
        b"  lead",
        b"trail  ",
        b" \t ",
        b"x",
        "\u00a0".encode(),
        b"mid\rcr",
        "\u3000wide\u3000".encode(),
        b"last",
    ]
    assert list(byte_lines(path, cap_bytes=16)) == [b"  lead", b"trail  "]  # whole lines only


def test_text_lines_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xe9t\xe9\n")
    with pytest.raises(InputError, match=r"bad.txt:2: not UTF-8 \(invalid continuation byte at byte 0\)"):
        list(text_lines(bad))
    blank = tmp_path / "blank.txt"
    blank.write_bytes(b"\n  \n")
    assert list(text_lines(blank)) == []
    with pytest.raises(InputError, match=r"blank.txt: nothing here"):
        list(text_lines(blank, empty="nothing here"))


def test_file_sha256_and_first_line(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 10_000
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert file_sha256(path, prefix=b"x") == hashlib.sha256(b"x" + data).hexdigest()
    assert first_line(ValueError("\n  one\ntwo")) == "one"
    assert first_line(KeyError()) == "KeyError" and first_line("a\nb") == "a"
