#!/usr/bin/env bash
# Install everything hall-controller needs on a fresh Debian/Ubuntu machine: system packages
# (only those missing), a virtualenv in .venv, and the project with its dev tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the hall and its tests use. Later features add theirs here.
APT_PACKAGES=(python3-venv sqlite3 chromium fonts-wqy-zenhei fonts-dejavu-core mosquitto espeak-ng postgresql pgbouncer nginx-light)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "==> installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "hall-controller needs Python 3.11 or newer; found $("$PYTHON" --version 2>&1)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
echo "==> installing Python packages into .venv"
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -m pip install -q -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c 'import controller, fastapi, sqlmodel' || { echo "install failed" >&2; exit 1; }

# The default voice clips (chime, 请, digits, 号窗口办理 …) from espeak-ng's Mandarin voice;
# a hall's own recordings go in [voice] custom_clips_dir (docs/voice.md).
if ! .venv/bin/python -m devices.voice.voice_clips check var/voice >/dev/null 2>&1; then
  echo "==> generating the default voice clips in var/voice"
  .venv/bin/python -m devices.voice.voice_clips generate var/voice
fi
