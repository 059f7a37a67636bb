"""Browser helpers for tests: Debian's Chromium driven by Playwright (no browser download),
and a log of the page's console errors that a test must leave empty."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

CHROMIUM = Path("/usr/bin/chromium")
# Headless, offline and quiet: no GPU, no QUIC, no first-run, update or sync traffic.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


def require_chromium() -> None:
    """Skips the calling test when Playwright or Debian's chromium is missing."""
    pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip: playwright)"
    )
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, launched headless by Playwright, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class ConsoleLog:
    """The console errors and uncaught exceptions of a page. `expect(pattern)` allows the
    errors a test provokes on purpose (Chromium logs every failed HTTP request, e.g.
    "Failed to load resource: the server responded with a status of 404")."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            location: dict[str, Any] = message.location or {}
            self.errors.append(f"console.error: {message.text} ({location.get('url', '')})")

    def expect(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]
