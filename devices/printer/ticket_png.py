"""Draw what a thermal printer put on paper as a PNG: 8 dots/mm, CJK font, big number, QR, rasters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import qrcode  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont

from controller.domain.errors import HallError
from firmware_protocols.escpos.escpos_reader import Feed, PrintItem, QrCode, Raster, TextLine

DOTS_PER_MM = 8  # 203 dpi thermal heads
PAPER_DOTS = {58: 384, 80: 576}  # printable width: 48 mm and 72 mm of the 58/80 mm rolls
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
)
CHAR_DOTS = 24  # font A: 12x24 half-width, 24x24 Kanji
LINE_DOTS = 30  # default line spacing (ESC 2) on 203 dpi printers
MARGIN_DOTS = 24  # blank paper before the first line and after the cut
_QR_LEVELS = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}


class TicketFontMissing(HallError):
    """No CJK font to draw tickets with; `tried` lists the paths looked at."""

    def __init__(self, tried: Sequence[Path]) -> None:
        self.tried = tuple(tried)
        names = ", ".join(str(path) for path in self.tried)
        super().__init__(
            f"no CJK font found (looked at {names}); install fonts-wqy-zenhei or pass font_path"
        )


def find_cjk_font(font_path: str | Path | None = None) -> Path:
    """The font to draw Chinese with: `font_path` if given, else the first installed candidate."""
    candidates = (Path(font_path),) if font_path is not None else FONT_CANDIDATES
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise TicketFontMissing(candidates)


def render_ticket(
    items: Iterable[PrintItem], *, paper_mm: int = 80, font_path: str | Path | None = None
) -> Image.Image:
    """The paper of one ticket as a grayscale image `PAPER_DOTS[paper_mm]` dots wide."""
    if paper_mm not in PAPER_DOTS:
        raise ValueError(f"paper must be 58 or 80 mm, got {paper_mm}")
    width = PAPER_DOTS[paper_mm]
    font = find_cjk_font(font_path)
    blocks: list[tuple[Image.Image, str]] = []
    for item in items:
        if isinstance(item, TextLine):
            blocks.append((_text_block(item, font), item.align))
        elif isinstance(item, QrCode):
            blocks.append((_qr_block(item), item.align))
        elif isinstance(item, Raster):
            blocks.append((_raster_block(item), item.align))
        elif isinstance(item, Feed):
            blocks.append((Image.new("L", (1, LINE_DOTS * item.lines), 255), "left"))
    height = 2 * MARGIN_DOTS + sum(block.height for block, _ in blocks)
    page = Image.new("L", (width, height), 255)
    y = MARGIN_DOTS
    for block, align in blocks:
        x = {"left": 0, "center": (width - block.width) // 2, "right": width - block.width}[align]
        page.paste(block, (max(0, x), y))  # wider than the paper: cut off on the right
        y += block.height
    return page


def save_ticket_png(
    items: Iterable[PrintItem],
    path: str | Path,
    *,
    paper_mm: int = 80,
    font_path: str | Path | None = None,
) -> Path:
    """Write the ticket's PNG to `path` (parent folders created); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    render_ticket(items, paper_mm=paper_mm, font_path=font_path).save(target, format="PNG")
    return target


def _text_block(line: TextLine, font_path: Path) -> Image.Image:
    # The printer scales its bitmap font; drawing at the scaled height looks the same, smoother.
    font = _font(font_path, CHAR_DOTS * line.height)
    glyph_width = max(1, round(font.getlength(line.text)))
    pitch = max(LINE_DOTS, CHAR_DOTS * line.height + 6)
    block = Image.new("L", (glyph_width, pitch), 255)
    ImageDraw.Draw(block).text(
        (0, pitch - CHAR_DOTS * line.height - 3),
        line.text,
        font=font,
        fill=0,
        stroke_width=1 if line.bold else 0,
        stroke_fill=0,
    )
    if line.width != line.height:
        block = block.resize((max(1, glyph_width * line.width // line.height), pitch))
    return block


def _qr_block(item: QrCode) -> Image.Image:
    code = qrcode.QRCode(
        error_correction=_QR_LEVELS.get(item.error_correction, qrcode.constants.ERROR_CORRECT_M),
        box_size=item.module_size,
        border=4,
    )
    code.add_data(item.data)
    code.make(fit=True)
    image: Image.Image = code.make_image(fill_color="black", back_color="white").get_image()
    return image.convert("L")


def _raster_block(item: Raster) -> Image.Image:
    image = item.image
    # ESC/POS raster: 1 = black, MSB first; Pillow's "1;I" raw mode reads exactly that.
    bitmap = Image.frombytes("1", (image.width_px, image.height_px), image.data, "raw", "1;I")
    size = (image.width_px * item.width, image.height_px * item.height)
    return bitmap.convert("L").resize(size, Image.Resampling.NEAREST)


@lru_cache(maxsize=16)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)
