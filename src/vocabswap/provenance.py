"""Provenance: where a model directory or a result came from.

Every workflow output records the config slice its job read, the checksums of its inputs, the vocabswap
version, the git commit of the workflow, the Slurm job id (when run under Slurm) and the host. Model
directories carry it as ``provenance.json``; result JSONs under a ``provenance`` key.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vocabswap import __version__
from vocabswap.atomic import write_json
from vocabswap.checksums import file_sha256
from vocabswap.data.download import redact_urls

PROVENANCE_FILE = "provenance.json"


def dir_sha256(path: str | Path) -> str:
    """One digest over a directory: its files' relative paths and contents (provenance.json left out)."""
    root = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file() and p.name != PROVENANCE_FILE):
        if any(part.startswith(".snakemake") for part in file.relative_to(root).parts):
            continue
        digest.update(str(file.relative_to(root)).encode() + b"\0" + file_sha256(file).encode() + b"\n")
    return digest.hexdigest()


def checksum(path: str | Path) -> str:
    """sha256 of a file; of a directory, the digest its own provenance.json recorded (else computed)."""
    path = Path(path)
    if path.is_dir():
        record = path / PROVENANCE_FILE
        if record.is_file():
            stored = json.loads(record.read_text(encoding="utf-8")).get("output_sha256")
            if stored:
                return stored
        return dir_sha256(path)
    return file_sha256(path)


def git_commit(cwd: str | Path | None = None) -> str | None:
    """HEAD of the git checkout holding `cwd` (suffixed "-dirty" with uncommitted changes), else None."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head


def collect(
    *,
    rule: str,
    wildcards: Mapping[str, Any],
    config: Mapping[str, Any],
    inputs: Iterable[str | Path],
    workdir: str | Path | None = None,
) -> dict[str, Any]:
    """The provenance record of one job (inputs are checksummed now)."""
    return {
        "rule": rule,
        "wildcards": dict(wildcards),
        "config": redact_urls(json.loads(json.dumps(dict(config), default=str))),
        "inputs": {str(p): checksum(p) for p in inputs},
        "vocabswap_version": __version__,
        "git_commit": git_commit(workdir),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "host": platform.node(),
        "python": platform.python_version(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def stamp_dir(directory: str | Path, record: Mapping[str, Any]) -> Path:
    """Write ``record`` (plus the directory's own digest) as DIRECTORY/provenance.json."""
    directory = Path(directory)
    path = directory / PROVENANCE_FILE
    write_json(path, {**record, "output_sha256": dir_sha256(directory)})
    return path
