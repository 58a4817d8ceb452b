"""When a keypad press happened: the keypad's stamp (on the controller's clock) within bounds.

docs/protocols/keypad-mqtt.md, "Press time": a Wi-Fi keypad sets its clock from the `time` of
each ack and stamps every press with it, so a rating made while the invitation was open but
delivered after an outage is judged at the moment it was made. A stamp is trusted only within
`[keypads.press_time]`: no older than `max_delay_seconds` before it arrived, no later than
`max_skew_seconds` after; outside them (or without a stamp) the press is judged at arrival.
A wired keypad of version 2 (keypad-serial.md §7) says the press's age instead; the controller
turns it into a stamp (arrival minus age, controller/app/keypad_intake.py) judged the same way.
"""

from __future__ import annotations

import datetime as dt

from controller.domain.commands import PressKey
from controller.domain.hall_rules import PressTimeConfig


def judged_at(press: PressKey, arrived: dt.datetime, bounds: PressTimeConfig) -> dt.datetime:
    """The moment the rating rules judge `press` at: its stamp when trusted, else its arrival."""
    stamp = press.pressed_at
    if stamp is None:
        return arrived
    if stamp > arrived + dt.timedelta(seconds=bounds.max_skew_seconds):
        return arrived
    if arrived - stamp > dt.timedelta(seconds=bounds.max_delay_seconds):
        return arrived
    return min(stamp, arrived)
