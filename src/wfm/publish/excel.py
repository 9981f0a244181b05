"""One of the exports `wfm.publish.exports` writes from a new snapshot, the last step of the flow: the Excel
workbook `headline_tables.xlsx`, with the national value of every indicator for its latest period, a
sheet per theme, and a README sheet that explains the columns, the statuses and the rules in force."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from wfm.publish.safety import FORMULA_TRIGGERS, check_no_suppressed_figures
from wfm.publish.sdmx import unit_of


@dataclass(frozen=True)
class Rules:
    """The publication rules in force (seed publication_rules), for the README sheet; None when unknown."""

    values: Mapping[str, float] | None = None

    def get(self, rule: str) -> str | None:
        if not self.values or rule not in self.values:
            return None
        value = self.values[rule]
        return f"{value:g}"


def _excel_text(value: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters XML cannot hold would abort the save


def _put(sheet: Any, row: int, column: int, value: Any) -> Any:
    """Write one cell: numbers as numbers, every text as a string cell (quote-prefixed if it looks like a formula)."""
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, str):
        text = _excel_text(value)
        cell.value = text
        cell.data_type = "s"  # openpyxl would store '=…' as a formula; a string cell is only ever text
        if text.startswith(FORMULA_TRIGGERS):
            cell.quotePrefix = True  # what Excel itself records for a typed leading apostrophe
    elif isinstance(value, dt.datetime):
        cell.value = value.isoformat(sep=" ", timespec="seconds")
        cell.data_type = "s"
    else:
        cell.value = value
    return cell


#: Columns of a headline sheet (named as in the snapshot, explained on the README sheet) and their display format;
#: the cell keeps the full value.
HEADLINE_COLUMNS = (
    ("indicator_code", None),
    ("name_zh", None),
    ("name_en", None),
    ("source", None),
    ("scope", None),
    ("period", None),
    ("member", None),
    ("value", "#,##0.00"),
    ("unit", None),
    ("se", "#,##0.000"),
    ("ci_lower", "#,##0.00"),
    ("ci_upper", "#,##0.00"),
    ("cv", "0.0%"),
    ("n_unweighted", "#,##0"),
    ("obs_status", None),
    ("conf_status", None),
    ("target_value", "#,##0.##"),
    ("quality_note", None),
)

_HEADLINE_SQL = """
    WITH national AS (
        SELECT *,
               dense_rank() OVER (
                   PARTITION BY indicator_code, source, scope
                   ORDER BY try_cast(left(period, 4) AS INTEGER) DESC NULLS LAST,
                            coalesce(try_cast(regexp_extract(period, 'Q([1-4])$', 1) AS INTEGER), 4) DESC,
                            (period NOT LIKE '%Q%') DESC
               ) AS recency
        FROM masked
        WHERE breakdown = 'national'
    )
    SELECT n.indicator_code, r.name_zh, r.name_en, n.source, n.scope, n.period, n.member, n.value, r.unit, n.se,
           n.ci_lower, n.ci_upper, n.cv, n.n_unweighted, n.obs_status, n.conf_status, r.target_value,
           n.quality_note, r.theme
    FROM national n LEFT JOIN snap.indicator_registry r USING (indicator_code)
    WHERE n.recency = 1
    ORDER BY n.indicator_code, n.source, n.scope, n.member
