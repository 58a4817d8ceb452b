"""What each role's token sees of the live hall: public screens get only what their page shows."""

from __future__ import annotations

from typing import Any

from controller.api.auth import Caller, Role
from controller.app.event_codec import event_to_dict
from controller.domain.events import Event

# Tokens that live on public screens (the TV calling screen, the kiosk): whoever stands in
# front of one can read its localStorage, so they get what the screen shows and no more.
PUBLIC_ROLES = frozenset({Role.DISPLAY, Role.KIOSK})
# Events with personal data (even masked) stay off every stream.
PRIVATE_KINDS = frozenset({"AppointmentBooked"})
# The public form of each event a public screen follows: these fields (and `kind`, `at`) only.
# Anything not listed (ratings, key presses, rating flags, invitations, appointments, events
# added later) is withheld: a new kind is private until someone decides otherwise here.
PUBLIC_FIELDS: dict[str, tuple[str, ...]] = {
    "DayOpened": ("day",),
    "DayClosed": ("day",),
    "TicketIssued": ("number", "service"),
    "TicketPrinted": ("number",),
    "TicketPrintFailed": ("number",),
    "TicketVoided": ("number",),
    "StaffSignedIn": ("window", "staff_name", "role", "post"),  # 亮牌上岗: name and post are public
    "StaffSignedOut": ("window",),
    "TicketCalled": ("number", "window"),
    "TicketRecalled": ("number", "window", "recall_count"),
    "TicketNoShow": ("number", "window"),
    "TicketTransferred": ("number", "from_window", "to_service", "to_window"),
    "TicketFinished": ("number", "window"),
    "WindowPaused": ("window",),
    "WindowResumed": ("window",),
    "WindowOpened": ("window",),
    "WindowClosed": ("window",),
    "WindowServicesChanged": ("window", "services"),
    "NoticePosted": ("notice_id", "text", "level"),
    "NoticeCleared": ("notice_id",),
    "DutyLeaderSet": ("name", "title"),
}


# What the ticket status page (public, behind the QR code) shows of a ticket: no id, printer,
# outcome or rating invitation.
PUBLIC_TICKET_FIELDS = (
    "number",
    "service",
    "service_name",
    "lane",
    "status",
    "window",
    "issued_at",
    "called_at",
    "ended_at",
    "ahead",
    "estimated_wait_minutes",
    "waited_minutes",
)


def is_public(caller: Caller) -> bool:
    """True for a token on a public screen (display, kiosk)."""
    return caller.role in PUBLIC_ROLES


def stream_event(caller: Caller, event: Event) -> dict[str, Any] | None:
    """The event as `caller`'s stream carries it, or None when it stays off that stream."""
    if event.kind in PRIVATE_KINDS:
        return None
    full = event_to_dict(event)
    if not is_public(caller):
        return full
    fields = PUBLIC_FIELDS.get(event.kind)
    if fields is None:
        return None
    return {name: full[name] for name in ("kind", "at", *fields)}


def public_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot a public screen gets: no floor alerts, staff ids, pause reasons or ticket ids."""
    windows = []
    for window in snapshot["windows"]:
        view = {k: v for k, v in window.items() if k != "pause_reason"}
        if view.get("staff"):
            view["staff"] = {k: v for k, v in view["staff"].items() if k != "id"}
        if view.get("current"):
            view["current"] = {k: v for k, v in view["current"].items() if k != "id"}
        windows.append(view)
    shown = {k: v for k, v in snapshot.items() if k != "alerts"}
    shown["windows"] = windows
    return shown


def snapshot_for(caller: Caller, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot as `caller` may see it."""
    return public_snapshot(snapshot) if is_public(caller) else snapshot


def public_ticket(view: dict[str, Any]) -> dict[str, Any]:
    """A ticket's status view as the public status page gets it."""
    return {name: view[name] for name in PUBLIC_TICKET_FIELDS}
