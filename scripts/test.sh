#!/usr/bin/env bash
# Install everything, then run the full check: ruff, mypy (strict), the layer contracts and the tests.
# HALL_CRASH_ROUNDS sets how many SIGKILLs the crash test deals (default 50); HALL_TEST_WORKERS
# how many pytest-xdist workers run the tests (default 2; one file stays on one worker).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy --strict"
.venv/bin/mypy controller devices display firmware_protocols tests
echo "==> import-linter (the layers of docs/architecture.md)"
.venv/bin/lint-imports --no-cache
echo "==> pytest"
exec .venv/bin/pytest -n "${HALL_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
