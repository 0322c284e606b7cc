"""Atomic outputs: write under a temporary name beside the target, rename when complete.

An interrupted job therefore never leaves a file or directory that looks finished, and a failed one
leaves no temporary behind. Outputs get the permissions an ordinary write would (0666/0777 minus the
umask), not the private modes of ``mkstemp``/``mkdtemp``.

Output directories carry a marker file (:data:`MARKER`). A directory at the target is replaced only if it
is empty or carries the marker (an earlier vocabswap output); anything else is refused, so that a wrong
``--out`` never deletes a user's files. :func:`check_output_dir` runs the same test before any work.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from vocabswap.errors import VocabswapError

MARKER = ".vocabswap-output"


class OutputError(VocabswapError):
    """An output path that cannot be written without losing data, or cannot be written at all."""


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux), else set and restored."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _ordinary_mode(path: Path, base: int) -> None:
    os.chmod(path, base & ~current_umask())


def _ordinary_modes_below(root: Path) -> None:
    """Ordinary modes for everything a library wrote into a temporary output directory (the safetensors
    writer, for one, leaves its file 0600)."""
    for path in root.rglob("*"):
        if not path.is_symlink():
            _ordinary_mode(path, 0o777 if path.is_dir() else 0o666)


def check_distinct(outputs: dict[str, str | Path | None], inputs: list[str | Path]) -> None:
    """Fail before any work if an output is one of the inputs or another output (it would replace it)."""
    seen: dict[Path, str] = {Path(os.path.realpath(p)): "an input" for p in inputs}
    for flag, path in outputs.items():
        if path is None:
            continue
        real = Path(os.path.realpath(path))
        if real in seen:
            raise OutputError(f"{path}: {flag} is also {seen[real]}; writing it would replace that file")
        seen[real] = f"the {flag} output"


def _owner_tag() -> str:
    """``host-pid`` in a temporary's name: a later run on this host can tell a killed writer's litter."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans(target: Path) -> None:
    """Remove the temporaries beside ``target`` that a killed vocabswap process of this host left (their
    writer is gone); another host's or a live writer's are left alone."""
    owner = re.compile(rf"\.{re.escape(target.name)}\.(.+)-(\d+)\.[^.]*\.tmp")
    host = socket.gethostname()
    with contextlib.suppress(OSError):
        for path in target.parent.glob(f".{glob.escape(target.name)}.*.tmp*"):
            match = owner.match(path.name)
            if match and match.group(1) == host and not _alive(int(match.group(2))):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)


@contextlib.contextmanager
def scratch_dir(beside: str | Path) -> Iterator[Path]:
    """A temporary working directory beside ``beside`` (not in the system temp directory, which a killed
    run would fill): removed on exit, and by a later run if this process is killed."""
    beside = Path(os.path.abspath(beside))
    _make_parent(beside)
    reap_orphans(beside)
    tmp = Path(tempfile.mkdtemp(prefix=f".{beside.name}.{_owner_tag()}.", suffix=".tmp", dir=beside.parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _tmp_sibling(target: Path, suffix: str = "") -> Path:
    if target.is_dir():
        raise OutputError(f"{target}: is a directory; give a file path for this output")
    _make_parent(target)
    reap_orphans(target)
    fd, name = tempfile.mkstemp(
        prefix=f".{target.name}.{_owner_tag()}.", suffix=f".tmp{suffix}", dir=target.parent
    )
    os.close(fd)
    _ordinary_mode(Path(name), 0o666)
    return Path(name)


def _make_parent(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{target.parent}: cannot create the output's directory: {err.strerror}") from err


def _resolved(target: str | Path) -> Path:
    """The target as an absolute path whose last part is a real name (``.`` and ``x/..`` resolved)."""
    target = Path(os.path.abspath(target))
    if target == Path(target.anchor):
        raise OutputError(f"{target}: the file-system root cannot be an output")
    cwd = Path.cwd().resolve()
    real = target.resolve()
    if real == cwd or real in cwd.parents:
        raise OutputError(f"{target}: is the current directory or above it; give a new directory as output")
    return target


def check_output_file(target: str | Path) -> None:
    """Fail early (before any work) if ``target`` cannot become an output file."""
    target = Path(target)
    if target.is_dir():
        raise OutputError(f"{target}: is a directory; give a file path for this output")
    _make_parent(target)
    _probe_writable(target.parent)


def check_output_dir(target: str | Path, *, overwrite: bool) -> None:
    """Fail early (before any work) unless ``target`` may become an output directory: absent, an empty
    directory, or (with ``overwrite``) an earlier vocabswap output; and its parent is writable."""
    target = _resolved(target)
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        kind = "a symlink" if target.is_symlink() else "not a directory"
        raise OutputError(f"{target}: exists and is {kind}; remove it or choose another output")
    if target.is_dir():
        state = _dir_state(target)
        if state == "foreign":
            raise OutputError(
                f"{target}: is a non-empty directory that vocabswap did not write; refusing to replace it "
                "(choose another output or empty it)"
            )
        if state == "ours" and not overwrite:
            raise OutputError(f"{target}: holds an earlier vocabswap output; pass --overwrite to replace it")
    _make_parent(target)
    _probe_writable(target.parent)


def _dir_state(path: Path) -> str:
    """``empty``, ``ours`` (carries the marker) or ``foreign``."""
    try:
        names = [p.name for p in path.iterdir()]
    except OSError as err:
        raise OutputError(f"{path}: cannot list the existing output directory: {err.strerror}") from err
    if not names:
        return "empty"
    return "ours" if MARKER in names and (path / MARKER).is_file() else "foreign"


def _probe_writable(directory: Path) -> None:
    try:
        fd, name = tempfile.mkstemp(prefix=".vocabswap-probe.", dir=directory)
    except OSError as err:
        raise OutputError(f"{directory}: cannot write here: {err.strerror}") from err
    os.close(fd)
    os.unlink(name)


@contextlib.contextmanager
def atomic_dir(target: str | Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it replaces ``target``, on any error it is removed.

    ``target`` may be absent, an empty directory, or an earlier vocabswap output (only with
    ``overwrite``); a directory holding anything else, or a file, is never replaced."""
    target = _resolved(target)
    check_output_dir(target, overwrite=overwrite)
    reap_orphans(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{_owner_tag()}.", suffix=".tmp", dir=target.parent))
    try:
        _ordinary_mode(tmp, 0o777)
        yield tmp
        (tmp / MARKER).write_text("written by vocabswap; this directory may be replaced by it\n")
        _ordinary_modes_below(tmp)
        _install_dir(tmp, target, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _install_dir(tmp: Path, target: Path, *, overwrite: bool) -> None:
    check_output_dir(target, overwrite=overwrite)  # the target may have changed during the work
    if target.is_dir() and _dir_state(target) == "empty":
        target.rmdir()
    if not target.exists():
        tmp.rename(target)
        return
    old = tmp.with_name(tmp.name + ".old")
    target.rename(old)
    try:
        tmp.rename(target)
    except BaseException:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary file path beside ``target``; renamed onto it only if the block succeeds."""
    target = Path(target)
    tmp = _tmp_sibling(target, target.suffix)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(target: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[TextIO]:
    """Open a temporary file for writing; it becomes ``target`` only when the block succeeds."""
    if "b" in mode:
        encoding = None
    with atomic_path(target) as tmp, open(tmp, mode, encoding=encoding) as handle:
        yield handle


def write_json(target: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_open(target) as handle:
        json.dump(obj, handle, indent=2, ensure_ascii=False, sort_keys=False)
        handle.write("\n")
