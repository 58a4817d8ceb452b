"""The simulated printer: its model fed directly, and the peer driven over a raw pty or socket."""

from __future__ import annotations

import os
import select
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from devices.printer.sim_printer import SimulatedPrinter, Transport
from devices.printer.sim_printer_model import PrinterModel
from devices.printer.ticket_png import PAPER_DOTS, TicketFontMissing, find_cjk_font
from firmware_protocols.escpos.escpos_ticket import (
    EscPosError,
    RasterImage,
    build_ticket,
    decode_status,
    raster_texts,
    status_query,
)
from tests.printer_helpers import running_sim, sample_layout, sample_ticket

DLE_EOT = {n: status_query(n) for n in (1, 2, 3, 4)}


# --- the model, no I/O ---


@pytest.mark.parametrize(
    ("faults", "replies"),
    [
        # Hand-written: fixed bits 0x12; n=1 bit 3 offline; n=2 bit 2 cover, bit 5 paper-end
        # stop; n=4 bits 2-3 near end, bits 5-6 end (Epson ESC/POS, DLE EOT).
        ({}, {1: 0x12, 2: 0x12, 4: 0x12}),
        ({"offline": True}, {1: 0x1A, 2: 0x12, 4: 0x12}),
        ({"cover_open": True}, {1: 0x1A, 2: 0x16, 4: 0x12}),
        ({"paper_out": True}, {1: 0x1A, 2: 0x32, 4: 0x7E}),
        ({"paper_near_end": True}, {1: 0x12, 2: 0x12, 4: 0x1E}),
    ],
)
def test_status_replies_are_the_bytes_a_real_printer_sends(
    faults: dict[str, bool], replies: dict[int, int]
) -> None:
    model = PrinterModel()
    for name, value in faults.items():
        setattr(model.faults, name, value)
    for n, expected in replies.items():
        assert model.receive(DLE_EOT[n]).replies == bytes((expected,))


def test_tickets_split_at_each_cut_whether_glued_or_byte_by_byte() -> None:
    stream = sample_ticket("A001") + DLE_EOT[1] + sample_ticket("A002", paper_mm=58)
    glued, trickled = PrinterModel(), PrinterModel()
    assert glued.receive(stream).replies == b"\x12"
    replies = b"".join(trickled.receive(stream[i : i + 1]).replies for i in range(len(stream)))
    assert replies == b"\x12"
    for model in (glued, trickled):
        assert [ticket.number for ticket in model.tickets] == ["A001", "A002"]
        assert model.tickets[0].lines == glued.tickets[0].lines


def test_paper_runs_out_exactly_after_the_set_number_of_bytes() -> None:
    model = PrinterModel()
    model.arm("paper_out", 40)
    ticket = sample_ticket()
    model.receive(DLE_EOT[1] + ticket[:41])  # the status query before does not count
    assert not model.faults.paper_out
    model.receive(ticket[41:42])
    assert model.faults.paper_out
    model.receive(ticket[42:])
    assert model.tickets == [] and [t.problem for t in model.spoiled] == ["paper end"]


def test_a_garbled_stream_spoils_one_ticket_and_the_next_prints() -> None:
    model = PrinterModel()
    model.receive(b"\x1b@\x1c&\x1b\x07junk\n\x1dV\x42\x00")
    model.receive(sample_ticket("A003"))
    assert model.stream_errors and model.spoiled[0].problem.startswith("garbled stream")
    assert [ticket.number for ticket in model.tickets] == ["A003"]


def test_garbage_replies_are_invalid_and_repeatable_with_a_seed() -> None:
    runs = []
    for _ in range(2):
        model = PrinterModel(seed=42)
        model.faults.garbage_status = True
        runs.append([model.receive(DLE_EOT[n % 4 + 1]).replies for n in range(50)])
    assert runs[0] == runs[1]
    for n, reply in enumerate(runs[0]):
        with pytest.raises(EscPosError):
            decode_status(n % 4 + 1, reply)


def test_a_silent_printer_prints_but_never_answers() -> None:
    model = PrinterModel()
    model.faults.silent = True
    assert model.receive(sample_ticket("A004") + DLE_EOT[1]).replies == b""
    assert model.tickets[0].number == "A004" and model.status_queries == [1]


# --- the peer on real links ---


@contextmanager
def raw_host(sim: SimulatedPrinter) -> Iterator[tuple[socket.socket | int, float]]:
    """A bare host end (socket or pty fd) connected to `sim`, for talking bytes directly."""
    if sim.transport == "tcp":
        conn = socket.create_connection(("127.0.0.1", int(sim.url.rsplit(":", 1)[1])), 2)
        try:
            yield conn, 2.0
        finally:
            conn.close()
    else:
        fd = os.open(sim.url, os.O_RDWR | os.O_NOCTTY)
        try:
            yield fd, 2.0
        finally:
            os.close(fd)


