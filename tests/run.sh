#!/usr/bin/env bash
# The README's test command: install vocabswap with its pinned test dependencies into .venv/, then run
# ruff and the whole pytest suite. Extra arguments go to pytest (e.g. `bash tests/run.sh -k tokenizer`).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[workflow,test]'
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
