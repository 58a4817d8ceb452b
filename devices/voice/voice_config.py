"""Voice announcement settings (the hall config's `[voice]` table), validated by pydantic."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from controller.domain.strict import StrictModel


class VoiceConfig(StrictModel):
    """How calls are announced: which clips, how often, how loud, on which audio driver."""

    enabled: bool = True
    clips_dir: Path = Field(
        default=Path("voice"),
        description="the default clip set (relative: in the data directory, --data); made at "
        "start-up when missing, or by `python -m devices.voice.voice_clips generate`",
    )
    custom_clips_dir: Path | None = Field(
        default=None,
        description="the hall's own recordings, each overriding its namesake (relative: in the "
        "data directory)",
    )
    repeat: int = Field(default=2, ge=1, le=5, description="times each call sentence is said")
    gap_seconds: float = Field(default=1.0, ge=0, le=10, description="silence between repeats")
    clip_gap_seconds: float = Field(
        default=0.03, ge=0, le=1, description="silence between clips inside a sentence"
    )
    emergency_repeat: int = Field(default=3, ge=1, le=10)
    volume: float = Field(default=1.0, ge=0, le=1)
    audio_driver: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9_]{1,32}$",
        description="SDL_AUDIODRIVER for pygame.mixer (alsa, pulseaudio, dummy); None: SDL picks",
    )
    retry_seconds: float = Field(
        default=10.0, gt=0, le=600, description="how often to retry a missing audio device"
    )

    def directories(self, base: Path) -> list[Path]:
        """The clip directories in override order, relative paths taken from `base`."""
        dirs = [self.clips_dir] + ([self.custom_clips_dir] if self.custom_clips_dir else [])
        return [d if d.is_absolute() else base / d for d in dirs]
