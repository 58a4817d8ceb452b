"""Making clips: espeak-ng Mandarin speech, synthetic tones, and conversion to the clip format.

Every clip written here is 16-bit PCM, mono, 22050 Hz (devices.voice.audio_sink.SAMPLE_RATE), with
leading/trailing silence trimmed and peaks normalised, so clips from different sources
concatenate at an even loudness. Stdlib only (wave, array, subprocess); no sox needed.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import tempfile
import wave
from array import array
from pathlib import Path

from controller.domain.errors import HallError
from devices.voice.audio_sink import CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH
from display.voice_script import ALARM, CHIME, SPOKEN

# espeak-ng 1.51 (Debian 12) `-v cmn` reads its own dictionary's pinyin with English rules
# (好 → "hao two", espeak-ng issue #1236); `cmn-latn-pinyin` reads the same hanzi correctly.
VOICES = ("cmn-latn-pinyin", "cmn")
DEFAULT_WORDS_PER_MINUTE = 150  # espeak's 175 is hurried for a hall's loudspeakers
SPEECH_PEAK = 0.7  # about -3 dBFS
TONE_PEAK = 0.5  # about -6 dBFS: the chime should not startle
SILENCE = 0.01  # of full scale: below this, leading/trailing samples are trimmed
EDGE_SECONDS = 0.02  # silence kept at each end after trimming, so clips don't click
ESPEAK_TIMEOUT_SECONDS = 20.0
_FULL_SCALE = 32767


class ClipGenerationError(HallError):
    """A clip could not be made (espeak-ng missing or failing, unreadable recording)."""

    def __init__(self, file: str, detail: str) -> None:
        self.file = file
        self.detail = detail
        super().__init__(f"{file}: {detail}")


def generate_clip_set(
    directory: Path, *, words_per_minute: int = DEFAULT_WORDS_PER_MINUTE, espeak: str = "espeak-ng"
) -> list[Path]:
    """Write every clip of the vocabulary into `directory`; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    voice = espeak_voice(espeak)
    written = [
        write_wav(directory / CHIME, chime_samples()),
        write_wav(directory / ALARM, alarm_samples()),
    ]
    for name, text in SPOKEN.items():
        samples = speak(text, voice=voice, words_per_minute=words_per_minute, espeak=espeak)
        written.append(write_wav(directory / name, samples))
    return written


def espeak_voice(espeak: str = "espeak-ng") -> str:
    """The best installed Mandarin voice; ClipGenerationError if espeak-ng or Mandarin is missing."""
    if shutil.which(espeak) is None:
        raise ClipGenerationError(espeak, "espeak-ng is not installed (apt-get install espeak-ng)")
    listed = _run([espeak, "--voices=cmn"], espeak).decode("utf-8", "replace").split()
    for voice in VOICES:
        if voice in listed or voice.lower() in (word.lower() for word in listed):
            return voice
    raise ClipGenerationError(espeak, "espeak-ng has no Mandarin (cmn) voice installed")


def speak(
    text: str,
    *,
    voice: str,
    words_per_minute: int = DEFAULT_WORDS_PER_MINUTE,
    espeak: str = "espeak-ng",
) -> array[int]:
    """espeak-ng's reading of `text` in the clip format: trimmed and peak-normalised samples."""
    with tempfile.TemporaryDirectory(prefix="hall-voice-") as tmp:
        out = Path(tmp) / "speech.wav"
        # Text on stdin as UTF-8: argv would depend on the locale of whoever runs setup.
        _run(
            [espeak, "-v", voice, "-s", str(words_per_minute), "-w", str(out), "--stdin"],
            espeak,
            stdin=text.encode("utf-8"),
        )
        samples, rate = read_any_wav(out)
    samples = resample(samples, rate, SAMPLE_RATE)
    return normalise_peak(trim_silence(samples), SPEECH_PEAK)


def chime_samples() -> array[int]:
    """A two-tone 叮咚 (E5 then C5, bell-like decay) followed by a short silence."""
    return normalise_peak(_tones([(659.25, 0.45), (523.25, 0.8)], gap=0.0, tail=0.25), TONE_PEAK)


def alarm_samples() -> array[int]:
    """A rising C5-E5-G5 figure played twice: unmistakably not a call."""
    notes = [(523.25, 0.18), (659.25, 0.18), (783.99, 0.3)]
    return normalise_peak(_tones(notes * 2, gap=0.05, tail=0.3), TONE_PEAK)


def convert_recording(source: Path, target: Path) -> float:
    """Convert a hall's own recording (any PCM WAV) to the clip format; returns its seconds."""
    samples, rate = read_any_wav(source)
    samples = normalise_peak(trim_silence(resample(samples, rate, SAMPLE_RATE)), SPEECH_PEAK)
    write_wav(target, samples)
    return len(samples) / SAMPLE_RATE


