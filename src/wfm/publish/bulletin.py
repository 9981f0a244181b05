"""The monitoring bulletin: one self-contained HTML page per publication, in Chinese with English labels.

Written by `wfm.publish.exports` beside the other export files (`exports/bulletin.html`) from the same masked
view of the snapshot, so it shows exactly what the snapshot shows and never a figure of a suppressed cell. It
opens from disk with no network: no script at all, styles inline, charts as inline SVG (`charts`), text drawn with
the reader's own fonts. Sections:

1. the three craftsmen counts (TAL01–TAL03) against the straight-line path to their 2035 targets;
2. the 60 % frontline-training rule (EDU02) and the 10 % dispatch cap (LAB02), nationally and by province;
3. the main survey indicators by province with their 95 % intervals, low-reliability cells marked;
4. what changed since the previous publication;
5. how to read the status codes.

Every chart is a `<figure>` with a caption, followed by a table of its numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path

import duckdb

from wfm.publish import charts
from wfm.publish.bulletin_read import CV_LOW, Bulletin, Target, e, figure, number, shown, status, table
from wfm.publish.charts import Cell
from wfm.warehouse import sql_literal

CRAFTSMEN = ("TAL01", "TAL02", "TAL03")
#: (indicator, statistic) of the compliance section: the frontline-training rule and the dispatch cap.
RULES = ("EDU02", "LAB02")
#: The survey indicators charted by province: (indicator, statistic of the member, '' for none).
SURVEY = (("TRN01", ""), ("LAB01", ""), ("HRS01", ""), ("WAG01", "P50"))
REVISIONS_SHOWN = 40


def craftsmen_section(b: Bulletin, targets: Mapping[str, Target]) -> str:
    panels, rows = [], []
    for code in CRAFTSMEN:
        target = targets.get(code)
        if target is None:
            continue
        points = b.con.execute(
            "SELECT period, value, obs_status, conf_status FROM masked WHERE indicator_code = ? AND source = 'E' "
            "AND breakdown = 'national' AND member = 'CN' ORDER BY period",
            [code],
        ).fetchall()
        series = [(int(period[:4]), value) for period, value, _, _ in points]
        title = b.registry[code]["name_zh"] + " " + b.registry[code]["name_en"]
        panels.append(
            (code, title, target.value, (target.base_year, target.path(target.base_year)), target.target_year, series)
        )
        for period, value, obs, conf in points:
            cell = Cell("CN", "", value, obs_status=obs, conf_status=conf)
            path = target.path(int(period[:4]))
            gap = None if value is None else value - path
            rows.append(
                [
                    e(b.name(code)),
                    e(period),
                    shown(cell, 0),
                    number(path, 0),
                    number(gap, 0),
                    number(target.value, 0),
                    status(cell),
                ]
            )
    if not panels:
        return "<p>本期无工匠数据。No craftsmen counts in this publication.</p>"
    svg = b.charts.draw(charts.craftsmen_path, "craftsmen", panels)
    last = targets[CRAFTSMEN[0]].target_year
    caption = (
        f"图1 大国工匠、省级工匠、市级工匠人数与到{last}年目标的直线路径。Figure 1: the three craftsmen counts "
        f"(enterprise returns, national) against the straight line from the base year to the {last} targets."
    )
    header = ["指标 indicator", "期 period", "人数 count", "路径 path", "差距 gap", "目标 target", "状态 status"]
    return figure("fig-craftsmen", svg, caption, table(header, rows))


def _threshold(text: str | None) -> tuple[str, float] | None:
    found = re.match(r"\s*(>=|<=|>|<)\s*([0-9.]+)", text or "")
    return (found.group(1), float(found.group(2))) if found else None


def compliance_section(b: Bulletin) -> str:
    parts = []
    for n, code in enumerate(RULES, start=2):
        rule = _threshold(b.registry.get(code, {}).get("threshold"))
        cells = b.cells(code, "E", "province")
        if rule is None or not cells:
            continue
        comparison, threshold = rule
        compliance = {c.member: c for _, c in b.cells(code, "E", "province", "compliance")}
        meets = charts._comparison(comparison)
        national = b.national(code, "E")
        national_share = b.national(code, "E", "compliance")
        failing = [c.label for _, c in cells if c.no_figure is None and not meets(c.value, threshold)]
        unit = b.registry[code]["unit"]
        svg = b.charts.draw(
            charts.by_province_bars,
            f"rule-{code}",
            [c for _, c in cells],
            threshold=threshold,
            comparison=comparison,
            unit=unit,
        )
        caption = (
            f"图{n} {e(b.name(code))}，分省（{e(cells[0][0])}，企业报表），"
            f"规则 rule {e(comparison)} {threshold:g} {e(unit)}；"
            f"全国 national {shown(national) if national else '—'} {e(unit)}，达标企业比例 enterprises complying "
            f"{shown(national_share) if national_share else '—'} %。红色省份未达标 (red: provinces outside the rule): "
            f"{len(failing)}."
        )
        rows = []
        for _, cell in cells:
            ok = "" if cell.no_figure else ("是 yes" if meets(cell.value, threshold) else "否 no")
            share = compliance.get(cell.member)
            rows.append([e(cell.label), shown(cell), ok, shown(share) if share else "", status(cell)])
        header = [
            "省份 province",
            f"数值 value ({e(unit)})",
            "符合规则 meets rule",
            "达标企业比例 complying (%)",
            "状态 status",
        ]
        parts.append(figure(f"fig-rule-{code}", svg, caption, table(header, rows)))
    return "".join(parts) or "<p>本期无合规数据。No compliance figures in this publication.</p>"


def survey_section(b: Bulletin) -> str:
    parts = []
    for n, (code, statistic) in enumerate(SURVEY, start=2 + len(RULES)):
        cells = b.cells(code, "W", "province", statistic)
        if not cells:
            continue
        national = b.national(code, "W", statistic)
        unit = b.registry[code]["unit"]
        key = code + (f"_{statistic}" if statistic else "")
        svg = b.charts.draw(charts.by_province_intervals, f"survey-{key}", [c for _, c in cells], national, unit=unit)
        what = b.name(code) + (f" {b.label('statistic', statistic)}" if statistic else "")
        caption = (
            f"图{n} {e(what)}，分省（{e(cells[0][0])}，职工抽样调查），点为估计值，横线为95%置信区间；空心点标U为"
            f"可靠性低（U 或变异系数大于{b.cv_low:.1%}）。Figure {n}: survey estimate by province with its 95 % "
            f"interval; hollow points marked U are of low reliability (status U or a CV above {b.cv_low:.1%}); the "
            f"band is the national interval."
        )
        rows = [
            [e(c.label), shown(c), number(c.lower), number(c.upper), "U" if c.low_reliability else "", status(c)]
            for c in ([national] if national else []) + [c for _, c in cells]
        ]
        rows[0][0] = e(b.label("national", "CN")) if national else rows[0][0]
        header = [
            "省份 province",
            f"估计 estimate ({e(unit)})",
            "下限 lower 95 %",
            "上限 upper 95 %",
            "可靠性低 low reliability",
            "状态 status",
        ]
        parts.append(figure(f"fig-survey-{key}", svg, caption, table(header, rows)))
    return "".join(parts) or "<p>本期无调查数据。No survey figures in this publication.</p>"


def revisions_section(b: Bulletin, previous: Path | None) -> str:
    if previous is None:
        return "<p>首次发布，无修订。The first publication: nothing to compare with.</p>"
    b.con.execute(f"ATTACH {sql_literal(previous)} AS prev (READ_ONLY)")
    try:
        rows = b.con.execute(
            """
            WITH old AS (
                SELECT * REPLACE (CASE WHEN conf_status IN ('C', 'D') THEN NULL ELSE value END AS value)
                FROM prev.indicator_values
            )
            SELECT n.indicator_code, n.source, n.period, n.breakdown, n.member, o.value, o.obs_status,
                   o.conf_status, n.value, n.obs_status, n.conf_status
            FROM masked n JOIN old o USING (indicator_code, period, scope, source, breakdown, member)
            WHERE n.value IS DISTINCT FROM o.value OR n.obs_status <> o.obs_status OR n.conf_status <> o.conf_status
            ORDER BY n.breakdown <> 'national', abs(coalesce(n.value, 0) - coalesce(o.value, 0)) DESC,
                     n.indicator_code, n.member
            """
        ).fetchall()
        added = b.con.execute(
            "SELECT count(*) FROM masked n ANTI JOIN prev.indicator_values o "
            "USING (indicator_code, period, scope, source, breakdown, member)"
        ).fetchone()[0]
    finally:
        b.con.execute("DETACH prev")
    summary = (
        f"<p>与上一次发布相比：{len(rows)} 个单元格的数值或状态有修订，{added} 个为新增。Since the previous "
        f"publication, {len(rows)} cells were revised (value or status) and {added} are new.</p>"
    )
    if not rows:
        return summary
    shown_rows = []
    for code, source, period, breakdown, member, ov, oo, oc, nv, no, nc in rows[:REVISIONS_SHOWN]:
        old, new = (
            Cell(member, "", ov, obs_status=oo, conf_status=oc),
            Cell(member, "", nv, obs_status=no, conf_status=nc),
        )
        base, _, stat = member.partition("|")
        where = b.label(breakdown, base) + (f" {b.label('statistic', stat)}" if stat else "")
        shown_rows.append(
            [e(b.name(code)), e(source), e(period), e(where), shown(old, 2), status(old), shown(new, 2), status(new)]
        )
    header = ["指标 indicator", "来源 source", "期 period", "单元 cell", "原值 before", "原状态", "现值 now", "现状态"]
    more = (
        f"<p>（仅列前 {REVISIONS_SHOWN} 项 the first {REVISIONS_SHOWN} shown）</p>"
        if len(rows) > REVISIONS_SHOWN
        else ""
    )
    return summary + f'<table class="numbers" aria-label="revisions">{table(header, shown_rows)}</table>' + more


STATUS_TEXT = {
    ("obs_status", "A"): "正常发布。Published normally.",
    ("obs_status", "U"): "可靠性低：变异系数高于16.5%，谨慎使用；无数值时为可靠性过低未发布。Low reliability: use "
    "with care; without a value, withheld as too unreliable to publish.",
    ("obs_status", "P"): "初步数，期末后90天内可能修订。Provisional: may be revised until 90 days after the period.",
    ("conf_status", "F"): "可公开。Free for publication.",
    ("conf_status", "C"): "保密：样本或企业过少，不显示数值。Confidential: too few respondents or enterprises; "
    "no figure is shown.",
    ("conf_status", "D"): "二次抑制：防止由合计推算保密单元。Secondary suppression, so that a confidential cell "
    "cannot be recovered from a total.",
}


def statuses_section(b: Bulletin) -> str:
    rows = [[e(f"{lst} {code}"), e(b.label(lst, code)), e(text)] for (lst, code), text in STATUS_TEXT.items()]
    body = table(["代码 code", "名称 name", "含义 meaning"], rows)
    return (
        f'<table class="numbers" aria-label="statuses">{body}</table>'
        "<p>表中“状态”为 obs_status/conf_status。已抑制或未发布的单元格只显示原因，不显示数值或图形。"
        "In the tables, status is obs_status/conf_status. A suppressed or withheld cell shows its reason, never a "
        "number or a mark.</p>"
    )


CSS = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Zen Hei",
  sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.5; }
svg text { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
  "WenQuanYi Zen Hei", sans-serif !important; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid #ccc; margin-top: 2.5rem; }
figure { margin: 1.5rem 0 0.5rem; } figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.9rem; color: #444; }
table.numbers { border-collapse: collapse; font-size: 0.8rem; margin-bottom: 1.5rem; }
table.numbers td, table.numbers th { border: 1px solid #ddd; padding: 0.15rem 0.5rem; text-align: right; }
table.numbers td:first-child, table.numbers th:first-child { text-align: left; }
.meta { color: #666; font-size: 0.85rem; }
"""


