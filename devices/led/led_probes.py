"""When the LED bus owner sends a STATUS probe, and to which display (pure; time passed in).

A probe exchange holds the half-duplex line for ~33 ms at 9600 baud, and a call that arrives
meanwhile waits for it (a frame on the wire cannot be interrupted). So probes of displays that
answer are rationed to a share of the line's time (`line_share`, 0.5 % by default): after such
a probe took `d` seconds, the next one may start `d / line_share` seconds after it started.
They take turns, longest waiting first, each at most once per `probe_seconds`; a display that
answered anything since its last turn is alive and passes its turn once (it still gets a
STATUS every other turn: faults, a reboot, brightness). Displays that do not answer (offline,
or not heard yet) keep the quick probe: one try every `probe_seconds`. A probe overdue by a
whole period goes before queued commands, so a busy line still notices a display that came
back or rebooted.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass


@dataclass
class _Times:
    next_try: float = 0.0  # not answering: the next one-try probe
    heard: float = -math.inf  # last reply of any kind
    turn: float = -math.inf  # last STATUS reply or passed turn: the order of turns
    passed: bool = False  # passed its last turn (answered something else meanwhile)


@dataclass(frozen=True)
class ProbeChoice:
    """The display to probe now (`address`, None: nobody is due) and when to look again."""

    address: int | None
    overdue: bool = False  # due by a whole period: goes before queued commands
    wake: float = math.inf  # monotonic time at which the next probe falls due


class ProbeSchedule:
    """Probe times of the displays of one bus; every call comes from the bus thread."""

    def __init__(
        self,
        addresses: Iterable[int],
        *,
        probe_seconds: float,
        line_share: float,
        probe_cost: float,
    ) -> None:
        self.probe_seconds = probe_seconds
        self.line_share = line_share
        self.spacing = probe_cost / line_share  # between probes of answering displays
        self._times = {address: _Times() for address in addresses}
        self._slot = 0.0  # the next probe of an answering display starts no earlier

    def heard(self, address: int, now: float, *, status: bool) -> None:
        """The display answered (`status`: with a STATUS reply): it is alive as of `now`."""
        times = self._times[address]
        times.heard = now
        if status:
            times.turn = now
            times.passed = False

    def lost(self, address: int, now: float) -> None:
        """The display stopped answering: quick probes from one period on."""
        self._times[address].next_try = now + self.probe_seconds

    def line_back(self, now: float) -> None:
        """The port opened again after failing: every display not answering is probed now.

        Their probes failed because the line was gone, not because they were; waiting out a
        probe period would leave them blank (or showing an old state) for up to 5 s more.
        """
        for times in self._times.values():
            times.next_try = min(times.next_try, now)

    def begin(self, address: int, now: float) -> None:
        """A probe of `address` starts now: a display not answering gets its next in a period."""
        self._times[address].next_try = now + self.probe_seconds

    def charge(self, started: float, seconds: float) -> None:
        """A probe of an answering display held the line `seconds` from `started`."""
        self.spacing = seconds / self.line_share
        self._slot = started + self.spacing

    def choose(self, online: Collection[int], now: float) -> ProbeChoice:
        """Who is due now (`online`: the displays that answer); may pass turns (see module doc)."""
        quick = [a for a in self._times if a not in online]
        wake = math.inf
        if quick:
            address = min(quick, key=lambda a: self._times[a].next_try)
            due = self._times[address].next_try
            if due <= now:
                return ProbeChoice(address, overdue=due <= now - self.probe_seconds)
            wake = due
        if not online:
            return ProbeChoice(None, wake=wake)
        while True:  # ends: each pass marks one more display
            address = min(online, key=lambda a: self._times[a].turn)
            times = self._times[address]
            due = max(times.turn + self.probe_seconds, self._slot)
            if due > now:
                return ProbeChoice(None, wake=min(wake, due))
            if times.heard <= times.turn or times.passed:
                period = max(self.spacing, self.probe_seconds)
                return ProbeChoice(address, overdue=due <= now - period)
            times.turn, times.passed = now, True  # alive: its STATUS waits one more turn
