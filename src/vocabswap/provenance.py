"""Provenance: where every workflow output came from, in one shape.

Every output of every rule records the job's rule and wildcards, the config slice it read (and that slice's
digest), the sha256 of each input (a directory's: see :func:`dir_sha256`), the sources it read from outside
the workflow (downloads: URL without credentials and checksum; packaged data: package, version, file
digest), the vocabswap version, the git commit of the workflow, the Slurm job id, the host, the library
versions, device, precision and thread count, and the output's own digest. Where it lives:

- a directory output: ``DIR/provenance.json``;
- a result JSON: under its ``provenance`` key (the file's digest is what its consumers record);
- any other file: the sidecar ``FILE.provenance.json`` (:func:`sidecar_path`).

:mod:`vocabswap.trace` follows these records from any output down to the raw sources.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from vocabswap import __version__
from vocabswap.atomic import write_json
from vocabswap.checksums import file_sha256
from vocabswap.data.download import provenance_path, redact_urls

PROVENANCE_FILE = "provenance.json"
# The libraries whose versions most often explain a number that does not reproduce (distribution names).
LIBRARIES = ("torch", "transformers", "tokenizers", "sentencepiece", "fasttext", "numpy")


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


def library_versions() -> dict[str, str | None]:
    """The installed version of each of :data:`LIBRARIES` (None where not installed); nothing is imported."""
    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def runtime(*, device: str | None = None, precision: str | None = None) -> dict[str, Any]:
    """Device, precision and threads of this job: what the caller says it ran in, else what torch reports
    (torch's default dtype; CUDA when available) if the job imported torch, else CPU with no precision."""
    torch = sys.modules.get("torch")
    if torch is not None:
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        precision = precision or str(torch.get_default_dtype()).removeprefix("torch.")
        threads = torch.get_num_threads()
    else:
        threads = int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
    return {"device": device or "cpu", "precision": precision, "threads": threads}


def config_digest(config: Mapping[str, Any]) -> str:
    """sha256 of the config slice as canonical JSON (sorted keys): equal slices, equal digests."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def package_file(distribution: str, path: str | Path) -> dict[str, Any]:
    """A packaged source: the installed distribution's name and version, the file and its sha256."""
    path = Path(path)
    return {
        "package": distribution,
        "version": importlib.metadata.version(distribution),
        "file": path.name,
        "sha256": file_sha256(path),
    }


def packaged_sources(spec: str) -> list[dict[str, Any]]:
    """The package files that a ``packaged:NAME`` spec (a base model, corpus or evaluation set) reads, as
    :func:`package_file` records; [] for any other spec (downloads record their URLs themselves)."""
    kind, _, name = spec.partition(":")
    if kind != "packaged":
        return []
    from vocabswap.base_model import packaged_model_file, packaged_model_names

    if name in packaged_model_names():
        return [package_file(*packaged_model_file(name))]
    from vocabswap.data.packaged import packaged_files

    return [package_file(dist, path) for dist, path in packaged_files(name)]


def collect(
    *,
    rule: str,
    wildcards: Mapping[str, Any],
    config: Mapping[str, Any],
    inputs: Iterable[str | Path],
    workdir: str | Path | None = None,
    sources: Iterable[Mapping[str, Any]] = (),
    device: str | None = None,
    precision: str | None = None,
) -> dict[str, Any]:
    """The provenance record of one job (inputs are checksummed now). ``sources``: what the job read from
    outside the workflow (:func:`package_file`, or a download's URL and sha256); ``device`` and
    ``precision``: what the job ran in, when it knows better than :func:`runtime`'s defaults."""
    config = redact_urls(json.loads(json.dumps(dict(config), default=str)))
    return {
        "rule": rule,
        "wildcards": dict(wildcards),
        "config": config,
        "config_sha256": config_digest(config),
        "inputs": {str(p): checksum(p) for p in inputs},
        "sources": redact_urls([dict(s) for s in sources]),
        "vocabswap_version": __version__,
        "git_commit": git_commit(workdir),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "host": platform.node(),
        "python": platform.python_version(),
        "libraries": library_versions(),
        **runtime(device=device, precision=precision),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def table_cells(paths: Sequence[str | Path], results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Which result JSONs feed each cell of a table: the row's labels as the table prints them (LAPT, REINIT,
    VOCAB), the column (language), and per seed the result's path and score. The digests are the table
    record's ``inputs``."""
    from vocabswap.tables import _row_key  # the table's own row labelling: one home

    methods = sorted({str(r["cell"].get("method", "")) for r in results})
    cells: dict[tuple[Any, str], dict[str, Any]] = {}
    for path, result in zip(paths, results, strict=True):
        cell = result["cell"]
        row = _row_key(cell, methods)
        entry = cells.setdefault(
            (row, cell["lang"]),
            {"row": {"lapt": row.lapt, "reinit": row.reinit, "vocab": row.vocab}, "column": cell["lang"],
             "task": cell["task"], "results": []},
        )  # fmt: skip
        entry["results"].append({"path": str(path), "seed": int(cell["seed"]), "score": result["score"]})
    for entry in cells.values():
        entry["results"].sort(key=lambda r: r["seed"])
    return list(cells.values())


def stamp_dir(directory: str | Path, record: Mapping[str, Any]) -> Path:
    """Write ``record`` (plus the directory's own digest) as DIRECTORY/provenance.json."""
    directory = Path(directory)
    path = directory / PROVENANCE_FILE
    write_json(path, {**record, "output_sha256": dir_sha256(directory)})
    return path


def sidecar_path(path: str | Path) -> Path:
    """Where a file output's provenance lives: ``FILE.provenance.json`` beside it."""
    return provenance_path(path)


def stamp_files(paths: Iterable[str | Path], record: Mapping[str, Any]) -> list[Path]:
    """Write ``record`` (plus each file's own digest) as each file's sidecar, atomically."""
    written = []
    for path in paths:
        side = sidecar_path(path)
        write_json(side, {**record, "output_sha256": file_sha256(path)})
        written.append(side)
    return written


def read(path: str | Path) -> dict[str, Any] | None:
    """The provenance of an output (directory, result JSON or file with a sidecar), if it has one."""
    path = Path(path)
    if path.is_dir():
        record = path / PROVENANCE_FILE
        return json.loads(record.read_text(encoding="utf-8")) if record.is_file() else None
    side = sidecar_path(path)
    if side.is_file():
        return json.loads(side.read_text(encoding="utf-8"))
    if path.suffix == ".json" and path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        return data.get("provenance") if isinstance(data, dict) else None
    return None
