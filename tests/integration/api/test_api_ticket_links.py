"""The ticket status page is reached by the unguessable token in the ticket's QR code, never by id.

Real parts: the runtime on a SQLite journal (restarted by reopening it), the app over HTTP, the
real ESC/POS renderer read back by the printer-side reader.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from controller.app.clock import ManualClock
from controller.app.ticket_print import ticket_renderer
from firmware_protocols.escpos.escpos_reader import EscPosReader, QrCode
from tests.integration.api.conftest import Hall, at, auth, make_hall

STATUS_BASE = "http://127.0.0.1:8000/t"  # tickets.status_url of the example hall


def printed_qr(hall: Hall, ticket_id: str) -> str:
    """The URL in the QR code of the ticket as the first configured printer would print it."""
    printer = hall.runtime.config.printers[0].id
    data = ticket_renderer(hall.runtime)(ticket_id, printer)
    codes = [item.data for item in EscPosReader().feed(data) if isinstance(item, QrCode)]
    assert len(codes) == 1
    return codes[0].decode("ascii")


def token_of(url: str) -> str:
    """The last path segment of a status URL."""
    assert url.startswith(STATUS_BASE + "/"), url
    return url.rsplit("/", 1)[1]


def test_the_printed_qr_code_carries_a_token_not_the_ticket_id(hall: Hall) -> None:
    ids = [hall.post("/api/tickets", "kiosk", {"service": "SB"})[1]["id"] for _ in range(3)]
    urls = [printed_qr(hall, ticket_id) for ticket_id in ids]
    tokens = [token_of(url) for url in urls]
    for ticket_id, token in zip(ids, tokens, strict=True):
        assert ticket_id not in token and ticket_id.split("-")[1] not in token
        assert re.fullmatch(r"[a-z2-7]{20}", token), token  # 100 bits, base32
    assert len(set(tokens)) == 3
    # The status page and its data answer the token.
    page = hall.client.get(f"/t/{tokens[1]}")
    assert page.status_code == 200 and "票号进度" in page.text
    view = hall.client.get(f"/api/t/{tokens[1]}")
    assert view.status_code == 200
    body = view.json()
    assert (body["number"], body["status"], body["ahead"]) == ("A002", "waiting", 1)
    assert "id" not in body and ids[1] not in view.text  # nothing that leads to the next ticket


def test_the_sequential_id_opens_nothing_without_a_token(hall: Hall) -> None:
    _, ticket = hall.post("/api/tickets", "kiosk", {"service": "SB"})
    for path in (f"/t/{ticket['id']}", f"/api/t/{ticket['id']}", "/t/20261123-A002"):
        response = hall.client.get(path)
        assert response.status_code == 404, path
        assert "二维码" in response.text  # it says how to get there: scan the ticket's QR code
    # The id route answers staff tokens only; anyone else learns nothing about the ticket.
    anonymous = hall.client.get(f"/api/tickets/{ticket['id']}")
    assert anonymous.status_code == 401
    for role in ("display", "kiosk"):
        assert (
            hall.client.get(f"/api/tickets/{ticket['id']}", headers=auth(role)).status_code == 403
        )
    staff = hall.client.get(f"/api/tickets/{ticket['id']}", headers=auth("floor"))
    assert staff.status_code == 200 and staff.json()["number"] == "A001"
    wrong = hall.client.get("/api/t/" + "a" * 20)
    assert wrong.status_code == 404 and wrong.json()["error"] == "unknown_ticket"


def test_tokens_survive_a_restart_and_differ_between_halls(tmp_path: Path, hall: Hall) -> None:
    clock = ManualClock(at("09:00"))
    first = make_hall(tmp_path / "one.db", clock)
    _, ticket = first.post("/api/tickets", "kiosk", {"service": "SB"})
    token = token_of(printed_qr(first, ticket["id"]))
    first.runtime.journal.close()
    again = make_hall(tmp_path / "one.db", clock)  # restart: the same journal
    assert token_of(printed_qr(again, ticket["id"])) == token
    assert again.client.get(f"/api/t/{token}").json()["number"] == "A001"
    # Another hall (its own secret) issues the same id: a different token, and ours opens nothing.
    _, same_id = hall.post("/api/tickets", "kiosk", {"service": "SB"})
    assert same_id["id"] == ticket["id"]
    assert token_of(printed_qr(hall, same_id["id"])) != token
    assert hall.client.get(f"/api/t/{token}").status_code == 404
    again.runtime.journal.close()


def test_a_journal_written_before_tokens_replays_and_gets_them(tmp_path: Path) -> None:
    clock = ManualClock(at("09:00"))
    old = make_hall(tmp_path / "old.db", clock)
    _, ticket = old.post("/api/tickets", "kiosk", {"service": "SB"})
    old.runtime.journal.close()
    # As an older controller left it: no secret among the journal's meta rows.
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("DELETE FROM journal_meta WHERE key LIKE 'ticket%'")
    reopened = make_hall(tmp_path / "old.db", clock)
    assert reopened.runtime.ticket(ticket["id"]) is not None  # replayed
    token = token_of(printed_qr(reopened, ticket["id"]))
    assert reopened.client.get(f"/api/t/{token}").json()["number"] == "A001"
    reopened.runtime.journal.close()
