"""A headless browser as a reader would use one: Debian's Chromium driven by Playwright, with the network cut.

Used by the browser tests (`tests/*/test_*_browser.py`) and by `python -m wfm_tools.pictures`, which takes the
README's pictures. Playwright's own browser download cannot be used offline, so the executable is Debian's
`chromium` (`make test` installs it; `WFM_CHROMIUM` names another).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = os.environ.get("WFM_CHROMIUM", "/usr/bin/chromium")


@dataclass
class Visit:
    """A page and every request it made that left the machine (anything but file:, data: and about:)."""

    page: object
    external: list[str] = field(default_factory=list)


@contextlib.contextmanager
def browser(width: int = 1100, height: int = 900) -> Iterator[object]:
    """A Playwright browser context on Debian's Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = chromium.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
            yield context
            context.close()
        finally:
            chromium.close()


def offline_page(context: object, allow: tuple[str, ...] = ()) -> Visit:
    """A new page whose requests to anywhere but the disk (and the origins in `allow`) are refused and noted."""
    page = context.new_page()
    visit = Visit(page)

    def route(request_route: object) -> None:
        url = request_route.request.url
        if url.startswith(("file:", "data:", "about:", "blob:", *allow)):
            request_route.continue_()
        else:
            visit.external.append(url)
            request_route.abort("internetdisconnected")

    page.route("**/*", route)
    return visit


def screenshot(page: object, path: Path, *, full_page: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=full_page)
    return path
