"""Events as JSON (the journal's rows, the live stream): by field name, times as ISO 8601."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import typing
from collections.abc import Callable
from typing import Any

import orjson

from controller.domain.errors import StoreError
from controller.domain.events import EVENT_KINDS, Event

_CODECS: dict[type[Event], list[tuple[str, Callable[[Any], Any] | None]]] = {}


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-ready dict of the event, with its `kind`."""
    out: dict[str, Any] = {"kind": event.kind}
    for name, decode in _codec(type(event)):
        value = getattr(event, name)
        out[name] = value if decode is None else _plain(value)
    return out


def event_to_json(event: Event) -> str:
    """Compact JSON of the event (UTF-8 text, Chinese kept readable)."""
    return json.dumps(event_to_dict(event), ensure_ascii=False, separators=(",", ":"))


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from `event_to_dict` output; StoreError if the kind is unknown."""
    kind = data.get("kind")
    cls = EVENT_KINDS.get(str(kind))
    if cls is None:
        raise StoreError(f"unknown event kind {kind!r} in journal")
    try:
        values = {
            name: data[name] if decode is None or data[name] is None else decode(data[name])
            for name, decode in _codec(cls)
            if name in data
        }
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise StoreError(f"malformed {kind} event in journal: {err}") from err


def event_from_json(text: str) -> Event:
    """Rebuild an event from `event_to_json` output."""
    return event_from_dict(orjson.loads(text))


def _plain(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _codec(cls: type[Event]) -> list[tuple[str, Callable[[Any], Any] | None]]:
    """Each field's name and its decoder from JSON (None: the JSON value is the value)."""
    codec = _CODECS.get(cls)
    if codec is None:
        hints = typing.get_type_hints(cls)
        codec = [(f.name, _decoder_for(hints[f.name])) for f in dataclasses.fields(cls)]
        _CODECS[cls] = codec
    return codec


def _decoder_for(hint: Any) -> Callable[[Any], Any] | None:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if type(None) in typing.get_args(hint) and len(args) == 1 else hint
    if base is dt.datetime:
        return dt.datetime.fromisoformat
    if base is dt.date:
        return dt.date.fromisoformat
    if typing.get_origin(base) is tuple:
        return tuple
    return None
