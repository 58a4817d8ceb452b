"""Voice scripts: which clips, in which order, announce a call, a recall or an emergency (pure).

The clip vocabulary is fixed (`CLIP_NAMES`, `SPOKEN`); docs/voice.md lists it for halls that
record their own clips. A call "A012" at window 12 reads:

    chime, 请, A, 零, 一, 二, 号, 到, 十, 二, 号窗口办理   ("请A012号到12号窗口办理")

The ticket's digits are read one by one (as the number is printed: 零一二, not 十二), the
window as a number (12 → 十二, 105 → 一百零五), because that is how a hall calls them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from controller.domain.errors import HallError

CHIME = "chime.wav"
ALARM = "alarm.wav"
QING = "qing.wav"
HAO = "hao.wav"
DAO = "dao.wav"
SHI = "shi.wav"
BAI = "bai.wav"
HAO_CHUANGKOU_BANLI = "hao_chuangkou_banli.wav"
ZAICI_HUJIAO = "zaici_hujiao.wav"
EMERGENCY = "emergency.wav"

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGIT_WORDS = "零一二三四五六七八九"

# What each spoken clip says: the text espeak-ng speaks, and what a hall records.
SPOKEN: dict[str, str] = {
    QING: "请",
    HAO: "号",
    DAO: "到",
    SHI: "十",
    BAI: "百",
    HAO_CHUANGKOU_BANLI: "号窗口办理",
    ZAICI_HUJIAO: "再次呼叫",
    EMERGENCY: "请注意，现在播报紧急通知。请留意大厅屏幕，听从工作人员指挥。",
    **{f"digit_{d}.wav": word for d, word in enumerate(_DIGIT_WORDS)},
    **{f"letter_{letter}.wav": letter for letter in LETTERS},
}
# Clips that are tones, not speech: generated as sine tones, never spoken.
TONES: dict[str, str] = {
    CHIME: "two-tone chime (叮咚) before every call",
    ALARM: "rising three-tone alarm before an emergency notice",
}
CLIP_NAMES: tuple[str, ...] = (*TONES, *SPOKEN)

ScriptKind = Literal["call", "recall", "emergency"]
_TICKET_NUMBER = re.compile(r"^([A-Z]{0,3})([0-9]{1,6})$")
MAX_WINDOW = 999


class UnspeakableNumber(HallError):
    """A ticket or window number the clip vocabulary cannot read; `value` is the number."""

    def __init__(self, value: str, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"cannot announce {value!r}: {reason}")


@dataclass(frozen=True)
class VoiceScript:
    """One announcement: `lead` plays once, then `sentence` is repeated; `text` is its Chinese."""

    kind: ScriptKind
    lead: tuple[str, ...]
    sentence: tuple[str, ...]
    text: str

    def clips(self, repeat: int = 1) -> tuple[str, ...]:
        """The whole clip sequence with the sentence `repeat` times (pauses are not clips)."""
        return self.lead + self.sentence * repeat

    @property
    def preempts(self) -> bool:
        """An emergency stops whatever call is playing and goes first."""
        return self.kind == "emergency"


def call_script(number: str, window: int, *, recall: bool = False) -> VoiceScript:
    """请{number}号到{window}号窗口办理; a recall leads with 再次呼叫. UnspeakableNumber if bad."""
    ticket = ticket_number_clips(number)
    sentence = (QING, *ticket, HAO, DAO, *window_number_clips(window), HAO_CHUANGKOU_BANLI)
    text = f"请{number.upper()}号到{window}号窗口办理"
    if recall:
        return VoiceScript("recall", (CHIME,), (ZAICI_HUJIAO, *sentence), f"再次呼叫，{text}")
    return VoiceScript("call", (CHIME,), sentence, text)


def emergency_script(notice_text: str) -> VoiceScript:
    """The alarm, then the fixed emergency clip; the notice's own text is on the screens."""
    return VoiceScript("emergency", (ALARM,), (EMERGENCY,), f"紧急通知：{notice_text}")


def ticket_number_clips(number: str) -> tuple[str, ...]:
    """Prefix letters then every digit one by one: "A012" → A, 零, 一, 二."""
    match = _TICKET_NUMBER.match(number.strip().upper())
    if match is None:
        raise UnspeakableNumber(number, "expected up to 3 letters A-Z and 1-6 digits, e.g. A012")
    letters, digits = match.groups()
    return (*(f"letter_{c}.wav" for c in letters), *(_digit(int(c)) for c in digits))


def window_number_clips(window: int) -> tuple[str, ...]:
    """A window number read as a Chinese number, 1-999: 1 一, 10 十, 12 十二, 20 二十, 105 一百零五."""
    if not 1 <= window <= MAX_WINDOW:
        raise UnspeakableNumber(str(window), f"window numbers are 1-{MAX_WINDOW}")
    hundreds, rest = divmod(window, 100)
    if hundreds == 0:
        return _below_hundred(rest, leading=True)
    if rest == 0:
        return (_digit(hundreds), BAI)
    if rest < 10:
        return (_digit(hundreds), BAI, _digit(0), _digit(rest))
    # After 百 the tens keep their 一: 110 is 一百一十, not 一百十.
    return (_digit(hundreds), BAI, *_below_hundred(rest, leading=False))


def spoken_text(clips: tuple[str, ...]) -> str:
    """The Chinese the clips say, tones left out: for logs, tests and the docs."""
    return "".join(SPOKEN.get(clip, "") for clip in clips)


def _below_hundred(value: int, *, leading: bool) -> tuple[str, ...]:
    tens, units = divmod(value, 10)
    if tens == 0:
        return (_digit(units),)
    head = (SHI,) if tens == 1 and leading else (_digit(tens), SHI)
    return head if units == 0 else (*head, _digit(units))


def _digit(value: int) -> str:
    return f"digit_{value}.wav"
