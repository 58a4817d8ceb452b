"""What a journal can hold: a command's text is checked before anything changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from controller.domain import commands as cmd
from controller.domain.errors import InvalidRequest


def storable_or_refuse(command: cmd.Command) -> None:
    """InvalidRequest for text no journal can hold (a lone surrogate), before anything changes."""
    for spec in dataclasses.fields(command):
        for text in _texts(getattr(command, spec.name)):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as err:
                raise InvalidRequest(
                    "unstorable_value", "请求中含有无法保存的字符，未执行任何操作"
                ) from err


def _texts(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _texts(item)
