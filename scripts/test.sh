#!/usr/bin/env bash
# Install everything, then run the full check: ruff, mypy (strict) and the test suite.
# HALL_CRASH_ROUNDS sets how many SIGKILLs the crash test deals (default 50).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy --strict"
.venv/bin/mypy controller devices display firmware_protocols tests
echo "==> pytest"
exec .venv/bin/pytest "$@"