def _send(end: socket.socket | int, data: bytes) -> None:
    if isinstance(end, socket.socket):
        end.sendall(data)
    else:
        os.write(end, data)


def _recv(end: socket.socket | int, timeout: float) -> bytes:
    if not select.select([end], [], [], timeout)[0]:
        return b""
    return end.recv(16) if isinstance(end, socket.socket) else os.read(end, 16)


@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_the_peer_answers_on_a_real_link_and_collects_tickets(
    transport: Transport, tmp_path: Path
) -> None:
    with running_sim(transport, tmp_path) as sim, raw_host(sim) as (end, timeout):
        for offset in range(0, 300, 7):  # a ticket trickling in, in small pieces
            _send(end, sample_ticket("B001")[offset : offset + 7])
        _send(end, sample_ticket("B001")[300:] + DLE_EOT[4])
        assert _recv(end, timeout) == b"\x12"
        assert sim.wait_for_tickets(1)[0].number == "B001"


def test_a_pty_printer_keeps_its_symlink_across_replug_and_its_slave_path_changes(
    tmp_path: Path,
) -> None:
    with running_sim("pty", tmp_path, name="lp0") as sim:
        assert sim.url == str(tmp_path / "lp0")
        before = os.readlink(sim.url)
        holder = os.open(sim.url, os.O_RDWR | os.O_NOCTTY)  # keeps the old pts number taken
        sim.unplug()
        assert not sim.plugged
        sim.replug()
        assert os.readlink(sim.url) != before
        os.close(holder)
        with raw_host(sim) as (end, timeout):
            _send(end, DLE_EOT[1])
            assert _recv(end, timeout) == b"\x12"
    assert not (tmp_path / "lp0").exists()


def test_a_tcp_printer_refuses_connections_while_unplugged_and_keeps_its_port(
    tmp_path: Path,
) -> None:
    with running_sim("tcp", tmp_path) as sim:
        url = sim.url
        sim.unplug()
        with pytest.raises(ConnectionRefusedError), raw_host(sim):
            pass
        sim.replug()
        assert sim.url == url
        with raw_host(sim) as (end, timeout):
            _send(end, DLE_EOT[2])
            assert _recv(end, timeout) == b"\x12"


# --- PNG rendering ---


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_a_ticket_renders_to_a_png_of_the_paper_width(paper_mm: int, tmp_path: Path) -> None:
    sim = SimulatedPrinter(paper_mm=paper_mm)
    sim.model.receive(sample_ticket("A888", paper_mm=paper_mm))
    path = sim.render_png(sim.tickets[0], tmp_path / f"ticket-{paper_mm}.png")
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width == PAPER_DOTS[paper_mm] == {58: 384, 80: 576}[paper_mm]
        assert 500 < image.height < 2000
        pixels, width = image.convert("L").tobytes(), image.width
        # The number is 6-8 times the 24-dot font: its strokes fill long runs of a row.
        inked = [pixels[y * width : (y + 1) * width].count(0) for y in range(image.height)]
        assert max(inked) > width // 4
    sim.stop()


def test_a_raster_ticket_for_a_printer_without_chinese_font_renders_too(tmp_path: Path) -> None:
    layout = sample_layout("A123", paper_mm=58)
    images = {text: _rasterize(text) for text in raster_texts(layout)}
    raster_layout = sample_layout("A123", paper_mm=58, raster_lines=images)
    model = PrinterModel()
    model.receive(build_ticket(raster_layout))
    (ticket,) = model.tickets
    assert ticket.number == "A123" and len(ticket.rasters) == len(images)
    sim = SimulatedPrinter(paper_mm=58)
    with Image.open(sim.render_png(ticket, tmp_path / "raster.png")) as image:
        assert image.width == 384
    sim.stop()


def test_a_missing_font_is_a_clear_error_naming_the_paths(tmp_path: Path) -> None:
    missing = tmp_path / "no-font.ttc"
    with pytest.raises(TicketFontMissing, match=r"no-font\.ttc") as raised:
        find_cjk_font(missing)
    assert raised.value.tried == (missing,)
    assert find_cjk_font().is_file()  # the installed default (fonts-wqy-zenhei)


def _rasterize(text: str) -> RasterImage:
    """`text` in 24-dot glyphs on a bitmap just wide enough (1 = black, as GS v 0 wants)."""
    font = ImageFont.truetype(str(find_cjk_font()), 24)
    width = -(-round(font.getlength(text)) // 8) * 8
    image = Image.new("1", (width, 30), 1)
    ImageDraw.Draw(image).text((0, 3), text, font=font, fill=0)
    return RasterImage(width, 30, bytes(b ^ 0xFF for b in image.tobytes()))
