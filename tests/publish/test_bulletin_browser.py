"""The bulletin as a reader sees it, in headless Chromium with the network cut: opened from disk, every chart drawn
with its caption, a suppressed cell not plotted. Screenshots land in test-output/browser/ for the record."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import generated_night

from wfm.config import PROJECT_DIR, Home
from wfm.publish import exports
from wfm_tools.browser import browser, offline_page, screenshot

OUTPUT = PROJECT_DIR / "test-output" / "browser"
FIGURES = ("value", "numerator", "denominator", "se", "ci_lower", "ci_upper", "cv")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """The generator's demo data through a whole night: its publication, bulletin included."""
    home, _ = generated_night(7, tmp_path_factory.mktemp("bulletin"))
    return home


def charts_as_drawn(page: object) -> list[dict]:
    """Each figure of the page: its id, the size of its chart, how many marks it draws, its caption."""
    return page.eval_on_selector_all(
        "figure",
        """figures => figures.map(f => {
            const svg = f.querySelector('svg');
            const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
            return {id: f.id, width: box.width, height: box.height,
                    marks: f.querySelectorAll('g[id^="cell-"] path, g[id^="cell-"] use').length,
                    caption: (f.querySelector('figcaption') || {}).innerText || ''};
        })""",
    )


def test_the_bulletin_opens_offline_with_every_chart_and_its_caption(published: Home) -> None:
    page_file = (published.published / "exports" / "bulletin.html").resolve()
    with browser() as context:
        visit = offline_page(context)
        visit.page.goto(page_file.as_uri())
        drawn = charts_as_drawn(visit.page)
        screenshot(visit.page, OUTPUT / "bulletin.png", full_page=True)
        fonts = visit.page.evaluate("document.fonts.check('12px \"Noto Sans CJK SC\"')")
    assert {c["id"] for c in drawn} >= {"fig-craftsmen", "fig-rule-EDU02", "fig-rule-LAB02", "fig-survey-TRN01"}
    for chart in drawn:
        assert chart["width"] > 200 and chart["height"] > 100, chart
        assert chart["marks"] > 0, f"{chart['id']} draws nothing"
        assert len(chart["caption"]) > 20, chart
    assert visit.external == []
    assert fonts


def test_a_suppressed_cell_is_not_plotted(published: Home, tmp_path: Path) -> None:
    """A province's TRN01 made confidential in a copy of the snapshot (figures nulled, as the build does): the
    rebuilt bulletin draws no point or interval for it and says suppressed where it would be."""
    snapshot = tmp_path / "marts.duckdb"
    shutil.copy2((published.published / "marts.duckdb").resolve(), snapshot)
    con = duckdb.connect(str(snapshot))
    try:
        member = con.execute(
            "SELECT member FROM indicator_values WHERE indicator_code = 'TRN01' AND breakdown = 'province' "
            "AND value IS NOT NULL ORDER BY member LIMIT 1"
        ).fetchone()[0]
        con.execute(
            f"UPDATE indicator_values SET conf_status = 'C', {', '.join(f'{c} = NULL' for c in FIGURES)} "
            "WHERE indicator_code = 'TRN01' AND breakdown = 'province' AND member = ?",
            [member],
        )
    finally:
        con.close()
    files = exports.write_exports(snapshot, tmp_path / "exports", version="suppressed")
    page_file = next(p for p in files if p.name == "bulletin.html")
    with browser() as context:
        visit = offline_page(context)
        visit.page.goto(page_file.as_uri())
        figure = visit.page.locator("#fig-survey-TRN01")
        assert figure.locator(f'[id="cell-survey_TRN01-{member}"]').count() == 0
        assert figure.locator(f'[id="interval-survey_TRN01-{member}"]').count() == 0
        assert figure.locator('[id^="cell-survey_TRN01-"]').count() > 0
        reason = figure.locator(f'[id="nofigure-survey_TRN01-{member}"]')
        assert reason.count() == 1 and reason.is_visible() and "suppressed" in reason.text_content()
        row = visit.page.locator('table[aria-label="fig-survey-TRN01"] tr', has_text="suppressed")
        assert row.count() == 1 and row.locator("td").nth(1).inner_text() == "已抑制 suppressed"
        figure.screenshot(path=str(OUTPUT / "bulletin-suppressed-cell.png"))
    assert visit.external == []
