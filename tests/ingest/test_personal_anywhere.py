"""Personal data wherever a delivery puts it (extra columns, lines of a form above its header or below its data, the
wrong column of a quarantined row) is masked or dropped before anything is written, printed or logged."""

from __future__ import annotations

import duckdb
import pytest
from conftest import valid_id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfm.ingest import codes, personal
from wfm.ingest.pseudonym import MASK

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
