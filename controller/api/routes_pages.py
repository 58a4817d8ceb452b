"""Web pages: the kiosk (自助取号) and the ticket status page behind the QR code."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from controller.api.deps import RuntimeDep
from controller.api.routes_tickets import UNKNOWN_TICKET_TOKEN

router = APIRouter(tags=["pages"], include_in_schema=False)


def _page(name: str) -> str:
    return resources.files("controller.api").joinpath("pages", name).read_text(encoding="utf-8")


@router.get("/kiosk", response_class=HTMLResponse)
def kiosk() -> HTMLResponse:
    """The 1080×1920 kiosk page; ?machine=ID picks the printer, #token=… the kiosk token."""
    return HTMLResponse(_page("kiosk.html"))


@router.get("/t/{token}", response_class=HTMLResponse)
def ticket_page(token: str, runtime: RuntimeDep) -> HTMLResponse:
    """The status page a citizen opens from the ticket's QR code; 404 for anything else."""
    if runtime.ticket_by_token(token) is None:
        return HTMLResponse(_NOT_FOUND, status_code=404)
    return HTMLResponse(_page("ticket.html"))


_NOT_FOUND = (
    '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>票号进度</title>'
    '</head><body style="font-family: sans-serif; text-align: center; padding: 24px">'
    f'<p style="font-size: 26px">{UNKNOWN_TICKET_TOKEN}</p></body></html>'
)
