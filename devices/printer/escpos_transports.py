"""Byte pipes under the ticket printer driver: python-escpos transports with bounded waits.

`Network` (socket://HOST[:PORT], port 9100 by default), a serial device or any pyserial URL
opened with `serial.serial_for_url` (python-escpos's `Serial` takes device paths only), `Usb`
(usb:VID:PID; pyusb is imported by python-escpos only when opened) and `File` (file:PATH). Each
adds what the driver needs for status: read one reply byte within the timeout, drop stale input.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import stat
import termios
import time
from typing import Protocol, cast
from urllib.parse import urlsplit

import serial
from escpos.escpos import Escpos  # type: ignore[import-untyped]
from escpos.exceptions import Error as EscposLibraryError  # type: ignore[import-untyped]
from escpos.printer import File, Network, Usb  # type: ignore[import-untyped]

from devices.printer.printer import PrinterError
from devices.printer.printer_config import PrinterConfig

DEFAULT_PORT = 9100  # raw TCP printing (JetDirect / AppSocket)
# Errors a transport may raise: OSError covers socket errors, pyserial's SerialException and
# pyusb's USBError; termios.error escapes pyserial's tcflush on a hung-up tty; RuntimeError is
# python-escpos's "pyusb is not installed".
TRANSPORT_ERRORS = (OSError, termios.error, ValueError, RuntimeError, EscposLibraryError)


class PrinterTransport(Protocol):
    """The byte pipe under a printer: write, read one status byte, each bounded by a timeout."""

    answers_status: bool

    def open(self) -> None:
        """Connect; raises OSError (or python-escpos's DeviceNotFoundError) if it cannot."""
        ...

    def send(self, data: bytes) -> None:
        """Write all of `data`; raises OSError on failure or timeout."""
        ...

    def flush(self) -> None:
        """Wait (bounded) until written bytes have left this host; OSError on timeout."""
        ...

    def read_reply(self) -> bytes:
        """One status byte, or b"" if none came within the timeout; OSError if the link is gone."""
        ...

    def discard_input(self) -> None:
        """Drop bytes already received (late replies to earlier queries)."""
        ...

    def close(self) -> None:
        """Release the link; safe to call twice."""
        ...


def transport_for(config: PrinterConfig) -> PrinterTransport:
    """socket://HOST[:PORT], usb:VID:PID, file:PATH, else a serial device or pyserial URL."""
    url, timeout = config.url, config.timeout_seconds
    if url.startswith("socket://"):
        parts = urlsplit(url)
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError as err:
            raise PrinterError(config.id, f"bad port in {url!r}") from err
        if not parts.hostname:
            raise PrinterError(config.id, f"no host in {url!r}")
        return NetworkTransport(parts.hostname, port, timeout)
    if url.startswith("usb:"):
        try:
            vendor, product = (int(part, 16) for part in url[4:].split(":"))
        except ValueError as err:
            raise PrinterError(config.id, f"expected usb:VID:PID in hex, got {url!r}") from err
        return UsbTransport(vendor, product, timeout)
    if url.startswith("file:"):
        path = urlsplit(url).path if url.startswith("file://") else url[len("file:") :]
        if not path:
            raise PrinterError(config.id, f"no path in {url!r}")
        return FileTransport(path)
    try:
        serial.serial_for_url(url, do_not_open=True)  # fail now on an unknown pyserial protocol
    except ValueError as err:
        raise PrinterError(config.id, f"unsupported printer URL {url!r}: {err}") from err
    return SerialUrlTransport(url, config.baudrate, timeout)


class NetworkTransport(Network):  # type: ignore[misc]
    """python-escpos `Network` whose connect, send and receive all use the configured timeout."""

    answers_status = True

    def __init__(self, host: str, port: int, timeout: float) -> None:
        super().__init__(host=host, port=port, timeout=timeout)

    def open(self, raise_not_found: bool = True) -> None:
        """Connect within the timeout; status queries go out at once (no Nagle delay)."""
        super().open(raise_not_found)
        self._socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, data: bytes) -> None:
        """Write all of `data` (socket timeout applies)."""
        self._socket().sendall(data)

    def flush(self) -> None:
        """Nothing to wait for: sendall returned once the kernel took every byte."""

    def read_reply(self) -> bytes:
        """One byte, b"" after the timeout; ConnectionError if the printer closed the link."""
        try:
            reply = self._socket().recv(1)
        except TimeoutError:
            return b""
        if not reply:
            raise ConnectionError("connection closed by the printer")
        return reply

    def discard_input(self) -> None:
        """Drop whatever already arrived, without waiting."""
        sock = self._socket()
        # A socket with a timeout waits in recv() even with MSG_DONTWAIT; ask select() first.
        while select.select([sock], [], [], 0)[0]:
            if not sock.recv(256):
                raise ConnectionError("connection closed by the printer")

    def _socket(self) -> socket.socket:
        if not isinstance(self._device, socket.socket):
            raise ConnectionError("not connected")
        return self._device