def read_any_wav(path: Path) -> tuple[array[int], int]:
    """Mono 16-bit samples and the rate of a PCM WAV of 8/16/24/32 bits and any channel count."""
    try:
        with wave.open(str(path), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as err:
        raise ClipGenerationError(str(path), f"not a readable PCM WAV file: {err}") from err
    if width not in (1, 2, 3, 4):
        raise ClipGenerationError(str(path), f"unsupported sample width of {width} bytes")
    wide = _to_int16(frames, width)
    if channels > 1:
        wide = array(
            "h", (sum(wide[i : i + channels]) // channels for i in range(0, len(wide), channels))
        )
    return wide, rate


def resample(samples: array[int], from_rate: int, to_rate: int) -> array[int]:
    """Linear-interpolation resampling, with a box low-pass first when lowering the rate."""
    if from_rate == to_rate or not samples:
        return samples
    if from_rate > to_rate:
        samples = _box_filter(samples, round(from_rate / to_rate))
    count = max(1, int(len(samples) * to_rate / from_rate))
    step = from_rate / to_rate
    last = len(samples) - 1
    out = array("h", bytes(2 * count))
    for i in range(count):
        pos = i * step
        j = int(pos)
        frac = pos - j
        nxt = samples[j + 1] if j < last else samples[last]
        out[i] = int(samples[min(j, last)] * (1 - frac) + nxt * frac)
    return out


def trim_silence(samples: array[int]) -> array[int]:
    """Drop near-silent samples at both ends, keeping EDGE_SECONDS of them."""
    limit = SILENCE * _FULL_SCALE
    first = next((i for i, s in enumerate(samples) if abs(s) > limit), None)
    if first is None:
        return array("h")
    last = next(i for i in range(len(samples) - 1, -1, -1) if abs(samples[i]) > limit)
    edge = int(EDGE_SECONDS * SAMPLE_RATE)
    return samples[max(0, first - edge) : min(len(samples), last + 1 + edge)]


def normalise_peak(samples: array[int], peak: float) -> array[int]:
    """Scale so the loudest sample sits at `peak` of full scale (silence stays silence)."""
    loudest = max((abs(s) for s in samples), default=0)
    if loudest == 0:
        return samples
    gain = peak * _FULL_SCALE / loudest
    return array("h", (max(-_FULL_SCALE, min(_FULL_SCALE, round(s * gain))) for s in samples))


def write_wav(path: Path, samples: array[int]) -> Path:
    """Write samples as a clip-format WAV (16-bit little-endian PCM, mono, 22050 Hz)."""
    data = samples if sys.byteorder == "little" else _swapped(samples)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(CHANNELS)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(data.tobytes())
    return path


def _tones(notes: list[tuple[float, float]], *, gap: float, tail: float) -> array[int]:
    out = array("h")
    attack = int(0.005 * SAMPLE_RATE)  # 5 ms ramp-in: no click at the start of a note
    for frequency, seconds in notes:
        count = int(seconds * SAMPLE_RATE)
        for n in range(count):
            t = n / SAMPLE_RATE
            envelope = min(1.0, n / attack) * math.exp(-4.0 * t / seconds)
            wave_value = math.sin(2 * math.pi * frequency * t)
            wave_value += 0.3 * math.sin(4 * math.pi * frequency * t)  # 2nd partial: a bell
            out.append(int(_FULL_SCALE * envelope * wave_value / 1.3))
        out.extend([0] * int(gap * SAMPLE_RATE))
    out.extend([0] * int(tail * SAMPLE_RATE))
    return out


def _to_int16(frames: bytes, width: int) -> array[int]:
    if width == 1:  # 8-bit WAV is unsigned
        return array("h", ((b - 128) << 8 for b in frames))
    if width == 2:
        out = array("h")
        out.frombytes(frames[: len(frames) // 2 * 2])
        return out if sys.byteorder == "little" else _swapped(out)
    return array(
        "h",
        (
            int.from_bytes(frames[i : i + width], "little", signed=True) >> (8 * (width - 2))
            for i in range(0, len(frames) - width + 1, width)
        ),
    )


def _box_filter(samples: array[int], width: int) -> array[int]:
    if width < 2:
        return samples
    out = array("h", bytes(2 * len(samples)))
    running = 0
    for i, s in enumerate(samples):
        running += s
        if i >= width:
            running -= samples[i - width]
        out[i] = running // min(i + 1, width)
    return out


def _swapped(samples: array[int]) -> array[int]:
    copy = array("h", samples)
    copy.byteswap()
    return copy


def _run(args: list[str], file: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            args, input=stdin, capture_output=True, timeout=ESPEAK_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ClipGenerationError(file, f"{args[0]} failed: {err}") from err
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise ClipGenerationError(file, f"{' '.join(args[:3])}: {detail}")
    return done.stdout
