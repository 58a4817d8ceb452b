"""Scenes: what a screen shows as plain frozen data (boxes and text lines), for any drawer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Colour = tuple[int, int, int]
Align = Literal["left", "center", "right"]
Rect = tuple[float, float, float, float]  # x, y, width, height in design units


@dataclass(frozen=True)
class Box:
    """A filled (optionally rounded, optionally outlined) rectangle."""

    x: int
    y: int
    width: int
    height: int
    fill: Colour | None
    border: Colour | None = None
    border_width: int = 0
    radius: int = 0
    role: str = ""


@dataclass(frozen=True)
class Text:
    """One line of text in the box (x, y, width, height), drawn `size` px, vertically centred.

    A drawer shrinks a run that measures wider than `width`; `clip` limits drawing to a region.
    """

    text: str
    x: int
    y: int
    width: int
    height: int
    size: int
    colour: Colour
    align: Align = "left"
    clip: tuple[int, int, int, int] | None = None
    role: str = ""
    ref: str = ""


@dataclass(frozen=True)
class Scene:
    """Everything on the screen, drawn in order over the background."""

    width: int
    height: int
    background: Colour
    items: tuple[Box | Text, ...] = field(default=())

    def texts(self, role: str | None = None) -> list[Text]:
        """The text items, all or those of one role."""
        return [i for i in self.items if isinstance(i, Text) and role in (None, i.role)]

    def boxes(self, role: str | None = None) -> list[Box]:
        """The boxes, all or those of one role."""
        return [i for i in self.items if isinstance(i, Box) and role in (None, i.role)]


class ScenePainter:
    """Collects items placed in design units and scales them, letterboxed, onto `size`."""

    def __init__(self, size: tuple[int, int], design: tuple[int, int]) -> None:
        self.size = size
        self.scale = min(size[0] / design[0], size[1] / design[1])
        self.dx = round((size[0] - design[0] * self.scale) / 2)
        self.dy = round((size[1] - design[1] * self.scale) / 2)
        self.items: list[Box | Text] = []

    def box(
        self,
        rect: Rect,
        fill: Colour | None,
        *,
        border: Colour | None = None,
        border_width: int = 0,
        radius: int = 0,
        role: str = "",
    ) -> None:
        """Add a box at `rect`."""
        width = max(1, round(border_width * self.scale)) if border_width else 0
        self.items.append(
            Box(
                *self.place(rect),
                fill=fill,
                border=border,
                border_width=width,
                radius=round(radius * self.scale),
                role=role,
            )
        )

    def text(
        self,
        text: str,
        rect: Rect,
        size: int,
        colour: Colour,
        *,
        align: Align = "left",
        clip: Rect | None = None,
        role: str = "",
        ref: str = "",
    ) -> None:
        """Add a line of `text` at `size` design pixels in `rect`."""
        self.items.append(
            Text(
                text,
                *self.place(rect),
                size=max(1, round(size * self.scale)),
                colour=colour,
                align=align,
                clip=self.place(clip) if clip else None,
                role=role,
                ref=ref,
            )
        )

    def scene(self, background: Colour) -> Scene:
        """The scene of everything added so far."""
        return Scene(self.size[0], self.size[1], background, tuple(self.items))

    def place(self, rect: Rect) -> tuple[int, int, int, int]:
        """A design-unit rect in screen pixels; neighbours share edges exactly."""
        x, y, w, h = rect
        s = self.scale
        left, top = round(self.dx + x * s), round(self.dy + y * s)
        return left, top, round(self.dx + (x + w) * s) - left, round(self.dy + (y + h) * s) - top
