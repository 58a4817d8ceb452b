"""Window keypads (评价器 / 呼叫器) on the hall bus, protocol versions 1 and 2: polled presses, answers, displays.

Function codes 0x60-0x63 of the hall bus keypad range. The controller polls every keypad; the
reply carries the keypad's oldest unanswered press (EVENT) or nothing (NO_EVENT), and the next
poll carries the controller's answer, which is the press's acknowledgement. Keys, ratings and
display states travel as bytes of name tables (never the national numbers of the rating levels);
text is GB18030. Spec a vendor builds from: docs/protocols/keypad-serial.md; the framing under it:
docs/protocols/hall-bus.md. Version 2 differs in one field: EVENT ends with the press's age
(ms since the key was pressed, by the keypad's ticks), so a press read late is judged when it
was made; the frame's version byte says which layout a reply has. Decoders raise only
HallBusError (KeypadEventError when a press is broken but its boot id and seq could be read, so
that it can still be answered).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from firmware_protocols.hall_bus.hall_bus import (
    BROADCAST,
    FN_ACK,
    FN_IDENTIFY,
    FN_NAK,
    Ack,
    Frame,
    IdentifyQuery,
    Identity,
    Nak,
)
from firmware_protocols.hall_bus.hall_bus_fields import (
    HallBusError,
    PayloadReader,
    encode_text,
    u8_field,
)
from firmware_protocols.keypad.keypad_serial_fields import (
    AGE_BYTES,
    KEY_CODES,
    KEYS_BY_CODE,
    MAX_ANSWER_CHARS,
    MAX_ARGUMENT_CHARS,
    MAX_CODE_CHARS,
    MAX_DISPLAY_CHARS,
    MAX_NAME_CHARS,
    MAX_PHOTO_ID_CHARS,
    MAX_POST_CHARS,
    MAX_RATING_SECONDS,
    MAX_REASONS,
    MAX_TICKET_CHARS,
    MAX_WINDOW,
    NO_RATING_SECONDS,
    PRESS_AGE_VERSION,
    RATING_CODES,
    RATINGS_BY_CODE,
    STATE_CODES,
    STATES_BY_CODE,
    KeypadEventError,
    check_age,
    check_boot_id,
    check_code,
    check_photo_id,
    check_version,
    encode_argument,
    encode_ids,
    encode_reasons,
    flag_bit,
    lookup,
    optional_text,
    read_ids,
)

FN_POLL: Final = 0x60
FN_EVENT: Final = 0x61
FN_NO_EVENT: Final = 0x62
FN_DISPLAY: Final = 0x63
_ANSWER_FOLLOWS: Final = 0x01
_NEEDS_DISPLAY: Final = 0x01
_QUEUE_FULL: Final = 0x02


@dataclass(frozen=True)
class PollAnswer:
    """The controller's answer to the press (boot_id, seq); it ends that press's resends."""

    boot_id: int
    seq: int
    accepted: bool
    code: str  # "ok", or why not: "queue_empty", "not_invited", "bad_payload", ...
    ticket: str | None = None
    message: str = ""  # Chinese text for the keypad's screen

    def __post_init__(self) -> None:
        self.encode()

    def encode(self) -> bytes:
        """Boot id, seq, accepted, code, ticket, message."""
        check_code(self.code)
        return (
            encode_ids(self.boot_id, self.seq)
            + bytes((flag_bit(self.accepted, "accepted"),))
            + encode_text(self.code, "code", MAX_CODE_CHARS)
            + optional_text(self.ticket, "ticket", MAX_TICKET_CHARS)
            + encode_text(self.message, "message", MAX_ANSWER_CHARS)
        )

    @classmethod
    def read(cls, reader: PayloadReader) -> PollAnswer:
        """The answer at the reader's position."""
        boot_id, seq = read_ids(reader)
        accepted = reader.u8("accepted")
        if accepted > 1:
            raise HallBusError(f"accepted {accepted:#04x}, expected 00 or 01", field="accepted")
        code = reader.text("code", MAX_CODE_CHARS)
        ticket = reader.text("ticket", MAX_TICKET_CHARS) or None
        message = reader.text("message", MAX_ANSWER_CHARS)
        return cls(boot_id, seq, bool(accepted), code, ticket, message)


