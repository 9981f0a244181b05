"""Write the Superset assets kept in `bi/assets/` (Superset's import format v1): the snapshot's database, its
datasets, the charts and the dashboards — an overview and one per theme of the marts.

    python bi/make_assets.py     # rewrites bi/assets/ from the lists below (UUIDs derived from names: stable)

`make bi` imports the folder as it is; edit this file (or the YAML) and re-run `make bi` to change a dashboard.
The database's address is `{{ SNAPSHOT }}`, filled in by `make bi` with the home's `published/marts.duckdb`.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ASSETS = HERE / "assets"
NAMESPACE = uuid.UUID("6f1c8a52-8f0e-4a39-9a8a-2f6f0c1e5a27")
DATABASE = "wfm_snapshot"
THEMES = {
    "skills_and_craftsmen": "技能与工匠 Skills and craftsmen",
    "training_and_education_funds": "培训与教育经费 Training and education funds",
    "rights_and_contracts": "权益与合同 Rights and contracts",
    "pay_and_hours": "工资与工时 Pay and hours",
    "safety": "安全 Safety",
    "innovation": "创新 Innovation",
    "new_form_and_migrant_workers": "新就业形态与农民工 New forms of work and migrant workers",
}
VIRTUAL = {
    "national_latest": """
select r.theme, v.indicator_code, r.name_zh, r.name_en, v.source, v.period, v.member, v.value, v.ci_lower,
       v.ci_upper, r.unit, v.obs_status, v.conf_status
from indicator_values v join indicator_registry r using (indicator_code)
where v.breakdown = 'national'
qualify v.period = max(v.period) over (partition by v.indicator_code, v.source)
""",
    "values_labelled": """
select r.theme, v.indicator_code, r.name_zh, r.name_en, v.source, v.period, v.breakdown,
       coalesce(l.label, v.member) as member_label, coalesce(l.sort_order, 0) as member_order,
       split_part(v.member, '|', 2) as statistic, v.value, v.ci_lower, v.ci_upper, r.unit, v.obs_status,
       v.conf_status
