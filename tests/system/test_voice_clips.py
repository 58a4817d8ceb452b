"""Clip generation with the real espeak-ng, loading and checking clip sets, composing buffers."""

from __future__ import annotations

import itertools
import subprocess
import wave
from array import array
from pathlib import Path

import pytest

from devices.voice.audio_sink import SAMPLE_RATE
from devices.voice.voice_clip_synth import (
    SPEECH_PEAK,
    TONE_PEAK,
    ClipGenerationError,
    convert_recording,
    espeak_voice,
    read_any_wav,
)
from devices.voice.voice_clips import ClipSet, VoiceClipError, compose, main, read_clip
from display.voice_script import CLIP_NAMES, LETTERS, SPOKEN, TONES, call_script
from tests.voice_helpers import copy_clips, generated_clip_dir, write_tone


@pytest.fixture(scope="module")
def clips_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_clip_dir(tmp_path_factory)


def test_generation_writes_every_clip_in_the_documented_format(clips_dir: Path) -> None:
    assert sorted(p.name for p in clips_dir.glob("*.wav")) == sorted(CLIP_NAMES)
    for name in CLIP_NAMES:
        with wave.open(str(clips_dir / name), "rb") as wav:
            assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22050)
            assert wav.getcomptype() == "NONE"
            seconds = wav.getnframes() / 22050
        samples, _ = read_any_wav(clips_dir / name)
        peak = max(abs(s) for s in samples) / 32767
        expected_peak = TONE_PEAK if name in TONES else SPEECH_PEAK
        assert peak == pytest.approx(expected_peak, abs=0.02), name
        assert 0.1 < seconds < 12, (name, seconds)
    loaded = ClipSet.load(clips_dir)
    assert set(loaded.pcm) == set(CLIP_NAMES)
    # Trimmed: a single letter is short, the emergency sentence long, silence not padded.
    assert loaded.seconds("letter_A.wav") < 0.6
    assert loaded.seconds("emergency.wav") > 4
    assert _leading_silence(loaded.pcm["qing.wav"]) < 0.05


def test_espeak_reads_the_hanzi_in_mandarin_not_as_english_pinyin() -> None:
    # espeak-ng 1.51's plain `cmn` says 号 as "hao four" in English phonemes, marked (en).
    voice = espeak_voice()
    for name, text in SPOKEN.items():
        if name.startswith("letter_"):
            continue
        phonemes = subprocess.run(
            ["espeak-ng", "-v", voice, "-x", "-q", "--stdin"],
            input=text.encode("utf-8"),
            capture_output=True,
            check=True,
        ).stdout.decode()
        assert "(en)" not in phonemes, (name, phonemes)


def test_broken_custom_clips_are_named_one_by_one(clips_dir: Path, tmp_path: Path) -> None:
    custom = tmp_path / "hall"
    custom.mkdir()
    write_tone(custom / "qing.wav", rate=44100, channels=2)
    write_tone(custom / "dao.wav", width=1)
    (custom / "hao.wav").write_text("not audio", encoding="utf-8")
    write_tone(custom / "shi.wav", seconds=20)
    write_tone(custom / "letter_a.wav")  # lower-case: a typo that would go unheard
    with pytest.raises(VoiceClipError) as caught:
        ClipSet.load(clips_dir, custom)
    by_file = {Path(p.file).name: p.detail for p in caught.value.problems}
    assert set(by_file) == {"qing.wav", "dao.wav", "hao.wav", "shi.wav", "letter_a.wav"}
    assert "44100 Hz, 2 channel(s), 16-bit; expected 22050 Hz" in by_file["qing.wav"]
    assert "convert" in by_file["qing.wav"]
    assert "8-bit" in by_file["dao.wav"]
    assert "not a PCM WAV file" in by_file["hao.wav"]
    assert "20.00 s long" in by_file["shi.wav"]
    assert "not a clip name" in by_file["letter_a.wav"]
    assert str(custom / "qing.wav") in str(caught.value)