@dataclass(frozen=True)
class Poll:
    """POLL: "your oldest unanswered press, please", with the answer to the previous one, if any."""

    function: ClassVar[int] = FN_POLL
    answer: PollAnswer | None = None

    def encode(self) -> bytes:
        """Flags (bit 0: an answer follows), then the answer."""
        if self.answer is None:
            return b"\x00"
        return bytes((_ANSWER_FOLLOWS,)) + self.answer.encode()

    @classmethod
    def decode(cls, payload: bytes) -> Poll:
        """A POLL payload; HallBusError if malformed or a reserved flag is set."""
        reader = PayloadReader(payload)
        flags = reader.u8("flags")
        if flags & ~_ANSWER_FOLLOWS:
            raise HallBusError(f"reserved flag bits {flags:#04x}", field="flags", offset=0)
        answer = PollAnswer.read(reader) if flags & _ANSWER_FOLLOWS else None
        reader.end()
        return cls(answer)


@dataclass(frozen=True)
class KeypadStatus:
    """The head of every poll reply: this boot's id and the keypad's status flags."""

    boot_id: int
    needs_display: bool = False  # shows nothing from the controller since it powered up
    queue_full: bool = False  # refusing presses until answers free room

    def __post_init__(self) -> None:
        check_boot_id(self.boot_id)
        flag_bit(self.needs_display, "needs_display")
        flag_bit(self.queue_full, "queue_full")

    def encode(self) -> bytes:
        """Boot id (4 bytes), flags."""
        flags = (_NEEDS_DISPLAY if self.needs_display else 0) | (
            _QUEUE_FULL if self.queue_full else 0
        )
        return self.boot_id.to_bytes(4, "big") + bytes((flags,))

    @classmethod
    def read(cls, reader: PayloadReader) -> KeypadStatus:
        """The status at the reader's position."""
        boot_id = int.from_bytes(reader.raw(4, "boot_id"), "big")
        check_boot_id(boot_id)
        flags = reader.u8("flags")
        if flags & ~(_NEEDS_DISPLAY | _QUEUE_FULL):
            raise HallBusError(f"reserved flag bits {flags:#04x}", field="flags", offset=4)
        return cls(boot_id, bool(flags & _NEEDS_DISPLAY), bool(flags & _QUEUE_FULL))


@dataclass(frozen=True)
class Press:
    """One key press; (boot_id, seq) names it for ever, boot_id being the boot it was pressed in."""

    boot_id: int
    seq: int
    key: str
    rating: str | None = None  # with key "rate" only
    reasons: tuple[str, ...] = ()  # 差评 reason codes, with a bad rating only
    reasons_table: int | None = None  # with reasons only
    argument: str | None = None  # pause reason, transfer target, case outcome

    def __post_init__(self) -> None:
        self.encode()

    def encode(self) -> bytes:
        """Boot id, seq, key, rating, reasons table, reason count, reasons, argument."""
        if self.key not in KEY_CODES:
            raise HallBusError(f"unknown key {self.key!r}", field="key")
        if (self.key == "rate") != (self.rating is not None):
            raise HallBusError("key 'rate', and only it, carries a rating", field="rating")
        if self.rating is not None and self.rating not in RATING_CODES:
            raise HallBusError(f"unknown rating {self.rating!r}", field="rating")
        rating = RATING_CODES[self.rating] if self.rating is not None else 0
        return (
            encode_ids(self.boot_id, self.seq)
            + bytes((KEY_CODES[self.key], rating))
            + encode_reasons(self.rating, self.reasons, self.reasons_table)
            + encode_argument(self.key, self.argument)
        )

    @classmethod
    def read(cls, reader: PayloadReader) -> Press:
        """The press at the reader's position; KeypadEventError once its ids are known."""
        boot_id, seq = read_ids(reader)
        try:
            key = lookup(KEYS_BY_CODE, reader.u8("key"), "key")
            raw_rating = reader.u8("rating")
            rating = lookup(RATINGS_BY_CODE, raw_rating, "rating") if raw_rating else None
            table, count = reader.u8("reasons_table"), reader.u8("reason count")
            if count > MAX_REASONS:
                raise HallBusError(f"{count} reasons, at most {MAX_REASONS}", field="reasons")
            reasons = tuple(f"R{reader.u8('reasons'):02d}" for _ in range(count))
            argument = reader.text("argument", MAX_ARGUMENT_CHARS) or None
            return cls(boot_id, seq, key, rating, reasons, table or None, argument)
        except KeypadEventError:
            raise
        except HallBusError as err:
            raise KeypadEventError(
                err.detail, boot_id=boot_id, seq=seq, field=err.field, offset=err.offset
            ) from err


