"""Draws a screen Scene with pygame: a CJK font chosen by path, text shrunk to its box, PNG out."""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame
import pygame.freetype

from controller.domain.errors import HallError
from display.scene import Box, Scene, Text

DEFAULT_FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")  # Debian fonts-wqy-zenhei
# Face 1 of wqy-zenhei.ttc is "WenQuanYi Zen Hei Mono": ASCII exactly 0.5 em and CJK 1 em,
# the widths display.text_measure lays text out with.
DEFAULT_FONT_INDEX = 1
FONT_ENV = "HALLCTL_SCREEN_FONT"
_PROBE = "请号到窗口办理中暂停服务"  # a font without these would draw empty boxes
_BASELINE_EM = 0.38  # the centre of a CJK em box ([-0.12, 0.88] em) sits 0.38 em above the baseline
_CACHE_SIZE = 1024


class ScreenFontError(HallError):
    """The screen's CJK font is missing, unreadable or has no Chinese glyphs; `path` names it."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(
            f"TV screen font {path}: {detail}. Install the Debian package fonts-wqy-zenhei "
            f"(scripts/install.sh does), or choose a CJK font file with --font or ${FONT_ENV}"
        )


@dataclass(frozen=True)
class FontChoice:
    """A font file and the face inside it (a .ttc holds several)."""

    path: Path
    index: int = 0


def font_choice(path: str | Path | None = None, index: int | None = None) -> FontChoice:
    """`path`, else $HALLCTL_SCREEN_FONT, else wqy-zenhei's Mono face; never a system lookup."""
    chosen = Path(path or os.environ.get(FONT_ENV) or DEFAULT_FONT_PATH)
    if index is None:
        index = DEFAULT_FONT_INDEX if chosen == DEFAULT_FONT_PATH else 0
    return FontChoice(chosen, index)


class SceneDrawer:
    """Draws scenes onto pygame surfaces with one CJK font, caching rendered text."""

    def __init__(self, font: FontChoice | None = None) -> None:
        self.choice = font or font_choice()
        self._font = _load_font(self.choice)
        self._cache: OrderedDict[tuple[str, int, tuple[int, int, int]], _Run] = OrderedDict()

    def draw(self, surface: pygame.Surface, scene: Scene) -> None:
        """Paint `scene` over the whole `surface` (which should be scene-sized)."""
        surface.fill(scene.background)
        for item in scene.items:
            if isinstance(item, Box):
                self._box(surface, item)
            else:
                self._text(surface, item)

    def surface(self, scene: Scene) -> pygame.Surface:
        """A new surface with `scene` drawn on it."""
        surface = pygame.Surface((scene.width, scene.height))
        self.draw(surface, scene)
        return surface

    def _box(self, surface: pygame.Surface, box: Box) -> None:
        rect = pygame.Rect(box.x, box.y, box.width, box.height)
        if box.fill is not None:
            pygame.draw.rect(surface, box.fill, rect, border_radius=box.radius)
        if box.border is not None and box.border_width > 0:
            pygame.draw.rect(
                surface, box.border, rect, width=box.border_width, border_radius=box.radius
            )

    def _text(self, surface: pygame.Surface, item: Text) -> None:
        if not item.text.strip():
            return
        run = self._run(item.text, item.size, item.colour)
        if run.ink_width > item.width > 0:
            # The layout's estimate was short for this font: shrink rather than overflow.
            size = max(1, math.floor(item.size * item.width / run.ink_width))
            run = self._run(item.text, size, item.colour)
        else:
            size = item.size
        if item.align == "center":
            ink_left = item.x + (item.width - run.ink_width) / 2
        elif item.align == "right":
            ink_left = item.x + item.width - run.ink_width
        else:
            ink_left = item.x
        baseline = item.y + item.height / 2 + _BASELINE_EM * size
        position = (round(ink_left), round(baseline - run.ink_top))
        if item.clip is not None:
            previous = surface.get_clip()
            surface.set_clip(pygame.Rect(item.clip))
            surface.blit(run.surface, position)
            surface.set_clip(previous)
        else:
            surface.blit(run.surface, position)

    def _run(self, text: str, size: int, colour: tuple[int, int, int]) -> _Run:
        key = (text, size, colour)
        run = self._cache.get(key)
        if run is not None:
            self._cache.move_to_end(key)
            return run
        rendered, rect = self._font.render(text, colour, size=size)
        run = _Run(rendered, rect.width, rect.y)
        self._cache[key] = run
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return run


def save_png(scene: Scene, path: str | Path, *, font: FontChoice | None = None) -> Path:
    """Draw `scene` off screen and write it to `path` as PNG; needs no display or SDL video."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    pygame.image.save(SceneDrawer(font).surface(scene), str(target))
    return target


class ScreenWindow:
    """A pygame window (full screen unless `windowed`) that shows scenes; Esc or Q closes it."""

    def __init__(
        self,
        *,
        windowed: bool = False,
        size: tuple[int, int] = (1280, 720),
        font: FontChoice | None = None,
    ) -> None:
        self._drawer = SceneDrawer(font)
        pygame.display.init()
        if windowed:
            pygame.display.set_mode(size, pygame.RESIZABLE)
        else:
            pygame.display.set_mode((0, 0), pygame.FULLSCREEN)  # the display's own resolution
            pygame.mouse.set_visible(False)
        pygame.display.set_caption("叫号屏")

    @property
    def size(self) -> tuple[int, int]:
        """The drawable size in pixels now (a windowed screen may be resized)."""
        width, height = pygame.display.get_surface().get_size()
        return width, height

    def show(self, scene: Scene) -> None:
        """Draw `scene` and put it on the screen."""
        self._drawer.draw(pygame.display.get_surface(), scene)
        pygame.display.flip()

    def wants_to_close(self) -> bool:
        """Handle pending window events; True when the user closed the window or pressed Esc/Q."""
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                return True
            if event.type == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_q):
                return True
        return False

    def close(self) -> None:
        """Close the window."""
        pygame.display.quit()


@dataclass(frozen=True)
class _Run:
    surface: pygame.Surface
    ink_width: int
    ink_top: int  # how far the ink rises above the baseline


def _load_font(choice: FontChoice) -> pygame.freetype.Font:
    if not choice.path.is_file():
        raise ScreenFontError(choice.path, "file not found")
    pygame.freetype.init()
    try:
        font = pygame.freetype.Font(str(choice.path), 32, font_index=choice.index)
    except (OSError, ValueError) as err:
        raise ScreenFontError(
            choice.path, f"cannot be loaded (face {choice.index}): {err}"
        ) from err
    if any(metric is None for metric in font.get_metrics(_PROBE)):
        raise ScreenFontError(choice.path, "has no Chinese glyphs (it would draw empty boxes)")
    font.antialiased = True
    return font