def test_missing_and_truncated_clips(clips_dir: Path, tmp_path: Path) -> None:
    broken = copy_clips(clips_dir, tmp_path / "clips")
    (broken / "digit_7.wav").unlink()
    data = (broken / "chime.wav").read_bytes()
    (broken / "chime.wav").write_bytes(data[: len(data) // 2])
    with pytest.raises(VoiceClipError) as caught:
        ClipSet.load(broken)
    details = {Path(p.file).name: p.detail for p in caught.value.problems}
    assert details["digit_7.wav"].startswith(f"missing (looked in {broken})")
    assert details["chime.wav"].startswith("truncated")
    with pytest.raises(VoiceClipError, match="does not exist"):
        ClipSet.load(tmp_path / "nowhere")


def test_a_halls_recording_overrides_its_namesake(clips_dir: Path, tmp_path: Path) -> None:
    custom = tmp_path / "hall"
    custom.mkdir()
    recorded = write_tone(tmp_path / "recorded.wav", rate=48000, channels=2, width=3, seconds=1)
    seconds = convert_recording(recorded, custom / "qing.wav")
    assert seconds == pytest.approx(1.0, abs=0.05)
    loaded = ClipSet.load(clips_dir, custom)
    assert loaded.sources["qing.wav"] == custom / "qing.wav"
    assert loaded.sources["dao.wav"] == clips_dir / "dao.wav"
    # The 440 Hz tone survives 48 kHz → 22050 Hz: count its zero crossings.
    samples = array("h", loaded.pcm["qing.wav"])
    crossings = sum(1 for a, b in itertools.pairwise(samples) if a < 0 <= b)
    assert crossings / (len(samples) / SAMPLE_RATE) == pytest.approx(440, rel=0.02)


def test_compose_joins_lead_sentence_repeats_and_gaps(clips_dir: Path) -> None:
    clips = ClipSet.load(clips_dir)
    script = call_script("A012", 12)
    audio = compose(script, clips, repeat=2, gap_seconds=1.0, clip_gap_seconds=0.03)
    sentence = sum(len(clips.pcm[c]) for c in script.sentence) + 2 * round(0.03 * SAMPLE_RATE) * (
        len(script.sentence) - 1
    )
    expected = len(clips.pcm["chime.wav"]) + 2 * sentence + 2 * SAMPLE_RATE
    assert len(audio.pcm) == expected
    assert audio.duration_seconds == pytest.approx(expected / 2 / SAMPLE_RATE)
    assert audio.clips == script.clips(2)
    assert audio.text == "请A012号到12号窗口办理"
    assert 5 < audio.duration_seconds < 20


def test_command_line_generate_check_convert(
    clips_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", str(tmp_path / "gen")]) == 0
    assert "wrote 46 clips" in capsys.readouterr().out
    assert main(["check", str(clips_dir)]) == 0
    assert "46 clips OK" in capsys.readouterr().out
    write_tone(tmp_path / "rec.wav", rate=44100, channels=2)
    assert main(["convert", str(tmp_path / "rec.wav"), str(tmp_path / "gen" / "bai.wav")]) == 0
    assert read_clip(tmp_path / "gen" / "bai.wav")
    (tmp_path / "gen" / "hao.wav").write_bytes(b"RIFF....")
    assert main(["check", str(tmp_path / "gen")]) == 1
    assert f"{tmp_path / 'gen' / 'hao.wav'}: not a PCM WAV file" in capsys.readouterr().err


def test_generation_without_espeak_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ClipGenerationError, match="espeak-ng is not installed"):
        espeak_voice(str(tmp_path / "no-espeak-ng"))


def test_every_letter_clip_differs(clips_dir: Path) -> None:
    clips = ClipSet.load(clips_dir)
    letters = [clips.pcm[f"letter_{c}.wav"] for c in LETTERS]
    assert len(set(letters)) == len(LETTERS)


def _leading_silence(pcm: bytes) -> float:
    samples = array("h", pcm)
    first = next(i for i, s in enumerate(samples) if abs(s) > 0.01 * 32767)
    return first / SAMPLE_RATE
