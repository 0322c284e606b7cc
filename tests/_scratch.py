"""Scratch directories for module-scoped fixtures that write hundreds of MB (workflow runs, decoder models).

pytest keeps a module fixture's ``mktemp`` directory until the session ends, so a whole suite's outputs
would pile up on the disk at once (a decoder workflow run alone holds several GB of checkpoints). These are
removed as soon as the module's tests are done, unless one of them failed: a failure's outputs stay for a
look, as pytest keeps a failed test's ``tmp_path`` (``tmp_path_retention_policy = "failed"``)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def module_scratch(
    request: pytest.FixtureRequest, factory: pytest.TempPathFactory, name: str
) -> Iterator[Path]:
    """A fresh directory, removed on leaving the block (after the module's tests, for a fixture that yields
    inside it) unless a test failed meanwhile."""
    path = factory.mktemp(name)
    failed_before = request.session.testsfailed
    yield path
    if request.session.testsfailed == failed_before:
        shutil.rmtree(path, ignore_errors=True)
