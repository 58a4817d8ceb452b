"""The device-protocol slot: a registry from a bus's `protocol` name to what speaks it.

Each family (LED displays in devices/led/led_protocols.py, keypads in
devices/keypad/keypad_protocols.py) keeps one registry of entries (codec module, driver
factory, simulated twin factory); the hall bus (`hall-bus-v1`) is the first entry of each. A
bus config names its protocol; an unknown name is a config error listing the known ones.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from controller.domain.errors import HallError

HALL_BUS_V1 = "hall-bus-v1"  # docs/protocols/hall-bus.md, version 1
EntryT = TypeVar("EntryT")


class UnknownProtocol(HallError, ValueError):
    """A bus names a protocol no entry of its family speaks; `known` lists those that do."""

    def __init__(self, family: str, name: str, known: tuple[str, ...]) -> None:
        self.family = family
        self.name = name
        self.known = known
        listed = ", ".join(repr(k) for k in known)
        super().__init__(f"unknown {family} protocol {name!r}: the known ones are {listed}")


class ProtocolRegistry(Generic[EntryT]):
    """Protocol name -> entry for one family of devices ("LED bus", "keypad bus")."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._entries: dict[str, EntryT] = {}

    def register(self, name: str, entry: EntryT) -> None:
        """Add protocol `name`; ValueError if the name is taken (unregister it first)."""
        if name in self._entries:
            raise ValueError(f"{self.family} protocol {name!r} is registered already")
        self._entries[name] = entry

    def unregister(self, name: str) -> None:
        """Remove protocol `name` (a test's, or a vendor's being replaced); absent is fine."""
        self._entries.pop(name, None)

    def names(self) -> tuple[str, ...]:
        """Every registered protocol name, in order of registration."""
        return tuple(self._entries)

    def get(self, name: str) -> EntryT:
        """The entry of protocol `name`; UnknownProtocol naming the known ones if none."""
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownProtocol(self.family, name, self.names()) from None

    def check(self, name: str) -> str:
        """`name` if registered (a config validator); UnknownProtocol (a ValueError) if not."""
        self.get(name)
        return name
