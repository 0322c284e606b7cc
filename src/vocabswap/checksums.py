"""The sha256 of a file, read in blocks: the one checksum that provenance, downloads and eval sets record."""

from __future__ import annotations

import hashlib
from pathlib import Path

_BLOCK = 1 << 20


def file_sha256(path: str | Path, *, prefix: bytes = b"") -> str:
    """Hex sha256 of ``prefix`` followed by the bytes of the file at ``path`` (memory stays flat)."""
    digest = hashlib.sha256(prefix)
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()
