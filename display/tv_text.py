"""What the TV calling screen says (Chinese text, no layout), derived from the state snapshot."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from controller.domain.state import WindowStatus

# Window states as the public sees them (a signed-out window is simply not open to them).
STATE_LABELS: dict[str, str] = {
    WindowStatus.SERVING: "办理中",
    WindowStatus.IDLE: "空闲",
    WindowStatus.PAUSED: "暂停服务",
    WindowStatus.SIGNED_OUT: "未开放",
    WindowStatus.CLOSED: "未开放",
}
WEEKDAYS = "一二三四五六日"
NO_TICKET = "--"
NO_NOTICE_TEXT = "请留意叫号屏和语音提示，听到叫号后请到对应窗口办理"


@dataclass(frozen=True)
class CallLine:
    """One call as the screen announces it: 请 A012 号到 3 号窗口."""

    number: str
    window: int
    at: dt.datetime
    recall: bool

    @property
    def text(self) -> str:
        """The call as one sentence."""
        return f"请 {self.number} 号到 {self.window} 号窗口"


@dataclass(frozen=True)
class WindowTile:
    """One window: its number, name, current ticket (if any) and public state."""

    number: int
    name: str
    ticket: str | None
    state: str
    label: str
    called_at: dt.datetime | None

    @property
    def title(self) -> str:
        """How the window is named on screen: 3号窗口."""
        return f"{self.number}号窗口"


@dataclass(frozen=True)
class ServiceCount:
    """How many people wait for one service."""

    name: str
    prefix: str
    waiting: int

    @property
    def text(self) -> str:
        """The count as shown: 12 人."""
        return f"{self.waiting} 人"


@dataclass(frozen=True)
class ScreenContent:
    """Everything the calling screen shows, as text, in display order."""

    hall_name: str
    hall_now: dt.datetime
    latest: CallLine | None
    recent: tuple[CallLine, ...]
    windows: tuple[WindowTile, ...]
    services: tuple[ServiceCount, ...]
    notices: tuple[str, ...]
    emergencies: tuple[str, ...]
    duty_leader: str | None


def screen_content(snapshot: dict[str, Any]) -> ScreenContent:
    """The screen's content from a `build_snapshot` dict; missing parts show as empty."""
    hall = snapshot.get("hall") or {}
    calls = [_call(c) for c in snapshot.get("recent_calls") or []]
    latest = calls[0] if calls else None
    recent: list[CallLine] = []
    seen = {(latest.number, latest.window)} if latest else set()
    for call in calls[1:]:
        if (call.number, call.window) not in seen:
            seen.add((call.number, call.window))
            recent.append(call)
    notices = snapshot.get("notices") or []
    leader = snapshot.get("duty_leader")
    return ScreenContent(
        hall_name=str(hall.get("name") or ""),
        hall_now=_time(hall.get("now")) or dt.datetime.now(dt.UTC),
        latest=latest,
        recent=tuple(recent),
        windows=tuple(_tile(w) for w in snapshot.get("windows") or []),
        services=tuple(
            ServiceCount(str(s.get("name", "")), str(s.get("prefix", "")), int(s.get("waiting", 0)))
            for s in snapshot.get("services") or []
        ),
        notices=tuple(str(n["text"]) for n in notices if n.get("level") != "emergency"),
        # The newest emergency first: it is what the hall needs people to read now.
        emergencies=tuple(
            str(n["text"])
            for n in sorted(notices, key=lambda n: -int(n.get("id", 0)))
            if n.get("level") == "emergency"
        ),
        duty_leader=_leader(leader) if leader else None,
    )


def clock_text(now: dt.datetime) -> tuple[str, str]:
    """The date line and the time for the screen's clock: ("11月23日 星期一", "09:30:15")."""
    return f"{now.month}月{now.day}日 星期{WEEKDAYS[now.weekday()]}", now.strftime("%H:%M:%S")


def content_to_dict(content: ScreenContent) -> dict[str, Any]:
    """JSON-ready content for the web screen page, with the derived texts filled in."""
    data = asdict(content)
    data["hall_now"] = content.hall_now.isoformat()
    data["latest"] = _call_dict(content.latest) if content.latest else None
    data["recent"] = [_call_dict(call) for call in content.recent]
    data["windows"] = [
        {
            **asdict(tile),
            "title": tile.title,
            "called_at": tile.called_at.isoformat() if tile.called_at else None,
        }
        for tile in content.windows
    ]
    data["services"] = [{**asdict(s), "text": s.text} for s in content.services]
    data["notices"] = list(content.notices)
    data["emergencies"] = list(content.emergencies)
    return data


def _call(raw: dict[str, Any]) -> CallLine:
    at = _time(raw.get("at")) or dt.datetime.min.replace(tzinfo=dt.UTC)
    return CallLine(str(raw["number"]), int(raw["window"]), at, bool(raw.get("recall")))


def _call_dict(call: CallLine) -> dict[str, Any]:
    return {
        "number": call.number,
        "window": call.window,
        "at": call.at.isoformat(),
        "recall": call.recall,
        "text": call.text,
    }


def _tile(raw: dict[str, Any]) -> WindowTile:
    state = str(raw.get("state", "closed"))
    current = raw.get("current") or None
    ticket = str(current["number"]) if current and state in ("serving", "paused") else None
    called = _time(current.get("called_at")) if current else None
    return WindowTile(
        number=int(raw["number"]),
        name=str(raw.get("name") or ""),
        ticket=ticket,
        state=state,
        label=STATE_LABELS.get(state, "未开放"),
        called_at=called,
    )


def _leader(raw: dict[str, Any]) -> str | None:
    name = str(raw.get("name") or "").strip()
    if not name:
        return None
    title = str(raw.get("title") or "").strip()
    return f"值班领导：{name}" + (f"（{title}）" if title else "")


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