"""


def _readme_rows(vintage: str, version: str, rules: Rules) -> list[tuple[str, str, str]]:
    provisional = rules.get("provisional_days")
    cv_low, cv_suppress, min_n = (rules.get("cv_low"), rules.get("cv_suppress"), rules.get("min_n"))
    min_df = rules.get("min_df")
    withheld = (
        f"CV above {float(cv_suppress):.1%}, fewer than {min_df} design degrees of freedom, or no interval of "
        "positive width"
        if cv_suppress and min_df
        else "too unreliable"
    )
    withheld_zh = (
        f"CV 超过 {float(cv_suppress):.1%}、设计自由度少于 {min_df} 或区间宽度为零"
        if cv_suppress and min_df
        else "可靠性过低"
    )
    low = f"（CV {float(cv_low):.1%}–{float(cv_suppress):.1%}）" if cv_low and cv_suppress else ""
    low_en = f" (CV {float(cv_low):.1%}–{float(cv_suppress):.1%})" if cv_low and cv_suppress else ""
    p_days = f"报告期结束后 {provisional} 天内" if provisional else "报告期仍接受迟报期间"
    p_days_en = f"until {provisional} days after the period's last day" if provisional else "while the period is open"
    enterprises, top_n, top_k = (
        rules.get("threshold_min_enterprises"),
        rules.get("dominance_n"),
        rules.get("dominance_k"),
    )
    if min_n and enterprises and top_n and top_k:
        c_rule = f"调查：样本量少于 {min_n}；企业：少于 {enterprises} 家或前 {top_n} 家合计超过 {top_k}%"
        c_rule_en = (
            f"survey: fewer than {min_n} respondents; enterprises: "
            f"fewer than {enterprises}, or the {top_n} largest above {top_k} % of the cell"
        )
    else:
        c_rule, c_rule_en = "样本或企业过少，或少数企业占比过高", "too few respondents or enterprises, or dominance"
    return [
        ("产业工人队伍监测指标 · 主要表", "Industrial-workforce monitoring indicators · headline tables", ""),
        ("数据版本 vintage", vintage, "构建时间（UTC），与 published/current/manifest.json 一致"),
        ("发布版本 version", version, "published/versions/ 下的文件夹"),
        (
            "更新",
            "Refreshed nightly at 02:00 Asia/Shanghai after the build passes its checks",
            "每晚 02:00（北京时间）在构建通过校验后更新",
        ),
        ("", "", ""),
        ("工作表 sheet", "what it holds", "内容"),
        ("README", "this sheet", "本说明"),
        (
            "<theme>",
            "one sheet per dashboard theme: the national value of each of its indicators for its latest "
            "period, per source and scope",
            "每个主题一张表：各指标最新报告期的全国值（按来源、范围分列）",
        ),
        ("", "", ""),
        ("列 column", "meaning", "含义"),
        ("indicator_code", "indicator code (registry; SDMX code list CL_INDICATOR)", "指标代码"),
        ("name_zh / name_en", "indicator name", "指标名称"),
        (
            "source",
            "W survey estimate (sampling error: se, interval, cv); E enterprise returns (census: no "
            "sampling error, disclosure-controlled)",
            "W 抽样调查估计（有抽样误差）；E 企业报表（全面统计，经披露控制）",
        ),
        (
            "scope",
            "population described; industrial = sections B–E plus platform workers",
            "统计范围；industrial = B–E 门类及平台劳动者",
        ),
        ("period", "survey wave or report period (YYYY or YYYYQn)", "调查期或报告期"),
        (
            "member",
            "breakdown member: CN = national; after '|' the statistic (CN|P50, CN|progress …)",
            "分组：CN 为全国；'|' 后为统计量",
        ),
        (
            "value",
            "the estimate in the unit given; percentages as 0–100; empty when suppressed",
            "数值（百分比为 0–100）；保密单元格为空",
        ),
        ("unit", "unit of value", "计量单位"),
        ("se", "standard error (Taylor linearisation; Woodruff for quantiles)", "标准误"),
        ("ci_lower / ci_upper", "95 % confidence interval", "95% 置信区间"),
        ("cv", "coefficient of variation", "变异系数"),
        ("n_unweighted", "respondents (W) or enterprises (E) in the denominator", "分母中的受访者数或企业数"),
        ("target_value", "policy or legal target in force", "现行政策或法定目标值"),
        ("quality_note", "caveat on the cell", "质量说明"),
        ("", "", ""),
        ("状态 status", "meaning", "含义"),
        ("obs_status A", "normal value", "正常值"),
        (
            "obs_status U",
            f"low reliability{low_en}: use with caution; a survey cell too unreliable to publish ({withheld}) "
            "keeps its row with the value empty",
            f"可靠性低{low}，慎用；过于不可靠的调查单元格（{withheld_zh}）保留行，数值为空",
        ),
        ("obs_status P", f"provisional {p_days_en}: late returns may revise it", f"初步数：{p_days}可能因迟报修订"),
        ("conf_status F", "free for publication", "可公开"),
        ("conf_status C", f"confidential ({c_rule_en}): value and all figures empty", f"保密（{c_rule}），数值为空"),
        (
            "conf_status D",
            "secondary suppression (stops a C cell being recovered by subtraction): figures empty",
            "二次保密（防止通过相减推算保密单元格），数值为空",
        ),
        ("", "", ""),
        (
            "文本 text",
            "Text beginning with = + - @ is stored as text, never as a formula",
            "以 = + - @ 开头的文本按文本存储，不会成为公式",
        ),
    ]


def write_excel(path: Path, con: duckdb.DuckDBPyConnection, vintage: str, version: str, rules: Rules) -> None:
    """The headline workbook: README, then a sheet per theme of the national latest values."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    cur = con.execute(_HEADLINE_SQL)
    columns = [d[0] for d in cur.description]
    rows = cur.fetchall()
    check_no_suppressed_figures(columns, rows, path.name)
    book = Workbook()
    readme = book.active
    readme.title = "README"
    for r, line in enumerate(_readme_rows(vintage, version, rules), 1):
        for c, text in enumerate(line, 1):
            _put(readme, r, c, text)
    readme["A1"].font = Font(bold=True, size=13)
    for column, width in zip("ABC", (22, 70, 60), strict=True):
        readme.column_dimensions[column].width = width

    at = {c: i for i, c in enumerate(columns)}
    themes: dict[str, list[tuple]] = {}
    for row in rows:
        themes.setdefault(row[at["theme"]] or "other", []).append(row)
    for theme, theme_rows in themes.items():
        sheet = book.create_sheet(re.sub(r"[\[\]:*?/\\]", "_", theme)[:31])  # Excel's limits on sheet names
        for c, (name, _) in enumerate(HEADLINE_COLUMNS, 1):
            _put(sheet, 1, c, name).font = Font(bold=True)
        for r, row in enumerate(theme_rows, 2):
            for c, (name, number_format) in enumerate(HEADLINE_COLUMNS, 1):
                value = row[at[name]]
                if name == "unit":
                    value = unit_of(value, row[at["member"]])
                cell = _put(sheet, r, c, value)
                if number_format and isinstance(value, int | float):
                    cell.number_format = number_format
        sheet.freeze_panes = "B2"
        sheet.auto_filter.ref = sheet.dimensions
    book.save(path)