@dataclass(frozen=True)
class EventReply:
    """EVENT, the reply to a POLL: the keypad's oldest unanswered press, `queued` more behind it.

    `age_ms` is version 2's last field (None in version 1): milliseconds since the key was
    pressed, by the keypad's ticks, when it sent this reply; UNKNOWN_AGE if it does not know.
    """

    function: ClassVar[int] = FN_EVENT
    status: KeypadStatus
    press: Press
    queued: int = 0
    age_ms: int | None = None

    def __post_init__(self) -> None:
        u8_field(self.queued, "queued")
        check_age(self.age_ms)

    def encode(self) -> bytes:
        """Status, queued, press, and (version 2) the age."""
        age = b"" if self.age_ms is None else self.age_ms.to_bytes(AGE_BYTES, "big")
        return self.status.encode() + bytes((self.queued,)) + self.press.encode() + age

    @classmethod
    def decode(cls, payload: bytes, version: int = 1) -> EventReply:
        """An EVENT payload of `version`; KeypadEventError for a broken press with readable ids."""
        reader = PayloadReader(payload)
        status, queued = KeypadStatus.read(reader), reader.u8("queued")
        press = Press.read(reader)
        try:
            age = None
            if version >= PRESS_AGE_VERSION:
                age = int.from_bytes(reader.raw(AGE_BYTES, "age"), "big")
            reader.end()
        except HallBusError as err:
            raise KeypadEventError(
                err.detail, boot_id=press.boot_id, seq=press.seq, field=err.field
            ) from err
        return cls(status, press, queued, age)


@dataclass(frozen=True)
class NoEventReply:
    """NO_EVENT, the reply to a POLL: nothing unanswered."""

    function: ClassVar[int] = FN_NO_EVENT
    status: KeypadStatus

    def encode(self) -> bytes:
        """Status."""
        return self.status.encode()

    @classmethod
    def decode(cls, payload: bytes) -> NoEventReply:
        """A NO_EVENT payload; HallBusError if malformed."""
        reader = PayloadReader(payload)
        status = KeypadStatus.read(reader)
        reader.end()
        return cls(status)


