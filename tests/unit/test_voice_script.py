"""Voice scripts: the clip sequence for calls, recalls and emergencies (pure)."""

from __future__ import annotations

import pytest

from display.voice_script import (
    ALARM,
    CHIME,
    CLIP_NAMES,
    EMERGENCY,
    SPOKEN,
    TONES,
    UnspeakableNumber,
    call_script,
    emergency_script,
    spoken_text,
    ticket_number_clips,
    window_number_clips,
)


def test_call_reads_letter_digits_one_by_one_and_window_as_a_number() -> None:
    script = call_script("A012", 12)
    assert script.kind == "call"
    assert script.lead == (CHIME,)
    assert script.sentence == (
        "qing.wav",
        "letter_A.wav",
        "digit_0.wav",
        "digit_1.wav",
        "digit_2.wav",
        "hao.wav",
        "dao.wav",
        "shi.wav",
        "digit_2.wav",
        "hao_chuangkou_banli.wav",
    )
    assert script.text == "请A012号到12号窗口办理"
    assert spoken_text(script.sentence) == "请A零一二号到十二号窗口办理"


def test_repeat_plays_the_chime_once_and_the_sentence_each_time() -> None:
    script = call_script("B001", 3)
    clips = script.clips(2)
    assert clips == (CHIME, *script.sentence, *script.sentence)
    assert clips.count(CHIME) == 1


def test_recall_leads_with_zaici_hujiao() -> None:
    script = call_script("A012", 3, recall=True)
    assert script.kind == "recall"
    assert script.sentence[0] == "zaici_hujiao.wav"
    assert script.sentence[1:] == call_script("A012", 3).sentence
    assert spoken_text(script.sentence) == "再次呼叫请A零一二号到三号窗口办理"
    assert not script.preempts


def test_emergency_is_alarm_then_fixed_clip_and_preempts() -> None:
    script = emergency_script("大厅临时停电，请有序离开")
    assert script.clips(3) == (ALARM, EMERGENCY, EMERGENCY, EMERGENCY)
    assert script.text == "紧急通知：大厅临时停电，请有序离开"
    assert script.preempts


@pytest.mark.parametrize(
    ("window", "spoken"),
    [
        (1, "一"),
        (9, "九"),
        (10, "十"),
        (12, "十二"),
        (19, "十九"),
        (20, "二十"),
        (21, "二十一"),
        (99, "九十九"),
        (100, "一百"),
        (101, "一百零一"),
        (105, "一百零五"),
        (110, "一百一十"),
        (115, "一百一十五"),
        (120, "一百二十"),
        (999, "九百九十九"),
    ],
)
def test_window_numbers_read_as_chinese_numbers(window: int, spoken: str) -> None:
    assert spoken_text(window_number_clips(window)) == spoken


@pytest.mark.parametrize(
    ("number", "spoken"),
    [("A001", "A零零一"), ("z999", "Z九九九"), ("AB12", "AB一二"), ("007", "零零七")],
)
def test_ticket_numbers_read_digit_by_digit(number: str, spoken: str) -> None:
    clips = ticket_number_clips(number)
    assert "".join(SPOKEN[c] for c in clips) == spoken


@pytest.mark.parametrize("number", ["", "A", "A-01", "ABCD1", "A1234567", "甲001", "A 01"])
def test_unspeakable_ticket_numbers_raise_a_typed_error(number: str) -> None:
    with pytest.raises(UnspeakableNumber) as caught:
        ticket_number_clips(number)
    assert caught.value.value == number


@pytest.mark.parametrize("window", [0, -1, 1000])
def test_window_numbers_outside_1_to_999_raise(window: int) -> None:
    with pytest.raises(UnspeakableNumber):
        call_script("A001", window)


def test_every_script_uses_only_the_documented_vocabulary() -> None:
    used = set(emergency_script("x").clips(1))
    for window in range(1, 1000):
        used |= set(call_script("A0123", window, recall=window % 2 == 0).clips(1))
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        used |= set(ticket_number_clips(f"{letter}456789"))
    assert used == set(CLIP_NAMES)
    assert len(CLIP_NAMES) == len(set(CLIP_NAMES)) == len(TONES) + len(SPOKEN) == 46