class SerialUrlTransport(Escpos):  # type: ignore[misc]
    """A printer on `serial.serial_for_url`: /dev/ttyUSB0, /dev/pts/N, rfc2217://, loop://."""

    answers_status = True

    def __init__(self, url: str, baudrate: int, timeout: float) -> None:
        super().__init__()
        self.url = url
        self.baudrate = baudrate
        self.timeout = timeout
        self._device: serial.SerialBase | bool | None = False

    def open(self, raise_not_found: bool = True) -> None:
        """Open the port (python-escpos's `Serial` takes only device paths, not URLs)."""
        self.close()
        self._device = serial.serial_for_url(
            self.url, baudrate=self.baudrate, timeout=self.timeout, write_timeout=self.timeout
        )

    def send(self, data: bytes) -> None:
        """Write all of `data`; SerialTimeoutException when the port stays full too long."""
        self._port().write(data)

    def flush(self) -> None:
        """Wait until the UART sent everything, at most the timeout (tcdrain could block forever)."""
        port = self._port()
        if not isinstance(port, serial.Serial):
            port.flush()
            return
        deadline = time.monotonic() + self.timeout
        while port.out_waiting:
            if time.monotonic() > deadline:
                raise serial.SerialTimeoutException(f"{port.out_waiting} bytes still unsent")
            time.sleep(0.005)

    def read_reply(self) -> bytes:
        """One byte, b"" after the timeout; SerialException if the device went away."""
        return bytes(self._port().read(1))

    def discard_input(self) -> None:
        """Drop bytes already received."""
        # Every pyserial class has it; the stubs declare it on the concrete classes only.
        cast("serial.Serial", self._port()).reset_input_buffer()

    def close(self) -> None:
        """Close the port if open."""
        port, self._device = self._device, False
        if isinstance(port, serial.SerialBase):
            port.close()

    def _raw(self, msg: bytes) -> None:
        self.send(msg)

    def _read(self) -> bytes:
        return bytes(self._port().read(16))

    def _port(self) -> serial.SerialBase:
        if not isinstance(self._device, serial.SerialBase):
            raise serial.PortNotOpenError()
        return self._device


class UsbTransport(Usb):  # type: ignore[misc]
    """python-escpos `Usb` (pyusb, imported by python-escpos only when opened); untested here."""

    answers_status = True

    def __init__(self, vendor: int, product: int, timeout: float) -> None:
        super().__init__(idVendor=vendor, idProduct=product, timeout=int(timeout * 1000))

    def send(self, data: bytes) -> None:
        """Write all of `data` to the OUT endpoint (timeout in ms)."""
        self._raw(data)

    def flush(self) -> None:
        """Bulk writes return once the device took the data."""

    def read_reply(self) -> bytes:
        """One status byte from the IN endpoint, b"" after the timeout."""
        try:
            return bytes(self._device.read(self.in_ep, 1, self.timeout))
        except OSError as err:  # pyusb's USBTimeoutError is an OSError with ETIMEDOUT
            if err.errno == errno.ETIMEDOUT:
                return b""
            raise

    def discard_input(self) -> None:
        """Nothing is buffered on the host side of a USB bulk endpoint."""

    def close(self) -> None:
        """Release the device if open (python-escpos's close fails without pyusb even then)."""
        if self._device:
            super().close()


class FileTransport(File):  # type: ignore[misc]
    """python-escpos `File`, appending (a plain file keeps every ticket); cannot answer status."""

    answers_status = False

    def __init__(self, path: str) -> None:
        super().__init__(devfile=path)

    def open(self, raise_not_found: bool = True) -> None:
        """Open for appending; a device node (/dev/usb/lp0) is opened as it is."""
        self.close()
        exists = os.path.exists(self.devfile)
        is_device = exists and stat.S_ISCHR(os.stat(self.devfile).st_mode)
        self._device = open(self.devfile, "wb" if is_device else "ab")  # noqa: SIM115

    def send(self, data: bytes) -> None:
        """Write all of `data`."""
        self._raw(data)

    def flush(self) -> None:
        """Hand Python's buffer to the OS."""
        if self._device:
            self._device.flush()

    def read_reply(self) -> bytes:
        """A file never answers."""
        return b""

    def discard_input(self) -> None:
        """Nothing to read from a file."""


def describe_error(err: BaseException) -> str:
    """A short reason for a transport error, for PrinterError and health details."""
    if isinstance(err, TimeoutError | serial.SerialTimeoutException):
        return f"timed out: {err}" if str(err) else "timed out"
    return f"{type(err).__name__}: {err}"
