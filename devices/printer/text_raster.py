"""Chinese text as 1-bit raster lines, for ticket printers without a Chinese font (GS v 0)."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from devices.printer.ticket_png import find_cjk_font
from firmware_protocols.escpos.escpos_ticket import RasterImage

LINE_HEIGHT_PX = 30  # 24-dot glyphs plus spacing, the height a printer's own font would take
GLYPH_PX = 24


def rasterize_line(text: str, width_px: int, font_path: str | Path | None = None) -> RasterImage:
    """`text` in 24-dot glyphs, 30 dots high, as wide as the text (at most `width_px`), MSB left."""
    font = _font(str(find_cjk_font(font_path)))
    natural = math.ceil(font.getlength(text))
    width = max(8, min(width_px, natural + (-natural) % 8))
    width -= width % 8
    image = Image.new("1", (width, LINE_HEIGHT_PX), 1)
    ImageDraw.Draw(image).text((0, (LINE_HEIGHT_PX - GLYPH_PX) // 2), text, font=font, fill=0)
    # PIL's "1" mode packs 1 = white; the printer wants 1 = black dot.
    packed = bytes(b ^ 0xFF for b in image.tobytes())
    return RasterImage(width, LINE_HEIGHT_PX, packed)


@lru_cache(maxsize=4)
def _font(path: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, GLYPH_PX)
