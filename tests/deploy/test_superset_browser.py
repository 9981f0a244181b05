"""`make bi` as an analyst sees it: Superset's login works, the overview dashboard loads without a chart error, and
its TRN01 headline is the national value of the published snapshot. Superset runs from `.bi/venv` (`make bi`
builds it) with its state in a folder of the test's own, on port 28088; the screenshot lands in
test-output/browser/."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest
from conftest import generated_night

from wfm.config import PROJECT_DIR, Home
from wfm_tools.browser import browser, screenshot

OUTPUT = PROJECT_DIR / "test-output" / "browser"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def superset(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    root = tmp_path_factory.mktemp("bi")
    home, _ = generated_night(11, root)
    env = {**os.environ, "WFM_HOME": str(home.root), "WFM_BI_DIR": str(root / "bi"), "WFM_BI_PORT": "28088"}
    up = subprocess.run(["make", "-C", str(PROJECT_DIR), "bi"], env=env, capture_output=True, text=True)
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        from wfm_tools import bi

        yield home, bi.read_env(root / "bi")
    finally:
        subprocess.run([sys.executable, "-m", "wfm_tools.bi", "down"], env=env, capture_output=True, text=True)


def national(home: Home, code: str, source: str) -> float:
    con = duckdb.connect(str(home.published / "marts.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT value FROM indicator_values WHERE indicator_code = ? AND source = ? AND breakdown = 'national' "
            "AND member = 'CN' ORDER BY period DESC LIMIT 1",
            [code, source],
        ).fetchone()[0]
    finally:
        con.close()


def test_the_overview_dashboard_shows_the_published_trn01(superset) -> None:  # noqa: ANN001
    from wfm_tools import bi

    home, env = superset
    assert env["SUPERSET_URL"] == "http://127.0.0.1:28088" and env["SUPERSET_USER"] and env["SUPERSET_PASSWORD"]
    with browser(width=1400, height=1000) as context:
        page = context.new_page()
        bi.login(page, env)
        assert "/login" not in page.url
        bi.open_dashboard(page, env, "overview")
        errors = page.locator(".dashboard-chart .alert-danger, [data-test=chart-error], .ant-alert-error")
        assert errors.count() == 0, errors.all_inner_texts()
        charts = page.locator(".dashboard-chart")
        assert charts.count() == 5
        trn01 = page.locator("[data-test=dashboard-component-chart-holder]", has_text="TRN01").locator(".header-line")
        assert trn01.inner_text().strip() == f"{national(home, 'TRN01', 'W'):,.1f}"
        screenshot(page, OUTPUT / "superset-overview.png")


def test_every_theme_has_a_dashboard_that_loads(superset) -> None:  # noqa: ANN001
    from wfm_tools import bi

    _, env = superset
    with browser(width=1400, height=1000) as context:
        page = context.new_page()
        bi.login(page, env)
        bi.open_dashboard(page, env, "safety")
        assert page.locator(".dashboard-chart").count() == 2
        assert page.locator("[data-test=chart-error], .ant-alert-error").count() == 0
        assert page.get_by_text("北京市 (Beijing)").count() > 0  # members labelled from code_labels


def test_a_new_publication_shows_on_the_next_refresh(superset) -> None:  # noqa: ANN001
    """Publish a version whose national TRN01 differs (changed in the warehouse's marts, then `wfm publish`):
    the dashboard shows it on reload, Superset not restarted: no connection kept the old version open."""
    from wfm_tools import bi

    home, env = superset
    before = national(home, "TRN01", "W")
    con = duckdb.connect(str(home.warehouse))
    try:
        con.execute(
            "UPDATE marts.indicator_values SET value = value + 1.25 WHERE indicator_code = 'TRN01' AND source = 'W' "
            "AND breakdown = 'national' AND member = 'CN'"
        )
    finally:
        con.close()
    done = subprocess.run(
        [sys.executable, "-m", "wfm.cli", "--home", str(home.root), "publish"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert national(home, "TRN01", "W") == pytest.approx(before + 1.25)
    with browser(width=1400, height=1000) as context:
        page = context.new_page()
        bi.login(page, env)
        bi.open_dashboard(page, env, "overview")
        trn01 = page.locator("[data-test=dashboard-component-chart-holder]", has_text="TRN01").locator(".header-line")
        assert trn01.inner_text().strip() == f"{before + 1.25:,.1f}"
