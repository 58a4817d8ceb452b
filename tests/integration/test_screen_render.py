"""The TV screen drawn by real pygame under the dummy SDL driver, compared with reference PNGs.

Regenerate the references (and the README screenshots) after an intended change with:
    HALLCTL_UPDATE_SCREEN_REFS=1 .venv/bin/pytest tests/integration/test_screen_render.py
then look at tests/integration/screen_refs/*.png before committing them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from devices.screen.pygame_screen import (
    DEFAULT_FONT_PATH,
    FONT_ENV,
    SceneDrawer,
    ScreenFontError,
    font_choice,
    save_png,
)
from display.scene import Scene, Text
from display.tv_layout import NAVY, render_scene
from tests.required_parts import require_part
from tests.screen_samples import SampleHall, busy_hall, emergency_hall

REFS = Path(__file__).parent / "screen_refs"
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
UPDATE = os.environ.get("HALLCTL_UPDATE_SCREEN_REFS") == "1"
# Mean absolute difference per channel (0-255) and share of pixels off by more than 64: loose
# enough for FreeType hinting differences between versions, tight enough to catch a moved box.
MAX_MEAN_DIFF = 1.5
MAX_CHANGED_SHARE = 0.005


def _sample(name: str) -> tuple[Callable[[], SampleHall], bool, str | None]:
    """The sample hall, whether the link is down, and the README screenshot it also makes."""
    return {
        "tv-screen": (busy_hall, False, "tv-screen.png"),
        "tv-screen-emergency": (emergency_hall, False, "tv-screen-emergency.png"),
        "tv-screen-30-windows-offline": (lambda: busy_hall(extra_windows=18), True, None),
    }[name]


@pytest.fixture(autouse=True)
def _headless(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real display or sound card: SDL's dummy drivers, and the font the screen needs."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    require_part(
        "WenQuanYi Zen Hei font",
        DEFAULT_FONT_PATH.is_file(),
        "scripts/install.sh installs the Debian package fonts-wqy-zenhei",
    )


@pytest.mark.parametrize(
    "name",
    ["tv-screen", "tv-screen-emergency", "tv-screen-30-windows-offline"],
)
def test_screen_matches_its_reference(name: str, tmp_path: Path) -> None:
    make, connection_lost, screenshot = _sample(name)
    hall = make()
    scene = render_scene(hall.snapshot(), hall.now, connection_lost=connection_lost)
    actual = save_png(scene, tmp_path / f"{name}.png")
    reference = REFS / f"{name}.png"
    if UPDATE:
        REFS.mkdir(exist_ok=True)
        shutil.copyfile(actual, reference)
        if screenshot:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(actual, SCREENSHOTS / screenshot)
    assert reference.is_file(), f"no reference {reference}: run with HALLCTL_UPDATE_SCREEN_REFS=1"
    mean, changed = _difference(actual, reference)
    assert mean <= MAX_MEAN_DIFF and changed <= MAX_CHANGED_SHARE, (
        f"{name}: mean diff {mean:.2f}, {changed:.2%} pixels changed; see {actual}"
    )


def test_chinese_is_really_drawn_not_empty_boxes(tmp_path: Path) -> None:
    text = Text("请到窗口", 0, 0, 400, 120, 100, (255, 255, 255), "center")
    drawn = _draw(Scene(400, 120, NAVY, (text,)))
    box = Text("\u25a1\u25a1\u25a1\u25a1", 0, 0, 400, 120, 100, (255, 255, 255), "center")
    empty = _draw(Scene(400, 120, NAVY, (box,)))
    assert _ink(drawn) > 3000  # strokes, not the outline of four squares
    assert ImageStat.Stat(ImageChops.difference(drawn, empty)).mean[0] > 5


def test_text_wider_than_its_box_is_shrunk_not_spilled() -> None:
    too_wide = Text("A012 号到窗口办理", 100, 20, 200, 80, 80, (255, 255, 255), "left")
    image = _draw(Scene(400, 120, NAVY, (too_wide,)))
    assert _ink(image.crop((0, 0, 98, 120))) == 0 and _ink(image.crop((302, 0, 400, 120))) == 0
    assert _ink(image.crop((100, 0, 300, 120))) > 500


def test_clipped_text_stays_in_its_lane() -> None:
    text = Text("通知" * 30, -300, 0, 1800, 100, 60, (255, 255, 255), clip=(100, 0, 200, 100))
    image = _draw(Scene(400, 100, NAVY, (text,)))
    assert _ink(image.crop((0, 0, 99, 100))) == 0 and _ink(image.crop((301, 0, 400, 100))) == 0
    assert _ink(image.crop((100, 0, 300, 100))) > 500


def test_a_missing_font_is_a_clear_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "fonts" / "wqy-zenhei.ttc"
    with pytest.raises(ScreenFontError) as err:
        save_png(Scene(10, 10, NAVY), tmp_path / "x.png", font=font_choice(missing))
    assert err.value.path == missing
    assert str(missing) in str(err.value) and "fonts-wqy-zenhei" in str(err.value)
    assert not (tmp_path / "x.png").exists()


def test_a_font_without_chinese_is_refused_not_drawn_as_boxes(tmp_path: Path) -> None:
    latin = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not latin.is_file():
        pytest.skip("DejaVu Sans is not installed")
    with pytest.raises(ScreenFontError, match="no Chinese glyphs"):
        SceneDrawer(font_choice(latin))
    not_a_font = tmp_path / "notes.ttf"
    not_a_font.write_text("hello", encoding="utf-8")
    with pytest.raises(ScreenFontError, match="cannot be loaded"):
        SceneDrawer(font_choice(not_a_font))


def test_the_font_is_chosen_by_path_argument_then_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(FONT_ENV, raising=False)
    assert font_choice() == font_choice(DEFAULT_FONT_PATH)
    assert font_choice().index == 1  # wqy-zenhei's Mono face: digits as wide as the layout thinks
    monkeypatch.setenv(FONT_ENV, str(tmp_path / "env.ttc"))
    assert font_choice().path == tmp_path / "env.ttc" and font_choice().index == 0
    assert font_choice(tmp_path / "arg.otf", 2).path == tmp_path / "arg.otf"


def _draw(scene: Scene) -> Image.Image:
    import pygame

    surface = SceneDrawer().surface(scene)
    raw = pygame.image.tobytes(surface, "RGB")
    return Image.frombytes("RGB", (scene.width, scene.height), raw)


def _ink(image: Image.Image) -> int:
    """Pixels clearly brighter than the navy background."""
    return sum(image.convert("L").histogram()[129:])


def _difference(actual: Path, reference: Path) -> tuple[float, float]:
    with Image.open(actual) as a, Image.open(reference) as b:
        assert a.size == b.size, f"size {a.size} != reference {b.size}"
        diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    mean = sum(ImageStat.Stat(diff).mean) / 3
    changed = sum(diff.convert("L").histogram()[65:])
    return mean, changed / (diff.width * diff.height)


@pytest.mark.parametrize("windowed", [True, False])
def test_the_in_controller_screen_draws_the_runtime_and_stops_cleanly(
    tmp_path: Path, windowed: bool
) -> None:
    from controller.app.clock import ManualClock
    from controller.app.journal import Journal
    from controller.app.runtime import HallRuntime
    from controller.app.screen_runner import LocalScreen
    from controller.domain import commands as cmd
    from controller.settings.config_loader import load_config
    from tests.conftest import EXAMPLE_CONFIG, hall_time
    from tests.screen_helpers import wait_for

    runtime = HallRuntime(
        load_config(EXAMPLE_CONFIG),
        Journal.at_path(tmp_path / "hall.db"),
        ManualClock(hall_time("09:00")),
    )
    screen = LocalScreen(runtime, windowed=windowed)
    frames: list[Scene] = []
    screen.on_frame = frames.append
    screen.start()
    try:
        wait_for(lambda: frames, what="the first frame")
        runtime.execute(cmd.SignIn(1, "S0101", "A"))
        runtime.execute(cmd.IssueTicket("SB"))
        runtime.execute(cmd.CallNext(1))
        wait_for(
            lambda: [t.text for t in frames[-1].texts("latest-number")] == ["A001"],
            what="the call on the in-controller screen",
        )
    finally:
        screen.stop()
        runtime.hub.stop()
        runtime.journal.close()
    assert screen.error is None
