"""Web pages: the kiosk (自助取号) and the ticket status page behind the QR code."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["pages"], include_in_schema=False)


def _page(name: str) -> str:
    return resources.files("controller.api").joinpath("pages", name).read_text(encoding="utf-8")


@router.get("/kiosk", response_class=HTMLResponse)
def kiosk() -> HTMLResponse:
    """The 1080×1920 kiosk page; ?machine=ID picks the printer, #token=… the kiosk token."""
    return HTMLResponse(_page("kiosk.html"))


@router.get("/t/{ticket_id}", response_class=HTMLResponse)
def ticket_page(ticket_id: str) -> HTMLResponse:
    """The ticket status page a citizen opens from the QR code; no personal data."""
    return HTMLResponse(_page("ticket.html"))
