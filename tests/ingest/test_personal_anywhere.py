"""Personal data wherever a delivery puts it (extra columns, lines of a form above its header or below its data, the
wrong column of a quarantined row) is masked or dropped before anything is written, printed or logged."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import openpyxl
import pytest
from conftest import (
    assert_nowhere_under,
    enterprise_rows,
    quarantine_reasons,
    query,
    survey_rows,
    valid_id,
    write_csv,
    write_xlsx,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfm import cli
from wfm.config import Home
from wfm.ingest import codes, ingest_file, personal
from wfm.ingest.pseudonym import MASK
from wfm.ingest.staging import DROPPED_NOTE

ID_A = valid_id("320102", "19750312", 41)
ID_B = valid_id("440301", "19881124", 52)
FULL_WIDTH_ID = ID_A.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))


def _bad_check(id_number: str) -> str:
    """The same number with a wrong check character: not an ID number."""
    last = "1" if id_number[-1] != "1" else "2"
    return id_number[:-1] + last


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (ID_A, MASK),
        (f"身份证：{ID_A}，另{ID_B}", f"身份证：{MASK}，另{MASK}"),
        (f"号码{FULL_WIDTH_ID}。", f"号码{MASK}。"),
        (_bad_check(ID_A), _bad_check(ID_A)),
        ("手机13800138000,13912345678", f"手机{MASK},{MASK}"),
        ("+86 138 0013 8000", MASK),
        ("Tel: (010)6234 5678 ext 9", f"Tel: {MASK} ext 9"),
        ("0755-23456789", MASK),
        ("write to li.si@example.com", f"write to {MASK}"),
        ("填表人：欧阳明远  联系电话：010-62345678", f"填表人：{MASK}  联系电话：{MASK}"),
        ("联系人 王小明", f"联系人 {MASK}"),
        ("Contact: Zhang", f"Contact: {MASK}"),
        # what is not personal stays as sent
        ("数据来自人事系统", "数据来自人事系统"),
        ("2026-03-01 10:00:00", "2026-03-01 10:00:00"),
        ("12,000", "12,000"),
        ("12345678901234567890", "12345678901234567890"),
        ("中国电话设备有限公司", "中国电话设备有限公司"),
        ("Hotel: 5", "Hotel: 5"),
        ("国统制〔2025〕18号", "国统制〔2025〕18号"),
    ],
)
def test_personal_data_in_text_is_masked_and_the_rest_kept(sent: str, kept: str) -> None:
    assert personal.scrub_text(sent) == kept
    con = duckdb.connect()
    codes.install_sql(con)
    assert con.execute(f"SELECT {personal.scrub_sql('$v')}", {"v": sent}).fetchone()[0] == kept


_CON: list[duckdb.DuckDBPyConnection] = []


def _con() -> duckdb.DuckDBPyConnection:
    """One connection with the code macros for all the examples of a property."""
    if not _CON:
        con = duckdb.connect()
        codes.install_sql(con)
        _CON.append(con)
    return _CON[0]


_FRAGMENTS = st.sampled_from(
    [ID_A, ID_B, FULL_WIDTH_ID, _bad_check(ID_B), "13800138000", "010-62345678", "(0755)2345 6789", "+8613912345678",
     "a@b.cn", "填表人", "电话", "Tel", "：", ":", " ", "　", ",", "-", "x", "欧阳明远", "7", "２", "X", "名"]
)  # fmt: skip


_ANY_TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=4)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.one_of(_FRAGMENTS, _ANY_TEXT), max_size=8))
def test_the_sql_masking_agrees_with_the_python_masking(parts: list[str]) -> None:
    text = "".join(parts)
    con = _con()
    assert con.execute(f"SELECT {personal.scrub_sql('$v')}", {"v": text}).fetchone()[0] == personal.scrub_text(text)


@pytest.mark.parametrize(
    ("header", "is_personal"),
    [
        ("联系电话", True), ("手机号", True), ("电话", True), ("身份证号码", True), ("邮箱", True), ("家庭住址", True),
        ("签名", True), ("联系人", True), ("Contact person", True), ("phone", True), ("Mobile No.", True),
        ("e-mail", True), ("eMail", True), ("ID card", True), ("tel", True), ("address", True), ("13800138000", True),
        ("备注", False), ("remarks", False), ("hotel_rooms", False), ("unnamed_3", False), ("备注 _内部_", False),
    ],
)  # fmt: skip
def test_contact_columns_are_known_by_their_header(header: str, is_personal: bool) -> None:
    assert personal.personal_header(header) is is_personal


def test_extra_columns_keep_no_personal_data(home: Home, tmp_path: Path) -> None:
    """An ID-number column and a phone column in an enterprise file are dropped, the load log names them; a
    remark that quotes a phone or an ID number is kept with them masked."""
    rows = [
        {**row, "身份证号码": valid_id("440101", "19800101", 10 + i), "手机": f"1395817{i:04d}", "备注": "已核实"}
        for i, row in enumerate(enterprise_rows(6))
    ]
    rows[1]["备注"] = f"请联系13812345678或{ID_A}"
    out = ingest_file(home, write_csv(tmp_path / "e.csv", rows, source="enterprise"), "enterprise", "t")
    assert (out.outcome, out.rows_accepted) == ("loaded", 6)
    extras = [json.loads(e) for (e,) in query(home, "SELECT extra_columns FROM raw.enterprise_returns ORDER BY 1")]
    assert {key for extra in extras for key in extra} == {"备注"}
    assert f"请联系{MASK}或{MASK}" in {extra["备注"] for extra in extras}
    form = json.loads(query(home, "SELECT form_metadata FROM audit.load_log")[0][0])
    assert form == [f"{DROPPED_NOTE} 身份证号码, 手机"]


def test_a_quarantined_row_masks_personal_data_in_any_column(home: Home, tmp_path: Path) -> None:
    """An ID number typed into a free-text or a code column, a phone in an extra column: masked in the quarantine,
    whatever else the row holds kept for the correction letter."""
    rows = [{**row, "备注": ""} for row in survey_rows(12)]
    rows[4].update(craftsman_title=ID_B, occupation_code=ID_A, 备注="电话 13512345678", monthly_wage="abc")
    out = ingest_file(home, write_csv(tmp_path / "s.csv", rows), "survey", "t")
    assert (out.rows_read, out.rows_accepted, out.rows_quarantined) == (12, 11, 1)
    masked = json.loads(query(home, "SELECT row_masked FROM audit.quarantine")[0][0])
    assert masked["craftsman_title"] == MASK and masked["occupation_code"] == MASK
    assert masked["备注"] == f"电话 {MASK}" and masked["id_number"] == MASK
    assert masked["monthly_wage"] == "abc" and masked["respondent_id"] == "R00004"


def test_personal_data_in_a_contract_column_sends_the_row_to_quarantine(home: Home, tmp_path: Path) -> None:
    """An ID number as the questionnaire number, a phone number as the PSU, an ID number's digits as a design
    weight (a number with no upper bound), an e-mail in an enterprise's name: each row is quarantined with
    `<col>_personal_data`, the value masked there, and nothing of it reaches raw or any file of the home."""
    digits_id = next(i for i in (valid_id("110101", "19900307", n) for n in range(1, 50)) if i[-1].isdigit())
    rows = survey_rows(12)
    rows[3]["respondent_id"] = ID_A
    rows[5]["psu"] = "139 1234 5678"
    rows[7]["design_weight"] = digits_id
    ingest_file(home, write_csv(tmp_path / "s.csv", rows), "survey", "t")
    companies = enterprise_rows(6)
    companies[2]["enterprise_name"] = "某某机械厂 zhao.liu@example.com"
    ingest_file(home, write_csv(tmp_path / "e.csv", companies), "enterprise", "t")
    assert quarantine_reasons(home) == {
        4: {"respondent_id_personal_data"},
        6: {"psu_personal_data"},
        8: {"design_weight_personal_data"},
        3: {"enterprise_name_personal_data"},
    }
    masked = [json.loads(r[0]) for r in query(home, "SELECT row_masked FROM audit.quarantine ORDER BY row_number")]
    assert {m.get("respondent_id") for m in masked} >= {MASK} and {m.get("psu") for m in masked} >= {MASK}
    assert_nowhere_under(home, {ID_A, "13912345678", "139 1234 5678", digits_id, "zhao.liu@example.com"}, "")


def _xlsx_with_form_lines(path: Path, rows: list[dict[str, str]], below: list[list[str]]) -> Path:
    above = [
        ["企业产业工人队伍建设情况统计报表"],
        ["表    号：", "总工统2表"],
        ["填表人：", "欧阳明远", "联系电话：", "010-62345678"],
    ]
    write_xlsx(path, rows, metadata=above, source="enterprise")
    book = openpyxl.load_workbook(path)
    for line in below:
        book.active.append(line)
    book.save(path)
    return path


SIGNATURE_LINES = [
    [],
    ["单位负责人：司马长风  填表人：诸葛青云  电话：13912345678  报出日期：2026年3月5日"],
    ["审核人：", "上官飞燕", "手机：", "13712345678", "邮箱：", "zhao.liu@example.com"],
]


def test_xlsx_lines_above_the_header_and_below_the_data_are_masked(home: Home, tmp_path: Path) -> None:
    path = _xlsx_with_form_lines(tmp_path / "e.xlsx", enterprise_rows(8), SIGNATURE_LINES)
    out = ingest_file(home, path, "enterprise", "t")
    assert out.outcome == "loaded" and out.rows_read == out.rows_accepted + out.rows_quarantined
    form = json.loads(query(home, "SELECT form_metadata FROM audit.load_log")[0][0])
    assert form == ["企业产业工人队伍建设情况统计报表", "表    号： 总工统2表", f"填表人： {MASK} 联系电话： {MASK}"]
    quarantined = [json.loads(r) for (r,) in query(home, "SELECT row_masked FROM audit.quarantine ORDER BY row_number")]
    assert len(quarantined) == 2
    assert quarantined[0]["report_period"] == (
        f"单位负责人：{MASK}  填表人：{MASK}  电话：{MASK}  报出日期：2026年3月5日"
    )
    values = [v for v in quarantined[1].values() if v is not None]
    assert values == ["审核人：", MASK, "手机：", MASK, "邮箱：", MASK]


def test_no_personal_data_anywhere_under_the_home_nor_printed(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    """Every place of the cases above, through the command line: scanned for in every file the ingestion writes
    (the deliveries themselves, kept untouched in the archive or rejected/, aside) and in what it prints."""
    # phone numbers no printed figure contains by chance (0.139 can be written 0.13900000000000001)
    firms = [
        {**row, "身份证号码": valid_id("440101", "19800101", 10 + i), "Mobile": f"1395817{i:04d}"}
        for i, row in enumerate(enterprise_rows(6))
    ]
    write_csv(home.inbox("enterprise") / "e.csv", firms, source="enterprise")
    _xlsx_with_form_lines(home.inbox("enterprise") / "form.xlsx", enterprise_rows(8, period="2025"), SIGNATURE_LINES)
    survey = [{**row, "phone": f"1374926{i:04d}", "备注": f"本人{ID_B}"} for i, row in enumerate(survey_rows(12))]
    survey[5].update(craftsman_title=ID_A, age="99")
    write_csv(home.inbox("survey") / "s.csv", survey, chinese=True, encoding="gb18030")
    assert cli.main(["--home", str(home.root), "ingest"]) == 0
    secrets = (
        {r["身份证号码"] for r in firms} | {r["Mobile"] for r in firms} | {r["phone"] for r in survey}
        | {ID_A, ID_B, "010-62345678", "62345678", "13912345678", "13712345678", "zhao.liu@example.com"}
        | {"欧阳明远", "司马长风", "诸葛青云", "上官飞燕"}
    )  # fmt: skip
    printed = capsys.readouterr()
    assert_nowhere_under(home, secrets, printed.out + printed.err)
    assert query(home, "SELECT count(*) FROM audit.load_log WHERE outcome = 'loaded'")[0][0] == 3