def write_bulletin(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    version: str,
    vintage: str,
    targets: Mapping[str, Target] | None = None,
    previous: Path | None = None,
    cv_low: float | None = None,
    chart_cache: Path | None = None,
) -> Path:
    """Write the bulletin of the snapshot `con` holds (attached as `snap`, view `masked`) to `path`; `cv_low` is
    the publication rule in force (default 0.165), `previous` the snapshot of the publication before,
    `chart_cache` the folder where the charts are remembered (`charts.Charts`; None: every chart is drawn)."""
    b = Bulletin(con, CV_LOW if cv_low is None else cv_low, charts.Charts(chart_cache))
    made = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        ("craftsmen", "一、工匠队伍与2035年目标 Craftsmen and the 2035 targets", craftsmen_section(b, targets or {})),
        (
            "compliance",
            "二、一线职工培训经费与劳务派遣 The 60 % frontline rule and the 10 % dispatch cap",
            compliance_section(b),
        ),
        (
            "survey",
            "三、分省调查指标及其95%置信区间 Survey indicators by province, with 95 % intervals",
            survey_section(b),
        ),
        (
            "revisions",
            "四、与上次发布相比的修订 Revisions since the previous publication",
            revisions_section(b, previous),
        ),
        ("statuses", "五、如何阅读状态代码 How to read the statuses", statuses_section(b)),
    ]
    body = "\n".join(
        f'<section id="{sid}">\n<h2>{title}</h2>\n{content}\n</section>' for sid, title, content in sections
    )
    page = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>产业工人队伍监测简报 Industrial workforce monitoring bulletin</title>
<style>{CSS}</style>
</head>
<body>
<h1>产业工人队伍监测简报<br><small>Industrial workforce monitoring bulletin</small></h1>
<p class="meta">发布版本 version {e(version)} · 数据时点 vintage {e(vintage)} · 生成 made {made}</p>
{body}
</body>
</html>
"""
    path.write_text(page, encoding="utf-8")
    b.charts.keep_drawn()
    return path
