"""The bulletin from a small hand-made snapshot: every chart drawn with its caption and table, a suppressed cell
neither plotted nor given as a number, revisions against the previous publication, no external reference."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from wfm.publish import charts, exports
from wfm.publish.bulletin import write_bulletin
from wfm.publish.bulletin_read import Target

COLUMNS = (
    "indicator_code VARCHAR, period VARCHAR, scope VARCHAR, source VARCHAR, breakdown VARCHAR, member VARCHAR, "
    "value DOUBLE, numerator DOUBLE, denominator DOUBLE, n_unweighted BIGINT, se DOUBLE, ci_lower DOUBLE, "
    "ci_upper DOUBLE, cv DOUBLE, obs_status VARCHAR, conf_status VARCHAR, vintage TIMESTAMP"
)
PROVINCES = [("11", "北京市", "Beijing"), ("32", "江苏省", "Jiangsu"), ("44", "广东省", "Guangdong")]
TARGETS = {"TAL01": Target(2000, 2035, 2024), "TAL02": Target(10000, 2035, 2024), "TAL03": Target(50000, 2035, 2024)}
#: A figure the snapshot wrongly carries for a suppressed cell: it must appear nowhere in the bulletin.
LEAKED = 77.7123


def value_row(code, source, breakdown, member, value, *, ci=None, cv=None, obs="P", conf="F"):  # noqa: ANN001, ANN201
    lower, upper = ci or (None, None)
    return (code, "2026", "industrial", source, breakdown, member, value, None, None, 50, None, lower, upper, cv, obs,
            conf, "2026-12-01 00:00:00")  # fmt: skip


def make_snapshot(path: Path, *, trn01_beijing: float = 45.0) -> None:
    rows = [value_row(code, "E", "national", "CN", v) for code, v in (("TAL01", 4), ("TAL02", 28), ("TAL03", 159))]
    rows += [value_row("EDU02", "E", "national", "CN", 58.4), value_row("EDU02", "E", "national", "CN|compliance", 46)]
    rows += [value_row("LAB02", "E", "national", "CN", 5.6), value_row("LAB02", "E", "national", "CN|compliance", 90)]
    for n, (code, _, _) in enumerate(PROVINCES):
        rows.append(value_row("EDU02", "E", "province", code, 50.0 + 8 * n))
        rows.append(value_row("EDU02", "E", "province", f"{code}|compliance", 40.0 + n))
        rows.append(value_row("LAB02", "E", "province", code, 4.0 + 4 * n))
    rows.append(value_row("TRN01", "W", "national", "CN", 45.4, ci=(43.2, 47.7), cv=0.02))
    rows.append(value_row("TRN01", "W", "province", "11", trn01_beijing, ci=(40.0, 50.0), cv=0.05))
    rows.append(value_row("TRN01", "W", "province", "32", 52.0, ci=(30.0, 70.0), cv=0.2))  # low reliability
    rows.append(value_row("TRN01", "W", "province", "44", LEAKED, conf="C"))  # suppressed, figure left in
    con = duckdb.connect(str(path))
    try:
        con.execute(f"CREATE TABLE indicator_values ({COLUMNS})")
        con.executemany(f"INSERT INTO indicator_values VALUES ({', '.join(['?'] * 17)})", rows)
        con.execute(
            "CREATE TABLE indicator_registry (indicator_code VARCHAR, name_zh VARCHAR, name_en VARCHAR, unit VARCHAR, "
            "threshold VARCHAR, target_value DOUBLE)"
        )
        con.executemany(
            "INSERT INTO indicator_registry VALUES (?, ?, ?, ?, ?, ?)",
            [
                ("TAL01", "大国工匠人数", "national craftsmen", "persons", None, 2000),
                ("TAL02", "省级工匠人数", "provincial craftsmen", "persons", None, 10000),
                ("TAL03", "市级工匠人数", "municipal craftsmen", "persons", None, 50000),
                ("EDU02", "一线职工教育经费占比", "frontline share of education spend", "%", ">= 60.0 %", None),
                ("LAB02", "劳务派遣用工比例", "dispatched-worker share", "%", "<= 10.0 %", None),
                ("TRN01", "培训参与率", "training participation", "%", None, None),
            ],
        )
        con.execute(
            "CREATE TABLE code_labels (code_list VARCHAR, code VARCHAR, name_zh VARCHAR, name_en VARCHAR, "
            "label VARCHAR, sort_order INTEGER)"
        )
        labels = [("province", c, zh, en, f"{zh} ({en})", i) for i, (c, zh, en) in enumerate(PROVINCES)]
        labels.append(("national", "CN", "全国", "National", "全国 (National)", 1))
        con.executemany("INSERT INTO code_labels VALUES (?, ?, ?, ?, ?, ?)", labels)
    finally:
        con.close()


def bulletin(snapshot: Path, out: Path, previous: Path | None = None, chart_cache: Path | None = None) -> str:
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH '{snapshot}' AS snap (READ_ONLY)")
        exports._mask(con)
        write_bulletin(
            con,
            out,
            version="v2",
            vintage="2026-12-01",
            targets=TARGETS,
            previous=previous,
            chart_cache=chart_cache,
        )
    finally:
        con.close()
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("bulletin")
    make_snapshot(folder / "marts.duckdb")
    return bulletin(folder / "marts.duckdb", folder / "bulletin.html")


def test_every_chart_has_a_caption_and_a_table_of_its_numbers(page: str) -> None:
    figures = re.findall(r'<figure id="([^"]+)">\s*<svg.*?</svg>\s*<figcaption>(.+?)</figcaption>\s*</figure>\s*'
                         r'<table class="numbers"', page, flags=re.S)  # fmt: skip
    assert [f for f, _ in figures] == ["fig-craftsmen", "fig-rule-EDU02", "fig-rule-LAB02", "fig-survey-TRN01"]
    assert all(caption.strip() for _, caption in figures)
    assert page.count("<svg") == 4


def test_a_suppressed_cell_is_neither_plotted_nor_a_number(page: str) -> None:
    assert 'id="cell-survey_TRN01-11"' in page and 'id="cell-survey_TRN01-32"' in page
    assert 'id="cell-survey_TRN01-44"' not in page and 'id="interval-survey_TRN01-44"' not in page
    assert 'id="nofigure-survey_TRN01-44"' in page
    assert re.search(r"<td>广东省 \(Guangdong\)</td><td>已抑制 suppressed</td>", page)
    assert "77.7" not in page and "77,7" not in page


def test_low_reliability_is_marked_and_rules_are_judged(page: str) -> None:
    jiangsu = re.search(r"<tr><td>江苏省 \(Jiangsu\)</td><td>52.0</td>.*?</tr>", page).group(0)
    assert "<td>U</td>" in jiangsu  # CV 0.2 > 0.165
    # EDU02 ≥ 60: 50 and 58 miss it, 66 meets it; LAB02 ≤ 10: 4 and 8 meet it, 12 exceeds it
    assert re.search(r"<td>北京市 \(Beijing\)</td><td>50.0</td><td>否 no</td><td>40.0</td>", page)
    assert re.search(r"<td>广东省 \(Guangdong\)</td><td>66.0</td><td>是 yes</td>", page)
    assert re.search(r"<td>广东省 \(Guangdong\)</td><td>12.0</td><td>否 no</td>", page)


def test_craftsmen_are_read_against_the_straight_line_to_2035(page: str) -> None:
    assert TARGETS["TAL01"].path(2026) == pytest.approx(2000 * 2 / 11)
    assert TARGETS["TAL03"].path(2035) == pytest.approx(50000)
    assert re.search(r"大国工匠人数 \(national craftsmen\)</td><td>2026</td><td>4</td><td>364</td><td>-360</td>", page)


def test_the_page_needs_nothing_from_the_network(page: str) -> None:
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "url(http" not in page


def test_revisions_since_the_previous_publication(tmp_path: Path) -> None:
    make_snapshot(tmp_path / "before.duckdb", trn01_beijing=41.0)
    make_snapshot(tmp_path / "now.duckdb")
    page = bulletin(tmp_path / "now.duckdb", tmp_path / "bulletin.html", previous=tmp_path / "before.duckdb")
    assert "1 cells were revised" in page
    assert re.search(r"<td>培训参与率 \(training participation\)</td><td>W</td><td>2026</td><td>北京市 \(Beijing\)</td>"
                     r"<td>41.00</td><td>P/F</td><td>45.00</td>", page)  # fmt: skip
    first = bulletin(tmp_path / "now.duckdb", tmp_path / "first.html")
    assert "The first publication" in first


def test_a_chart_is_drawn_again_only_when_its_figures_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The charts remembered from the last publication are reused while their figures stay the same: the page is
    the one drawn without them, and only a chart whose figures changed is drawn again."""
    made = re.compile(r"生成 made [^<]*")
    make_snapshot(tmp_path / "before.duckdb")
    make_snapshot(tmp_path / "now.duckdb", trn01_beijing=41.0)
    cache = tmp_path / "cache"
    drawn: list[str] = []
    for name in ("craftsmen_path", "by_province_bars", "by_province_intervals"):
        chart = getattr(charts, name)
        monkeypatch.setattr(charts, name, lambda *a, _chart=chart, **k: drawn.append(a[0]) or _chart(*a, **k))
    first = bulletin(tmp_path / "before.duckdb", tmp_path / "first.html", chart_cache=cache)
    assert sorted(drawn) == ["craftsmen", "rule-EDU02", "rule-LAB02", "survey-TRN01"]
    assert len(list(cache.iterdir())) == 4
    drawn.clear()
    again = bulletin(tmp_path / "before.duckdb", tmp_path / "again.html", chart_cache=cache)
    assert drawn == []
    assert made.sub("", again) == made.sub("", first)
    now = bulletin(tmp_path / "now.duckdb", tmp_path / "now.html", chart_cache=cache)
    assert drawn == ["survey-TRN01"]  # Beijing's training rate changed; the other charts are remembered
    fresh = bulletin(tmp_path / "now.duckdb", tmp_path / "fresh.html")
    assert made.sub("", now) == made.sub("", fresh)
    assert len(list(cache.iterdir())) == 4  # the chart no longer shown is gone
