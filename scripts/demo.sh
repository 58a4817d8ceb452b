#!/usr/bin/env bash
# Install everything, then start the whole hall on simulated devices with simulated citizens
# and staff. Extra arguments go to `hallctl up` (e.g. --port 8080 --speed 30).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/hallctl up --simulate --demo "$@"
