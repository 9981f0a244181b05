"""The two inputs' columns, as the data contract names them: one place every stage reads them from.

The generator writes these columns (under their English or Chinese names), ingestion maps headers to them and
types their values, the raw tables are created from them, and dbt's sources describe the same columns. A column
is a `Column(name, label_zh, kind, required)`; `kind` says how a text value is normalised and typed:

- `text`: trimmed, NFKC-normalised text;
- `int`, `number`: numbers, with thousands separators and full-width digits accepted;
- `yesno`: 是/否, Y/N, 1/0, true/false → boolean;
- `code`: a small integer code (sex, education …);
- `skill`: a skill level, L0..L7 or its Chinese names;
- `timestamp`: a date and time;
- `personal`: personal data, never stored in clear (see `wfm.ingest.pseudonym`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "int", "number", "yesno", "code", "skill", "timestamp", "personal"]
Source = Literal["survey", "enterprise"]

#: DuckDB type of each kind once normalised (personal columns are dropped or hashed before storage).
SQL_TYPE: dict[str, str] = {
    "text": "VARCHAR",
    "int": "BIGINT",
    "number": "DOUBLE",
    "yesno": "BOOLEAN",
    "code": "INTEGER",
    "skill": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "personal": "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    name: str
    label_zh: str
    kind: Kind
    #: the value may not be missing (row rule `<name>_required`)
    value_required: bool = False
    #: the header must be present, or the whole file is refused (contact fields are optional)
    header_required: bool = True


SURVEY: tuple[Column, ...] = (
    Column("survey_wave", "调查期", "text", value_required=True),
    Column("respondent_id", "问卷编号", "text", value_required=True),
    Column("id_number", "公民身份号码", "personal"),
    Column("stratum", "抽样层", "text", value_required=True),
    Column("psu", "初级抽样单位", "text", value_required=True),
    Column("design_weight", "设计权数", "number", value_required=True),
    Column("region_code", "工作地行政区划代码", "text"),
    Column("employer_uscc", "单位统一社会信用代码", "text"),
    Column("industry_code", "行业代码", "text"),
    Column("occupation_code", "职业代码", "text"),
    Column("sex", "性别", "code"),
    Column("age", "年龄", "int"),
    Column("hukou_type", "户口性质", "code"),
    Column("education", "受教育程度", "code"),
    Column("skill_level", "技能等级", "skill"),
    Column("craftsman_title", "工匠称号", "text"),
    Column("employment_form", "用工形式", "code"),
    Column("contract_type", "劳动合同类型", "code"),
    Column("monthly_wage", "月工资收入(元)", "number"),
    Column("weekly_hours", "周工作小时", "number"),
    Column("overtime_hours_month", "月加班小时", "number"),
    Column("trained_12m", "近12个月是否参加培训", "yesno"),
    Column("training_hours_12m", "近12个月培训学时", "number"),
    Column("continuing_education", "是否参加学历或继续教育", "yesno"),
    Column("certificate", "是否持有职业资格或技能等级证书", "yesno"),
    Column("union_member", "是否工会会员", "yesno"),
    Column("party_member", "是否中共党员", "yesno"),
    Column("social_insurance_injury", "是否参加工伤保险", "yesno"),
    Column("occupational_injury_protection", "是否有职业伤害保障", "yesno"),
    Column("competition_12m", "近12个月是否参加劳动和技能竞赛", "yesno"),
    Column("innovation_12m", "近12个月是否参与技术革新或合理化建议", "yesno"),
    Column("wage_arrears_12m", "近12个月是否被拖欠工资", "yesno"),
    Column("sense_achievement", "成就感", "int"),
    Column("sense_gain", "获得感", "int"),
    Column("sense_happiness", "幸福感", "int"),
)

_SKILL_COUNTS = tuple(
    Column(f"skill_l{i}", f"{name}人数", "int")
    for i, name in enumerate(["学徒工", "初级工", "中级工", "高级工", "技师", "高级技师", "特级技师", "首席技师"])
)

ENTERPRISE: tuple[Column, ...] = (
    Column("report_period", "报告期", "text", value_required=True),
    Column("uscc", "统一社会信用代码", "text", value_required=True),
    Column("enterprise_name", "单位详细名称", "text", value_required=True),
    Column("region_code", "行政区划代码", "text"),
    Column("industry_code", "行业代码", "text"),
    Column("registration_type", "登记注册类型", "code"),
    Column("state_controlled", "是否国有控股", "yesno"),
    Column("revenue", "营业收入(万元)", "number"),
    Column("employees_total", "从业人员期末人数", "int"),
    Column("employees_avg", "从业人员平均人数", "int"),
    Column("frontline_workers", "一线职工人数", "int"),
    Column("dispatched_workers", "劳务派遣人员数", "int"),
    Column("contract_signed", "签订书面劳动合同人数", "int"),
    *_SKILL_COUNTS,
    Column("craftsmen_national", "大国工匠人数", "int"),
    Column("craftsmen_provincial", "省级工匠人数", "int"),
    Column("craftsmen_municipal", "市级工匠人数", "int"),
    Column("payroll_total", "工资总额(万元)", "number"),
    Column("edu_fund_extracted", "职工教育经费提取额(万元)", "number"),
    Column("edu_fund_used", "职工教育经费使用额(万元)", "number"),
    Column("edu_fund_frontline", "其中：用于一线职工(万元)", "number"),
    Column("training_person_times", "培训人次", "int"),
    Column("has_union", "是否建立工会", "yesno"),
    Column("union_members", "工会会员人数", "int"),
    Column("workers_congress_held", "本年是否召开职工代表大会", "yesno"),
    Column("collective_contract", "是否签订集体合同", "yesno"),
    Column("collective_contract_covered", "集体合同覆盖职工人数", "int"),
    Column("employee_director", "是否设立职工董事或职工监事", "yesno"),
    Column("teams_total", "班组数", "int"),
    Column("teams_without_party_member", "党员空白班组数", "int"),
    Column("innovation_studios", "创新工作室数", "int"),
    Column("adopted_suggestions", "采纳合理化建议数", "int"),
    Column("competition_participants", "参加劳动和技能竞赛人次", "int"),
    Column("work_injuries", "工伤人数", "int"),
    Column("occupational_disease_cases", "职业病新发病例数", "int"),
    Column("labor_disputes", "劳动争议案件数", "int"),
    Column("hires", "新招录人数", "int"),
    Column("hires_under35", "其中：35岁及以下", "int"),
    Column("separations", "离职人数", "int"),
    Column("migrant_workers", "农民工人数", "int"),
    Column("submitted_at", "填报时间", "timestamp", value_required=True),
    Column("contact_person", "填表人", "personal", False),
    Column("contact_phone", "联系电话", "personal", False),
)

COLUMNS: dict[str, tuple[Column, ...]] = {"survey": SURVEY, "enterprise": ENTERPRISE}

#: Words that name personal or contact data, in a header outside the contract or before a value on a form
#: (`填表人：张三`, `Tel: 010-6234 5678`): such a column is dropped at ingest, and the word after such a label is
#: masked (`wfm.ingest.personal`). Chinese words count anywhere in a header; English ones as whole words
#: (`Phone No.`, `contact_person`, `eMail`), in any case.
CONTACT_WORDS_ZH: tuple[str, ...] = (
    "联系人", "联系电话", "联系方式", "电话", "手机", "座机", "传真", "邮箱", "电子邮件", "邮件", "微信", "QQ",
    "身份证", "证件号", "公民身份号码", "护照", "姓名", "签名", "签字", "填表人", "负责人", "审核人", "经办人",
    "地址", "住址",
)  # fmt: skip
CONTACT_WORDS_EN: tuple[str, ...] = (
    "contact", "phone", "telephone", "tel", "mobile", "cell", "cellphone", "fax", "email", "e-mail", "mail",
    "wechat", "qq", "id card", "idcard", "id number", "id no", "passport", "name", "signature", "signed by",
    "address",
)  # fmt: skip

#: Raw table each source lands in (schema `raw`), and the column that names its period.
RAW_TABLE: dict[str, str] = {"survey": "raw.survey_responses", "enterprise": "raw.enterprise_returns"}
PERIOD_COLUMN: dict[str, str] = {"survey": "survey_wave", "enterprise": "report_period"}


def header_aliases(source: Source) -> dict[str, str]:
    """Every accepted header spelling → canonical name: the English name and the Chinese label, NFKC-normalised
    (so `其中：用于一线职工（万元）` and `其中:用于一线职工(万元)` are the same header)."""
    aliases: dict[str, str] = {}
    for col in COLUMNS[source]:
        for spelling in (col.name, col.label_zh):
            aliases[unicodedata.normalize("NFKC", spelling).strip()] = col.name
    return aliases


def stored_columns(source: Source) -> list[Column]:
    """The contract columns that reach the raw table: personal fields are not among them."""
    return [c for c in COLUMNS[source] if c.kind != "personal"]
