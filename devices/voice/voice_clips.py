"""The clip set: load and check a directory of clips, and join clips into one announcement buffer.

    python -m devices.voice.voice_clips generate DIR      # the default set, from espeak-ng
    python -m devices.voice.voice_clips check DIR [DIR…]  # later DIRs override clip by clip
    python -m devices.voice.voice_clips convert IN.wav OUT.wav   # a hall's recording → clip format

Format of every clip (docs/voice.md): WAV, 16-bit signed PCM, mono, 22050 Hz, at most
MAX_CLIP_SECONDS long, named as in display.voice_script.CLIP_NAMES.
"""

from __future__ import annotations

import argparse
import sys
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from controller.domain.errors import HallError
from devices.voice.audio_sink import CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH, AudioBuffer
from display.voice_script import CLIP_NAMES, VoiceScript

MAX_CLIP_SECONDS = 15.0  # the emergency clip is the longest (about 6 s from espeak-ng)
MIN_CLIP_SECONDS = 0.05
_CONVERT_HINT = "convert it: python -m devices.voice.voice_clips convert IN.wav OUT.wav"


@dataclass(frozen=True)
class ClipProblem:
    """One bad or missing clip: the file and what is wrong with it."""

    file: str
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.detail}"


class VoiceClipError(HallError):
    """The clip set is unusable; carries every problem found, each naming its file."""

    def __init__(self, problems: list[ClipProblem]) -> None:
        self.problems = problems
        super().__init__("voice clips:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class ClipSet:
    """Every clip of the vocabulary as clip-format PCM bytes, and the file each came from."""

    pcm: Mapping[str, bytes]
    sources: Mapping[str, Path]

    @classmethod
    def load(cls, *directories: Path) -> ClipSet:
        """Load the clips; a later directory overrides an earlier one clip by clip.

        VoiceClipError lists every missing clip, every clip in the wrong format and every
        .wav file whose name is not in the vocabulary (a typo would otherwise go unheard).
        """
        if not directories:
            raise VoiceClipError([ClipProblem("(none)", "no clip directory given")])
        pcm: dict[str, bytes] = {}
        sources: dict[str, Path] = {}
        problems: list[ClipProblem] = []
        for directory in directories:
            if not directory.is_dir():
                problems.append(ClipProblem(str(directory), "clip directory does not exist"))
                continue
            for path in sorted(directory.glob("*.wav")):
                if path.name not in CLIP_NAMES:
                    problems.append(ClipProblem(str(path), "not a clip name (see docs/voice.md)"))
                    continue
                try:
                    pcm[path.name] = read_clip(path)
                    sources[path.name] = path
                except VoiceClipError as err:
                    problems.extend(err.problems)
        looked = ", ".join(str(d) for d in directories)
        for name in CLIP_NAMES:
            if name not in pcm and not any(Path(p.file).name == name for p in problems):
                problems.append(ClipProblem(name, f"missing (looked in {looked})"))
        if problems:
            raise VoiceClipError(problems)
        return cls(pcm, sources)

    def seconds(self, name: str) -> float:
        """Playing time of one clip."""
        return len(self.pcm[name]) / (SAMPLE_WIDTH * SAMPLE_RATE)


def read_clip(path: Path) -> bytes:
    """The PCM frames of one clip-format WAV; VoiceClipError naming the file otherwise."""
    try:
        with wave.open(str(path), "rb") as wav:
            shape = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
            count = wav.getnframes()
            frames = wav.readframes(count)
    except (OSError, EOFError, wave.Error) as err:
        raise VoiceClipError([ClipProblem(str(path), f"not a PCM WAV file ({err})")]) from err
    if shape != (CHANNELS, SAMPLE_WIDTH, SAMPLE_RATE):
        channels, width, rate = shape
        raise VoiceClipError(
            [
                ClipProblem(
                    str(path),
                    f"{rate} Hz, {channels} channel(s), {8 * width}-bit; expected 22050 Hz, "
                    f"1 channel, 16-bit PCM; {_CONVERT_HINT}",
                )
            ]
        )
    if len(frames) != count * SAMPLE_WIDTH:
        raise VoiceClipError([ClipProblem(str(path), "truncated: fewer samples than its header")])
    seconds = count / SAMPLE_RATE
    if not MIN_CLIP_SECONDS <= seconds <= MAX_CLIP_SECONDS:
        raise VoiceClipError(
            [
                ClipProblem(
                    str(path),
                    f"{seconds:.2f} s long; a clip lasts {MIN_CLIP_SECONDS}-{MAX_CLIP_SECONDS} s",
                )
            ]
        )
    return frames


def compose(
    script: VoiceScript,
    clips: ClipSet,
    *,
    repeat: int = 1,
    gap_seconds: float = 1.0,
    clip_gap_seconds: float = 0.0,
) -> AudioBuffer:
    """One buffer: the lead clips, then the sentence `repeat` times with `gap_seconds` between.

    Inside a sentence, clips are joined with `clip_gap_seconds` of silence.
    """
    clip_gap = _silence(clip_gap_seconds)
    sentence = clip_gap.join(clips.pcm[name] for name in script.sentence)
    parts = [clips.pcm[name] for name in script.lead]
    for i in range(repeat):
        if i:
            parts.append(_silence(gap_seconds))
        parts.append(sentence)
    return AudioBuffer(script.kind, script.text, script.clips(repeat), b"".join(parts))


def main(argv: Sequence[str] | None = None) -> int:
    """The `python -m devices.voice.voice_clips` command; 0 when all went well."""
    from devices.voice import voice_clip_synth as synth

    parser = argparse.ArgumentParser(
        prog="python -m devices.voice.voice_clips", description=__doc__
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write the default clip set with espeak-ng")
    gen.add_argument("directory", type=Path)
    gen.add_argument("--speed", type=int, default=synth.DEFAULT_WORDS_PER_MINUTE, help="wpm")
    check = sub.add_parser("check", help="load a clip set and report every problem")
    check.add_argument("directories", type=Path, nargs="+")
    convert = sub.add_parser("convert", help="convert a recording to the clip format")
    convert.add_argument("source", type=Path)
    convert.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "generate":
            written = synth.generate_clip_set(args.directory, words_per_minute=args.speed)
            ClipSet.load(args.directory)
            print(f"wrote {len(written)} clips to {args.directory}")
        elif args.command == "check":
            loaded = ClipSet.load(*args.directories)
            total = sum(loaded.seconds(name) for name in CLIP_NAMES)
            print(f"{len(loaded.pcm)} clips OK ({total:.1f} s of audio)")
        else:
            seconds = synth.convert_recording(args.source, args.target)
            read_clip(args.target)
            print(f"wrote {args.target} ({seconds:.2f} s)")
    except HallError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


def _silence(seconds: float) -> bytes:
    return bytes(SAMPLE_WIDTH * CHANNELS * round(seconds * SAMPLE_RATE))


if __name__ == "__main__":
    raise SystemExit(main())