@dataclass(frozen=True)
class DisplayState:
    """DISPLAY: what the window's keypad shows now (replaces the previous state); answered by ACK."""

    function: ClassVar[int] = FN_DISPLAY
    window: int
    state: str  # idle, serving, paused, rating_invited, thanks, closed
    ticket: str | None = None
    staff_name: str | None = None
    staff_post: str | None = None
    staff_photo_id: str | None = None
    message: str = ""
    rating_seconds: int | None = None  # with state "rating_invited" only; counted down

    def __post_init__(self) -> None:
        if not 1 <= self.window <= MAX_WINDOW:
            raise HallBusError(f"window {self.window} outside 1-{MAX_WINDOW}", field="window")
        if self.state not in STATE_CODES:
            raise HallBusError(f"unknown state {self.state!r}", field="state")
        seconds = self.rating_seconds
        if seconds is not None:
            if self.state != "rating_invited":
                raise HallBusError("only with state rating_invited", field="rating_seconds")
            if not 0 <= seconds <= MAX_RATING_SECONDS:
                raise HallBusError(f"{seconds} outside 0-3600", field="rating_seconds")
        check_photo_id(self.staff_photo_id)
        self.encode()

    def encode(self) -> bytes:
        """Window, state, rating seconds, ticket, staff name, post, photo id, message."""
        seconds = NO_RATING_SECONDS if self.rating_seconds is None else self.rating_seconds
        return (
            self.window.to_bytes(2, "big")
            + bytes((STATE_CODES[self.state],))
            + seconds.to_bytes(2, "big")
            + optional_text(self.ticket, "ticket", MAX_TICKET_CHARS)
            + optional_text(self.staff_name, "staff_name", MAX_NAME_CHARS)
            + optional_text(self.staff_post, "staff_post", MAX_POST_CHARS)
            + optional_text(self.staff_photo_id, "staff_photo_id", MAX_PHOTO_ID_CHARS)
            + encode_text(self.message, "message", MAX_DISPLAY_CHARS)
        )

    @classmethod
    def decode(cls, payload: bytes) -> DisplayState:
        """A DISPLAY payload; HallBusError if malformed."""
        reader = PayloadReader(payload)
        window = int.from_bytes(reader.raw(2, "window"), "big")
        state = lookup(STATES_BY_CODE, reader.u8("state"), "state")
        seconds = int.from_bytes(reader.raw(2, "rating_seconds"), "big")
        ticket = reader.text("ticket", MAX_TICKET_CHARS) or None
        name = reader.text("staff_name", MAX_NAME_CHARS) or None
        post = reader.text("staff_post", MAX_POST_CHARS) or None
        photo = reader.text("staff_photo_id", MAX_PHOTO_ID_CHARS) or None
        message = reader.text("message", MAX_DISPLAY_CHARS)
        reader.end()
        rating_seconds = None if seconds == NO_RATING_SECONDS else seconds
        return cls(window, state, ticket, name, post, photo, message, rating_seconds)


KeypadRequest = Poll | DisplayState | IdentifyQuery
KeypadReply = EventReply | NoEventReply | Ack | Nak | Identity
_REQUESTS: Final[dict[int, type[KeypadRequest]]] = {
    FN_POLL: Poll,
    FN_DISPLAY: DisplayState,
    FN_IDENTIFY: IdentifyQuery,
}
_REPLIES: Final[dict[int, type[KeypadReply]]] = {
    FN_EVENT: EventReply,
    FN_NO_EVENT: NoEventReply,
    FN_ACK: Ack,
    FN_NAK: Nak,
    FN_IDENTIFY: Identity,
}
REQUEST_FUNCTIONS: Final = frozenset(_REQUESTS)


def request_frame(request: KeypadRequest, address: int, seq: int, version: int = 1) -> Frame:
    """The frame carrying `request` to the keypad at `address` (keypads are never broadcast to)."""
    if address == BROADCAST:
        raise HallBusError("keypad functions are never broadcast", field="address")
    check_version(version)
    return Frame(address, request.function, seq, request.encode(), version=version)


def decode_request(frame: Frame) -> KeypadRequest:
    """What the controller asked a keypad; HallBusError if it is not a keypad request."""
    if frame.reply:
        raise HallBusError("a reply, not a request", field="control")
    cls = _REQUESTS.get(frame.function)
    if cls is None:
        raise HallBusError(f"function {frame.function:#04x} is not a keypad request")
    return cls.decode(frame.payload)


def decode_reply(frame: Frame) -> KeypadReply:
    """What a keypad answered: EVENT, NO_EVENT, ACK, NAK or IDENTIFY; HallBusError otherwise.

    The frame's version says the layout (an EVENT of version 2 ends with the press's age); a
    version above this codec's is refused: the controller never asks in one.
    """
    if not frame.reply:
        raise HallBusError("a request, not a reply", field="control")
    check_version(frame.version)
    cls = _REPLIES.get(frame.function)
    if cls is None:
        raise HallBusError(f"function {frame.function:#04x} is not a keypad reply")
    if cls is EventReply:
        return EventReply.decode(frame.payload, frame.version)
    return cls.decode(frame.payload)
