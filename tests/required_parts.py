"""Real parts the tests need (Chromium, Mosquitto, fonts): skip locally, fail in CI when missing."""

from __future__ import annotations

import os
import shutil

import pytest


def require_part(name: str, found: bool, how: str) -> None:
    """Fail when CI=true and the part is missing (CI must install it); skip otherwise."""
    if found:
        return
    message = f"{name} is missing: {how}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def chromium_path() -> str:
    """Path of the Chromium binary, or fail/skip as `require_part` says."""
    path = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    require_part("Chromium", bool(path), "scripts/install.sh installs the Debian package chromium")
    return path
