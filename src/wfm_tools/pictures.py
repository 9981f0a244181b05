"""The README's pictures, taken in headless Chromium from what `make demo` wrote and `make bi` serves.

    python -m wfm_tools.pictures bulletin    # docs/img/bulletin.png from $WFM_HOME/published/exports/bulletin.html
    python -m wfm_tools.pictures dashboard   # docs/img/dashboard.png: the overview dashboard of `make bi`

Each picture is the first screen of the page, reduced to a small palette so that it stays small in the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wfm.config import PROJECT_DIR, Home
from wfm_tools.browser import browser, offline_page

IMAGES = PROJECT_DIR / "docs" / "img"


def shrink(path: Path, colours: int = 96) -> Path:
    """Quantise the screenshot to a palette PNG: a chart's flat colours survive, the file shrinks a lot."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    return path


def bulletin(home: Home, out: Path) -> Path:
    page_file = (home.published / "exports" / "bulletin.html").resolve()
    if not page_file.exists():
        raise SystemExit(f"no bulletin at {page_file}: run make demo first")
    with browser(width=1000, height=1100) as context:
        visit = offline_page(context)
        visit.page.goto(page_file.as_uri())
        out.parent.mkdir(parents=True, exist_ok=True)
        visit.page.screenshot(path=str(out))
    return shrink(out)


def dashboard(out: Path) -> Path:
    from wfm_tools import bi

    env = bi.read_env()
    with browser(width=1280, height=800) as context:
        page = context.new_page()
        bi.login(page, env)
        bi.open_dashboard(page, env, "overview")
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
    return shrink(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wfm_tools.pictures", description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=["bulletin", "dashboard"])
    which = parser.parse_args(argv).which
    out = (
        bulletin(Home.resolve(), IMAGES / "bulletin.png")
        if which == "bulletin"
        else dashboard(IMAGES / "dashboard.png")
    )
    print(f"{out} ({out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
