"""Helpers for voice tests: the real espeak-ng clip set (generated once), WAV writers."""

from __future__ import annotations

import math
import shutil
import wave
from pathlib import Path

import pytest

from controller.settings.config_loader import parse_config
from controller.settings.hall_config import HallConfig
from devices.voice.voice_clip_synth import generate_clip_set
from display.voice_script import CLIP_NAMES
from tests.required_parts import require_part


def require_espeak() -> None:
    """Fail in CI, skip locally, when espeak-ng is not installed."""
    require_part(
        "espeak-ng",
        shutil.which("espeak-ng") is not None,
        "scripts/install.sh installs the Debian package espeak-ng",
    )


_GENERATED: dict[str, Path] = {}


def generated_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default clip set, generated with the real espeak-ng once per test session."""
    require_espeak()
    if "dir" not in _GENERATED:
        directory = tmp_path_factory.mktemp("voice") / "clips"
        generate_clip_set(directory)
        _GENERATED["dir"] = directory
    return _GENERATED["dir"]


def copy_clips(source: Path, target: Path) -> Path:
    """A private copy of a clip directory that a test may break."""
    shutil.copytree(source, target)
    return target


def write_tone(
    path: Path,
    *,
    rate: int = 22050,
    channels: int = 1,
    width: int = 2,
    seconds: float = 0.5,
    frequency: float = 440.0,
) -> Path:
    """A sine tone as a PCM WAV of any shape (to play a hall's own recording)."""
    peak = (1 << (8 * width - 1)) - 1
    frames = bytearray()
    for n in range(int(seconds * rate)):
        value = int(0.5 * peak * math.sin(2 * math.pi * frequency * n / rate))
        sample = (
            (value + 128).to_bytes(1, "little")
            if width == 1
            else value.to_bytes(width, "little", signed=True)
        )
        frames += sample * channels
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return path


def twenty_window_hall() -> HallConfig:
    """A hall with one service (prefix A) and 20 windows, open all day every day."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    parts = [
        '[hall]\nname = "语音测试大厅"\nregion_code = "330199"\n'
        'department_code = "VOICE"\ntimezone = "Asia/Shanghai"\n',
        "[calendar]\nticketing_cutoff_minutes = 0\nticketing_during_lunch = true\n",
        *(f'[calendar.hours.{d}]\nopen = "00:00"\nclose = "23:59"\n' for d in days),
        '[[services]]\ncode = "ZH"\nname = "综合受理"\nprefix = "A"\n',
    ]
    parts += [
        f'[[windows]]\nnumber = {n}\nname = "{n}号窗口"\nservices = ["ZH"]\n'
        f'staff = [{{ id = "W{n:02d}", name = "员工{n}", role = "A" }}]\n'
        for n in range(1, 21)
    ]
    return parse_config("\n".join(parts), file="<voice-test>")


def tiny_clip_dir(directory: Path, seconds: float = 0.06) -> Path:
    """Every clip as a short tone (distinct pitch per clip): fast real-mixer playback tests."""
    directory.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(CLIP_NAMES):
        write_tone(directory / name, seconds=seconds, frequency=300.0 + 20 * i)
    return directory
