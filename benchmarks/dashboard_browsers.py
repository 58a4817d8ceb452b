"""Real dashboards for bench_dashboard_latency: headless Debian Chromium pages watching the DOM."""

from __future__ import annotations

import shutil
import time
from typing import Any

from benchmarks.dashboard_clients import TOKEN, WAIT_SECONDS

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Stamps each called number the first time a window card shows it (before paint).
DOM_WATCH = """
window.__seen = {};
new MutationObserver(() => {
  const t = performance.timeOrigin + performance.now();
  for (const node of document.querySelectorAll("#windows .current")) {
    const n = node.textContent;
    if (n && n !== "—" && !(n in window.__seen)) window.__seen[n] = t;
  }
}).observe(document, { childList: true, subtree: true, characterData: true });
"""


class Browsers:
    """K dashboards in headless Chromium, each in its own context, watching the DOM."""

    def __init__(self, base: str, count: int) -> None:
        from playwright.sync_api import sync_playwright

        path = shutil.which("chromium") or "/usr/bin/chromium"
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        self.pages = []
        for _ in range(count):
            context = self._browser.new_context()
            context.add_init_script(DOM_WATCH)
            page = context.new_page()
            page.goto(f"{base}/dashboard#token={TOKEN}")
            page.wait_for_selector("#windows .window-card", timeout=WAIT_SECONDS * 1000)
            self.pages.append(page)
        self.offsets = [self._offset(page) for page in self.pages]

    @staticmethod
    def _offset(page: Any) -> float:
        """Seconds to add to a page's `performance` time (ms) / 1000 to get time.monotonic()."""
        best: tuple[float, float] = (float("inf"), 0.0)
        for _ in range(5):
            before = time.monotonic()
            page_now = float(page.evaluate("performance.timeOrigin + performance.now()")) / 1000
            after = time.monotonic()
            best = min(best, (after - before, (before + after) / 2 - page_now))
        return best[1]

    def wait(self, number: str) -> None:
        """Wait until every page's window cards have shown `number`."""
        for page in self.pages:
            page.wait_for_function(
                "n => n in window.__seen", arg=number, polling=10, timeout=WAIT_SECONDS * 1000
            )

    def seen(self) -> list[dict[str, float]]:
        """Per page: number -> time.monotonic() it first appeared in the DOM."""
        return [
            {n: t / 1000 + offset for n, t in page.evaluate("window.__seen").items()}
            for page, offset in zip(self.pages, self.offsets, strict=True)
        ]

    def close(self) -> None:
        """Close Chromium and Playwright."""
        self._browser.close()
        self._playwright.stop()
