"""The validation report as an operator on an intranet sees it: Data Docs opened from disk in headless Chromium with
the network cut show their results (styled, tables filled by their scripts) and ask nothing of the internet."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import enterprise_rows, survey_rows, write_csv

from wfm.config import PROJECT_DIR, Home
from wfm_tools.browser import browser, offline_page, screenshot

OUTPUT = PROJECT_DIR / "test-output" / "browser"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    home = Home.resolve(tmp_path_factory.mktemp("docs") / "home").ensure()
    write_csv(home.inbox("survey") / "wave_a.csv", survey_rows(60))
    write_csv(home.inbox("enterprise") / "returns_a.csv", enterprise_rows(12), source="enterprise")
    done = subprocess.run(
        [sys.executable, "-m", "wfm.cli", "--home", str(home.root), "run"],
        env={**os.environ, "WFM_DEMO": "1", "WFM_SETTLE_SECONDS": "0"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return home.gx / "uncommitted" / "data_docs" / "local_site"


def open_offline(context, path):  # noqa: ANN001, ANN201
    visit = offline_page(context)
    errors: list[str] = []
    visit.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    visit.page.on("pageerror", lambda exc: errors.append(str(exc)))
    visit.page.goto(path.resolve().as_uri())
    visit.page.wait_for_load_state("load")
    return visit, errors


def test_the_index_lists_the_validations_offline(site) -> None:  # noqa: ANN001
    with browser() as context:
        visit, errors = open_offline(context, site / "index.html")
        rows = visit.page.locator("table.ge-index-page-validation-results-table tbody tr")
        assert rows.count() >= 3  # two batches and the marts, filled in by bootstrap-table
        assert visit.page.evaluate("typeof jQuery === 'function' && typeof vegaEmbed === 'function'")
        screenshot(visit.page, OUTPUT / "data-docs-index.png")
    assert visit.external == [] and errors == []


def test_a_validation_page_shows_its_results_offline(site) -> None:  # noqa: ANN001
    page = next(p for p in site.glob("validations/**/*.html") if "marts" in p.as_posix())
    with browser() as context:
        visit, errors = open_offline(context, page)
        body_font = visit.page.evaluate("getComputedStyle(document.body).fontFamily")
        assert "Times" not in body_font  # Bootstrap's style sheet is applied
        icons = visit.page.evaluate(
            "getComputedStyle(document.querySelector('.fa, .fas, .far, .fab, .fa-solid')).fontFamily"
        )
        assert "Font Awesome" in icons
        tables = visit.page.locator("table.table-bordered")
        assert tables.count() > 0 and visit.page.locator("table.table-bordered tbody tr").count() > 0
        assert (
            visit.page.get_by_text("Succeeded", exact=False).count()
            + visit.page.get_by_text("Failed", exact=False).count()
            > 0
        )
        screenshot(visit.page, OUTPUT / "data-docs-validation.png", full_page=True)
        html = page.read_text(encoding="utf-8")
    assert visit.external == [] and errors == []
    assert "dataContextId" not in html and "great-expectations-web-assets" not in html