from indicator_values v join indicator_registry r using (indicator_code)
left join code_labels l on l.code_list = v.breakdown and l.code = split_part(v.member, '|', 1)
""",
}
PHYSICAL = ("indicator_values", "indicator_registry", "code_labels", *THEMES)
#: The overview's headline numbers, national, latest period: (indicator, source, member, title).
HEADLINES = (
    ("TRN01", "W", "CN", "培训参与率 training participation, national (%)"),
    ("EDU02", "E", "CN", "一线职工教育经费占比 frontline share of education spend (%)"),
    ("LAB02", "E", "CN", "劳务派遣用工比例 dispatched-worker share (%)"),
    ("TAL01", "E", "CN", "大国工匠人数 national craftsmen"),
)
NATIONAL_COLUMNS = ["indicator_code", "name_zh", "name_en", "source", "period", "member", "value", "ci_lower",
                    "ci_upper", "unit", "obs_status", "conf_status"]  # fmt: skip
PROVINCE_COLUMNS = ["member_label", "indicator_code", "name_zh", "source", "period", "statistic", "value",
                    "ci_lower", "ci_upper", "unit", "obs_status", "conf_status"]  # fmt: skip


def uid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def where(column: str, value: str) -> dict:
    return {"clause": "WHERE", "expressionType": "SIMPLE", "subject": column, "operator": "==",
            "comparator": value, "filterOptionName": uid("filter", column, value)}  # fmt: skip


def dataset(name: str, sql: str | None = None) -> dict:
    return {
        "table_name": name,
        "main_dttm_col": None,
        "description": None,
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "schema": "main",
        "sql": sql.strip() if sql else None,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "uuid": uid("dataset", name),
        "metrics": [
            {
                "metric_name": "count",
                "verbose_name": "COUNT(*)",
                "metric_type": "count",
                "expression": "COUNT(*)",
                "description": None,
                "d3format": None,
                "extra": {},
                "warning_text": None,
            }
        ],  # fmt: skip
        "columns": [],  # read from the snapshot after the import (`make bi` refreshes every dataset)
        "version": "1.0.0",
        "database_uuid": uid("database", DATABASE),
    }


def chart(name: str, on: str, viz: str, params: dict) -> dict:
    return {
        "slice_name": name,
        "description": None,
        "certified_by": None,
        "certification_details": None,
        "viz_type": viz,
        "params": {"viz_type": viz, "datasource": f"{uid('dataset', on)}__table", **params},
        "query_context": None,
        "cache_timeout": None,
        "uuid": uid("chart", name),
        "version": "1.0.0",
        "dataset_uuid": uid("dataset", on),
    }


def table(name: str, on: str, columns: list[str], filters: list[dict], order: str) -> dict:
    return chart(name, on, "table", {"query_mode": "raw", "all_columns": columns, "adhoc_filters": filters,
                                     "order_by_cols": [f'["{order}", true]'], "row_limit": 10000,
                                     "server_pagination": False, "include_search": True,
                                     "table_timestamp_format": "smart_date"})  # fmt: skip


def big_number(code: str, source: str, member: str, title: str) -> dict:
    filters = [where("indicator_code", code), where("source", source), where("member", member)]
    metric = {"expressionType": "SQL", "sqlExpression": "MAX(value)", "label": code, "optionName": uid("m", code)}
    return chart(f"{code} {title}", "national_latest", "big_number_total",
                 {"metric": metric, "adhoc_filters": filters, "subheader": title, "y_axis_format": ",.1f",
                  "header_font_size": 0.4, "subheader_font_size": 0.15})  # fmt: skip


def dashboard(title: str, slug: str, charts: list[dict], widths: list[int]) -> dict:
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": title}},
    }
    row, used = None, 12
    for n, (c, width) in enumerate(zip(charts, widths, strict=True)):
        if used + width > 12:
            row = f"ROW-{slug}-{n}"
            position[row] = {"type": "ROW", "id": row, "children": [], "parents": ["ROOT_ID", "GRID_ID"],
                             "meta": {"background": "BACKGROUND_TRANSPARENT"}}  # fmt: skip
            position["GRID_ID"]["children"].append(row)
            used = 0
        key = f"CHART-{slug}-{n}"
        meta = {"width": width, "height": 30 if width < 12 else 80, "chartId": n + 1, "uuid": c["uuid"],
                "sliceName": c["slice_name"]}  # fmt: skip
        position[key] = {"type": "CHART", "id": key, "children": [], "parents": ["ROOT_ID", "GRID_ID", row],
                         "meta": meta}  # fmt: skip
        position[row]["children"].append(key)
        used += width
    return {
        "dashboard_title": title,
        "description": None,
        "css": "",
        "slug": slug,
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "uuid": uid("dashboard", slug),
        "position": position,
        "metadata": {
            "color_scheme": "",
            "refresh_frequency": 0,
            "expanded_slices": {},
            "label_colors": {},
            "timed_refresh_immune_slices": [],
            "cross_filters_enabled": False,
            "default_filters": "{}",
            "chart_configuration": {},
            "native_filter_configuration": [],
        },  # fmt: skip
        "version": "1.0.0",
    }


def write(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")


def main() -> None:
    shutil.rmtree(ASSETS, ignore_errors=True)
    write(ASSETS / "metadata.yaml", {"version": "1.0.0", "type": "Dashboard", "timestamp": "2026-01-01T00:00:00+00:00"})
    write(
        ASSETS / "databases" / f"{DATABASE}.yaml",
        {
            "database_name": DATABASE,
            "sqlalchemy_uri": "duckdb:///{{ SNAPSHOT }}",
            "cache_timeout": None,
            "expose_in_sqllab": True,
            "allow_run_async": False,
            "allow_ctas": False,
            "allow_cvas": False,
            "allow_dml": False,
            "allow_file_upload": False,
            # read-only; Superset connects with NullPool (its default), so each query opens the current version
            "extra": {
                "engine_params": {"connect_args": {"read_only": True}},
                "allows_virtual_table_explore": True,
            },  # fmt: skip
            "uuid": uid("database", DATABASE),
            "version": "1.0.0",
        },
    )
    for name in PHYSICAL:
        write(ASSETS / "datasets" / DATABASE / f"{name}.yaml", dataset(name))
    for name, sql in VIRTUAL.items():
        write(ASSETS / "datasets" / DATABASE / f"{name}.yaml", dataset(name, sql))
    headline = [big_number(*h) for h in HEADLINES]
    national = table("全国指标 national values", "national_latest", NATIONAL_COLUMNS, [], "indicator_code")
    boards = [dashboard("产业工人队伍监测 Workforce monitoring: overview", "overview", [*headline, national],
                        [3, 3, 3, 3, 12])]  # fmt: skip
    charts = [*headline, national]
    for theme, title in THEMES.items():
        nat = table(f"{title}: 全国 national", "national_latest", NATIONAL_COLUMNS, [where("theme", theme)],
                    "indicator_code")  # fmt: skip
        prov = table(f"{title}: 分省 by province", "values_labelled", PROVINCE_COLUMNS,
                     [where("theme", theme), where("breakdown", "province")], "member_order")  # fmt: skip
        charts += [nat, prov]
        boards.append(dashboard(title, theme.replace("_", "-"), [nat, prov], [12, 12]))
    for c in charts:
        write(ASSETS / "charts" / f"{c['uuid']}.yaml", c)
    for b in boards:
        write(ASSETS / "dashboards" / f"{b['slug']}.yaml", b)


if __name__ == "__main__":
    main()
