"""What the demo and tests ask of a simulated keypad of either kind: press a key, read its answer."""

from __future__ import annotations

from typing import Any, Protocol


class KeypadAck(Protocol):
    """The controller's answer as a simulated keypad received it."""

    @property
    def accepted(self) -> bool: ...
    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def ticket(self) -> str | None: ...


class KeypadTwin(Protocol):
    """A simulated keypad of either kind (Wi-Fi or RS-485): press a key, wait for its answer."""

    @property
    def connected(self) -> bool:
        """True while the controller hears it."""
        ...

    def press(
        self,
        key: str,
        *,
        rating: str | None = None,
        reasons: tuple[str, ...] = (),
        argument: str | None = None,
    ) -> Any:
        """Press a key; the press, to wait for."""
        ...

    def wait_acked(self, press: Any, /, timeout: float = 5.0) -> KeypadAck:
        """The controller's answer to `press`."""
        ...
