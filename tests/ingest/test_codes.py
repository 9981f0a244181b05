"""The code-list validators: published examples, check-digit properties, and SQL macros equal to Python.

Ingestion quarantines rows with the reasons these functions give, through the SQL macros; a macro that
disagreed with its Python twin would quarantine other rows than the documented rule does, so every macro is
compared with its twin on hand-picked and generated values, evaluated over a column as ingestion evaluates it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfm.ingest import codes

# No deadline: a DuckDB query's time varies with the machine, and speed is not what these tests judge.
PROPERTY = settings(max_examples=300, deadline=None)
EQUIVALENCE = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# The values of a list parameter `$v` as a column `s`, in list order.
FROM_VALUES = """
    FROM (SELECT unnest($v::VARCHAR[]) AS s, generate_subscripts($v::VARCHAR[], 1) AS i)
    ORDER BY i
"""


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    codes.install_sql(connection)
    return connection


def sql_column(con: duckdb.DuckDBPyConnection, call: str, values: list[str | None], **params: Any) -> list:
    """`call` (an expression in `s`, and in any extra `$params`) over `values` as one column, in input order.

    The values arrive as rows of a column, not as constants, so DuckDB evaluates the macros vectorised as it
    does on a loaded batch rather than constant-folding them.
    """
    return [row[0] for row in con.execute(f"SELECT {call} {FROM_VALUES}", {"v": values, **params}).fetchall()]


def python_or_none(fn: Callable[[Any], Any], value: Any) -> Any:
    """The twin's result; `None` where it raises `ValueError` (the macros return NULL there)."""
    try:
        return fn(value)
    except ValueError:
        return None


def with_id_check(body: str) -> str:
    return body + codes.id_check_char(body)


def with_uscc_check(body: str) -> str:
    return body + codes.uscc_check_char(body)


# --------------------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------------------


def test_provinces_are_the_31_mainland_ones_plus_taiwan_hong_kong_macao() -> None:
    rows = codes.load_reference("provinces")
    mainland = {r["code"] for r in rows if r["in_mainland"] is True}
    outside = {r["code"] for r in rows if r["in_mainland"] is False}
    assert len(mainland) == 31
    assert min(mainland) == "11" and max(mainland) == "65"
    assert outside == {"71", "81", "82"}
    assert {r["code"]: r["name_zh"] for r in rows}["44"] == "广东省"


# Divisions per section as GB/T 4754-2017 numbers them.
SECTION_RANGES = {
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52), "G": (53, 60),
    "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72), "M": (73, 75), "N": (76, 79),
    "O": (80, 82), "P": (83, 83), "Q": (84, 85), "R": (86, 90), "S": (91, 96), "T": (97, 97),
}  # fmt: skip


def test_industry_divisions_are_exactly_the_97_of_gbt_4754_2017() -> None:
    rows = codes.load_reference("industry_divisions")
    expected = {f"{d:02d}": s for s, (lo, hi) in SECTION_RANGES.items() for d in range(lo, hi + 1)}
    assert {r["division"]: r["section"] for r in rows} == expected
    assert len(rows) == 97
    assert all(r["name_zh"] for r in rows)
    assert {r["section"] for r in rows if r["industrial_scope"]} == {"B", "C", "D", "E"}
    assert {r["section"] for r in codes.load_reference("industry_sections")} == set(SECTION_RANGES)


def test_occupation_major_groups_are_1_to_8() -> None:
    assert [r["code"] for r in codes.load_reference("occupation_major_groups")] == list("12345678")


def test_code_lists_hold_the_contracts_lists() -> None:
    lists: dict[str, dict[str, str]] = {}
    for row in codes.load_reference("code_lists"):
        lists.setdefault(str(row["list_name"]), {})[str(row["code"])] = str(row["value"])
    assert lists["sex"] == {"1": "1", "2": "2"}
    assert set(lists["contract_type"]) == {"1", "2", "3", "9"}
    assert set(lists["craftsman_title"]) == {"市级", "省级", "国家级"}
    assert len(lists["registration_type"]) == 25
    assert {"110", "151", "173", "230", "390"} <= set(lists["registration_type"])
    skill = lists["skill_level"]
    assert [skill[f"L{i}"] for i in range(8)] == [f"L{i}" for i in range(8)]
    assert (skill["学徒工"], skill["首席技师"]) == ("L0", "L7")
    assert [skill[g] for g in ("五级", "四级", "三级", "二级", "一级")] == ["L1", "L2", "L3", "L4", "L5"]
    assert {k for k, v in lists["yesno"].items() if v == "true"} == {"是", "Y", "YES", "TRUE", "1"}
    assert {k for k, v in lists["yesno"].items() if v == "false"} == {"否", "N", "NO", "FALSE", "0"}
    assert set(lists["missing"]) == {"", "—", "-", "无", "NA"}


def test_load_reference_refuses_unknown_names_and_returns_fresh_rows() -> None:
    with pytest.raises(ValueError, match="unknown reference list"):
        codes.load_reference("../pyproject")
    codes.load_reference("provinces")[0]["code"] = "99"
    assert codes.load_reference("provinces")[0]["code"] == "11"


def test_a_warehouse_keeps_its_lists_until_the_package_changes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a warehouse again leaves the reference tables and macros the package installed as they are; a
    package whose lists or macros differ installs its own."""
    path = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(path) as first:
        codes.install_sql(first)
        first.execute("DELETE FROM ref.provinces WHERE code = '11'")  # what the next install would restore
    with duckdb.connect(path) as again:
        codes.install_sql(again)
        assert again.execute("SELECT count(*) FROM ref.provinces WHERE code = '11'").fetchone() == (0,)
        monkeypatch.setattr(codes, "_files_fingerprint", lambda: "another package")
        codes.install_sql(again)
        assert again.execute("SELECT count(*) FROM ref.provinces WHERE code = '11'").fetchone() == (1,)
        assert again.execute("SELECT region_problem('110105')").fetchone() == (None,)
        assert again.execute("SELECT fingerprint FROM ref.installed").fetchall() == [("another package",)]


def test_register_reference_mirrors_the_csvs_and_can_run_again(con: duckdb.DuckDBPyConnection) -> None:
    codes.register_reference(con)  # a second time on the fixture's connection: replaced, not duplicated
    for name in codes.REFERENCE_KEYS:
        rows = codes.load_reference(name)
        table = con.execute(f"SELECT * FROM ref.{name}").fetchall()
        assert sorted(table) == sorted(tuple(r.values()) for r in rows)
    columns = """
        SELECT column_name, data_type FROM duckdb_columns()
        WHERE schema_name = 'ref' AND table_name = 'provinces'
    """
    types = dict(con.execute(columns).fetchall())
    assert types == {"code": "VARCHAR", "name_zh": "VARCHAR", "name_en": "VARCHAR", "in_mainland": "BOOLEAN"}


# --------------------------------------------------------------------------------------------------------
# GB 11643-1999 identity numbers
# --------------------------------------------------------------------------------------------------------


def test_gb_11643_worked_examples() -> None:
    # The standard's two examples: 北京市朝阳区, born 1949-12-31, sequence 002 (female), check X; and
    # 广东省汕头市潮阳县, born 1880-01-01, sequence 001, check 4.
    assert codes.id_check_char("11010519491231002") == "X"
    assert codes.id_check_char("44052418800101001") == "4"
    s = "11010519491231002X"
    assert codes.id_problem(s) is None and codes.id_valid(s) is True
    assert codes.id_sex(s) == 2
    assert codes.id_birth_date(s) == date(1949, 12, 31)
    assert codes.id_province(s) == "11"
    # The second example's check character is right, but the contract refuses births before 1900.
    assert codes.id_problem("440524188001010014") == "bad_format"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("110105194912310021", "check_digit"),  # the example with a digit for its X
        ("11010519491231003X", "check_digit"),  # one digit of the sequence changed
        ("11010519491231002x", "bad_format"),  # lower-case x: upper-casing is ingestion's job
        ("1101051949123100X2", "bad_format"),  # X only in the last place
        ("11010519491231002", "bad_format"),  # 17 characters
        ("11010519491231002X0", "bad_format"),  # 19 characters
        ("110105491231002", "bad_format"),  # a 15-digit number of GB 11643-1989
        ("１１０１０５１９４９１２３１００２Ｘ", "bad_format"),  # full-width: NFKC is ingestion's job
        (" 11010519491231002X", "bad_format"),  # untrimmed
        ("", "bad_format"),
        (with_id_check("11010519491331002"), "bad_format"),  # month 13
        (with_id_check("11010519490230002"), "bad_format"),  # 30 February
        (with_id_check("11010519490229002"), "bad_format"),  # 1949 is not a leap year
        (with_id_check("11010519000229002"), "bad_format"),  # nor is 1900 (a century)
        (with_id_check("11010520000229002"), None),  # 2000 is
        (with_id_check("11010518991231002"), "bad_format"),  # before 1900
        (with_id_check("11010519000101002"), None),  # the earliest accepted birth date
        (None, None),  # missing is the _missing rule's business
    ],
)
def test_id_problem(value: str | None, problem: str | None) -> None:
    assert codes.id_problem(value) == problem


def test_id_problem_latest_birth_rejects_births_after_it() -> None:
    s = with_id_check("11010520260701001")
    assert codes.id_problem(s) is None
    assert codes.id_problem(s, latest_birth=date(2026, 7, 1)) is None
    assert codes.id_problem(s, latest_birth=date(2026, 6, 30)) == "bad_format"


def test_id_derived_fields() -> None:
    male = with_id_check("44030019850615123")  # 17th digit 3: odd
    assert (codes.id_sex(male), codes.id_birth_date(male), codes.id_province(male)) == (
        1,
        date(1985, 6, 15),
        "44",
    )
    # A wrong check character still lets sex and age be compared (the row is quarantined for it anyway) ...
    wrong_check = male[:17] + ("0" if male[17] != "0" else "1")
    assert codes.id_problem(wrong_check) == "check_digit"
    assert codes.id_sex(wrong_check) == 1
    # ... a bad format does not.
    for bad in ("4403001985061512", with_id_check("44030019850631123"), None):
        assert (codes.id_sex(bad), codes.id_birth_date(bad), codes.id_province(bad)) == (None, None, None)


def test_id_check_char_refuses_anything_but_17_digits() -> None:
    for bad in (
        "1101051949123100",
        "110105194912310021",
        "1101051949123100A",
        "１１０１０５１９４９１２３１００２",
    ):
        with pytest.raises(ValueError):
            codes.id_check_char(bad)


def test_weights_are_the_standards_powers() -> None:
    assert tuple(2 ** (17 - i) % 11 for i in range(17)) == codes.ID_WEIGHTS
    assert tuple(3**i % 31 for i in range(17)) == codes.USCC_WEIGHTS


birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))
digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


@st.composite
def id_bodies(draw: st.DrawFn) -> str:
    """The first 17 digits of a well-formed ID: any 6-digit area, a real birth date, any 3-digit sequence."""
    area = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    sequence = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    return area + draw(birth_dates).strftime("%Y%m%d") + sequence


valid_ids = id_bodies().map(with_id_check)


def mod_11_2_residue(s: str) -> int:
    """ISO 7064 MOD 11-2 read as the standard states it: a valid number has Σ a_i·2^(18-i) ≡ 1 (mod 11)."""
    return sum((10 if c == "X" else int(c)) * pow(2, 17 - i, 11) for i, c in enumerate(s)) % 11


@PROPERTY
@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_any_17_digits_with_their_check_char_pass_the_check(body: str) -> None:
    s = with_id_check(body)
    assert mod_11_2_residue(s) == 1
    # Only the birth date can still be wrong: arbitrary digits are seldom a real date.
    try:
        real_date = date(int(body[6:10]), int(body[10:12]), int(body[12:14])) >= date(1900, 1, 1)
    except ValueError:
        real_date = False
    assert codes.id_problem(s) == (None if real_date else "bad_format")


@PROPERTY
@given(id_bodies(), st.sampled_from("0123456789X"))
def test_only_the_computed_check_char_is_accepted(body: str, check: str) -> None:
    expected = None if check == codes.id_check_char(body) else "check_digit"
    assert codes.id_problem(body + check) == expected


@PROPERTY
@given(valid_ids, st.data())
def test_mod_11_2_detects_every_single_substitution(s: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, 17))
    replacement = data.draw(st.sampled_from("0123456789X").filter(lambda c: c != s[position]))
    changed = s[:position] + replacement + s[position + 1 :]
    problem = codes.id_problem(changed)
    assert problem is not None
    if position not in range(6, 14) and (position == 17 or replacement != "X"):
        assert problem == "check_digit"  # the date and the format still hold: only the check can catch it


@PROPERTY
@given(valid_ids, st.integers(0, 16))
def test_mod_11_2_detects_every_adjacent_transposition(s: str, position: int) -> None:
    a, b = s[position], s[position + 1]
    if a != b:
        swapped = s[:position] + b + a + s[position + 2 :]
        assert codes.id_problem(swapped) is not None


@PROPERTY
@given(id_bodies())
def test_sex_and_birth_date_come_from_their_positions(body: str) -> None:
    s = with_id_check(body)
    assert codes.id_sex(s) == (1 if int(body[16]) % 2 else 2)
    assert codes.id_birth_date(s) == date(int(body[6:10]), int(body[10:12]), int(body[12:14]))


# --------------------------------------------------------------------------------------------------------
# age_on
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "ref", "age"),
    [
        (date(1990, 6, 30), date(2026, 6, 29), 35),
        (date(1990, 6, 30), date(2026, 6, 30), 36),  # older on the birthday itself
        (date(2000, 2, 29), date(2026, 2, 28), 25),
        (date(2000, 2, 29), date(2026, 3, 1), 26),
        (date(2000, 2, 29), date(2028, 2, 29), 28),
        (date(2026, 7, 1), date(2026, 6, 30), -1),  # born after the reference date
    ],
)
def test_age_on(birth: date, ref: date, age: int) -> None:
    assert codes.age_on(birth, ref) == age


@PROPERTY
@given(st.dates(), st.dates())
def test_age_on_agrees_with_the_yyyymmdd_difference(birth: date, ref: date) -> None:
    # An independent formulation: whole ten-thousands between the dates written as YYYYMMDD numbers.
    as_number = lambda d: d.year * 10000 + d.month * 100 + d.day  # noqa: E731
    assert codes.age_on(birth, ref) == (as_number(ref) - as_number(birth)) // 10000


# --------------------------------------------------------------------------------------------------------
# GB 32100-2015 unified social credit codes
# --------------------------------------------------------------------------------------------------------

# 91350100M000100Y43 is the example used throughout descriptions of GB 32100. The others are the
# published codes of large companies (华为技术有限公司, 深圳市腾讯计算机系统有限公司,
# 阿里巴巴(中国)有限公司, 北京百度网讯科技有限公司, 腾讯科技(深圳)有限公司) as shown on their
# business-licence records; each also passes a 1-in-31 check that a misremembered code would rarely pass.
PUBLISHED_USCCS = [
    "91350100M000100Y43",
    "914403001922038216",
    "9144030071526726XG",
    "91330100799655058B",
    "91110000802100433B",
    "91440300708461136T",
]


@pytest.mark.parametrize("s", PUBLISHED_USCCS)
def test_published_usccs_are_valid(s: str) -> None:
    assert codes.uscc_check_char(s[:17]) == s[17]
    assert codes.uscc_problem(s) is None and codes.uscc_valid(s) is True


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("91350100M000100Y44", "check_digit"),
        ("91350100M000100Y34", "check_digit"),  # the last two characters swapped
        ("91350100M000200Y43", "check_digit"),
        ("91350100m000100Y43", "bad_format"),  # lower case: upper-casing is ingestion's job
        ("91350100I000100Y43", "bad_format"),  # I, O, S, V, Z are not in the alphabet
        ("91350100O000100Y43", "bad_format"),
        ("91350100S000100Y43", "bad_format"),
        ("91350100V000100Y43", "bad_format"),
        ("91350100Z000100Y43", "bad_format"),
        ("91350100M000100Y4", "bad_format"),
        ("91350100M000100Y430", "bad_format"),
        ("91350100M000100Y4３", "bad_format"),  # a full-width digit
        ("91350100-M000100Y43", "bad_format"),
        ("", "bad_format"),
        (None, None),
    ],
)
def test_uscc_problem(value: str | None, problem: str | None) -> None:
    assert codes.uscc_problem(value) == problem


def test_uscc_check_value_31_is_written_0() -> None:
    # Σ = 0 gives 31 − 0 = 31, which GB 32100 writes as 0 (not an index past the alphabet's end).
    assert codes.uscc_check_char("0" * 17) == "0"
    with pytest.raises(ValueError):
        codes.uscc_check_char("0" * 16 + "I")


uscc_bodies = st.text(alphabet=codes.USCC_ALPHABET, min_size=17, max_size=17)


@PROPERTY
@given(uscc_bodies)
def test_any_uscc_body_with_its_check_char_is_valid(body: str) -> None:
    s = with_uscc_check(body)
    assert codes.uscc_problem(s) is None
    # The standard's condition read the other way round: Σ value·weight over all 18 positions ≡ 0 (mod 31),
    # with weight 1 on the check character.
    value = codes.USCC_ALPHABET.index
    assert (sum(value(c) * pow(3, i, 31) for i, c in enumerate(body)) + value(s[17])) % 31 == 0


@PROPERTY
@given(uscc_bodies.map(with_uscc_check), st.data())
def test_uscc_check_detects_every_single_substitution(s: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, 17))
    replacement = data.draw(st.sampled_from(codes.USCC_ALPHABET).filter(lambda c: c != s[position]))
    assert codes.uscc_problem(s[:position] + replacement + s[position + 1 :]) == "check_digit"


@PROPERTY
@given(uscc_bodies.map(with_uscc_check), st.integers(0, 16))
def test_uscc_check_detects_every_adjacent_transposition(s: str, position: int) -> None:
    a, b = s[position], s[position + 1]
    if a != b:
        assert codes.uscc_problem(s[:position] + b + a + s[position + 2 :]) == "check_digit"


# --------------------------------------------------------------------------------------------------------
# GB/T 2260 regions, GB/T 4754-2017 industries, 职业分类大典 occupations
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("110000", None),
        ("440305", None),
        ("650100", None),
        ("810000", None),  # 香港: coded by GB/T 2260, outside the mainland
        ("990000", "unknown_province"),
        ("000000", "unknown_province"),
        ("160000", "unknown_province"),  # between 15 and 21: no province
        ("11000", "bad_format"),
        ("1100000", "bad_format"),
        ("11000A", "bad_format"),
        ("１１００００", "bad_format"),
        ("", "bad_format"),
        (None, None),
    ],
)
def test_region_problem(value: str | None, problem: str | None) -> None:
    assert codes.region_problem(value) == problem


def test_every_listed_province_is_accepted() -> None:
    for row in codes.load_reference("provinces"):
        assert codes.region_problem(f"{row['code']}0000") is None


@pytest.mark.parametrize(
    ("value", "section"),
    [
        ("C3411", "C"),  # the contract's own example
        ("3411", "C"),
        ("34", "C"),
        ("C34", "C"),
        ("B0610", "B"),
        ("06", "B"),
        ("D4411", "D"),
        ("E50", "E"),
        ("A01", "A"),
        ("T97", "T"),
        ("C3400", "C"),  # no such class, accepted: the class list is not shipped (a documented limitation)
        ("D34", None),  # division 34 is in section C
        ("U34", None),  # there is no section U
        ("c34", None),  # lower case: upper-casing is ingestion's job
        ("C341", None),  # a 3-digit group is neither a division nor a class
        ("C", None),
        ("98", None),  # no division 98
        ("00", None),
        ("CC34", None),
        ("C34110", None),
        ("C 34", None),
        ("", None),
        (None, None),
    ],
)
def test_industry_section_and_problem(value: str | None, section: str | None) -> None:
    assert codes.industry_section(value) == section
    assert codes.industry_problem(value) == (None if section or value is None else "invalid")


def test_every_listed_division_is_accepted_with_and_without_its_section() -> None:
    for row in codes.load_reference("industry_divisions"):
        for code in (row["division"], f"{row['section']}{row['division']}", f"{row['division']}11"):
            assert codes.industry_section(str(code)) == row["section"]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("6-18-01-01", None),  # 车工
        ("6-18-01", None),
        ("6-18", None),
        ("6", None),
        ("2-02-07-04", None),
        ("8-00-00-00", None),
        ("1", None),
        ("9", "invalid"),  # no major group 9
        ("0-00", "invalid"),
        ("9-01-01-01", "invalid"),
        ("6-18-01-01-01", "invalid"),
        ("6-1", "invalid"),
        ("6-18-", "invalid"),
        ("61801", "invalid"),
        ("6—18", "invalid"),  # a dash that is not a hyphen
        ("６-18", "invalid"),
        ("", "invalid"),
        (None, None),
    ],
)
def test_occupation_problem(value: str | None, problem: str | None) -> None:
    assert codes.occupation_problem(value) == problem


# --------------------------------------------------------------------------------------------------------
# The SQL macros agree with their Python twins
# --------------------------------------------------------------------------------------------------------


def none_through(fn: Callable[[str], str]) -> Callable[[str | None], str | None]:
    """The check-character builders take text only; their macros, like every SQL function, pass NULL on."""
    return lambda s: None if s is None else fn(s)


#: Each macro (as an expression in the column `s`) and the Python function it must agree with.
TWINS: dict[str, Callable[[Any], Any]] = {
    "uscc_check_char(s)": none_through(codes.uscc_check_char),
    "uscc_problem(s)": codes.uscc_problem,
    "uscc_valid(s)": codes.uscc_valid,
    "id_check_char(s)": none_through(codes.id_check_char),
    "id_problem(s)": codes.id_problem,
    "id_valid(s)": codes.id_valid,
    "id_sex(s)": codes.id_sex,
    "id_birth_date(s)": codes.id_birth_date,
    "id_province(s)": codes.id_province,
    "region_problem(s)": codes.region_problem,
    "industry_problem(s)": codes.industry_problem,
    "industry_section(s)": codes.industry_section,
    "occupation_problem(s)": codes.occupation_problem,
}

HAND_PICKED: list[str | None] = [
    None,
    "",
    " ",
    "X",
    "11010519491231002X",
    "11010519491231002",
    "110105194912310021",
    "11010519491231002x",
    "440524188001010014",
    "44052418800101001",
    with_id_check("11010520000229002"),
    with_id_check("11010519000229002"),
    with_id_check("11010519491331002"),
    with_id_check("11010500000101002"),
    "00000000000000000",
    "000000000000000000",
    *PUBLISHED_USCCS,
    "91350100M000100Y4",
    "91350100M000100Y44",
    "91350100m000100Y43",
    "91350100I000100Y43",
    "110000",
    "810000",
    "990000",
    "11000A",
    "１１００００",
    "C3411",
    "3411",
    "34",
    "C34",
    "D34",
    "C341",
    "U34",
    "T97",
    "98",
    "6-18-01-01",
    "6",
    "9-01",
    "6-18-01-01-01",
    "中文",
    "a\nb",
    "😀" * 18,
]


@pytest.mark.parametrize("call", list(TWINS))
def test_macro_agrees_with_python_on_hand_picked_values(con: duckdb.DuckDBPyConnection, call: str) -> None:
    expected = [python_or_none(TWINS[call], v) for v in HAND_PICKED]
    assert sql_column(con, call, HAND_PICKED) == expected


# Generated values: well-formed ones, near misses (one character changed), and arbitrary text built from the
# characters that matter to these rules plus a few that must be refused (full-width, CJK, space, lower case).
_TRICKY = "0123456789X-ABCDEFGHIJKLMNOPQRSTUVWXYZcx １Ｘ中"


@st.composite
def near_miss(draw: st.DrawFn, strategy: st.SearchStrategy[str]) -> str:
    s = draw(strategy)
    position = draw(st.integers(0, len(s) - 1))
    return s[:position] + draw(st.sampled_from(_TRICKY)) + s[position + 1 :]


def _codes_from(name: str, column: str) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(str(r[column]) for r in codes.load_reference(name)))


valid_usccs = uscc_bodies.map(with_uscc_check)
six_digits = st.text(alphabet="0123456789", min_size=6, max_size=6)
region_codes = st.builds(
    lambda p, rest: p + rest,
    _codes_from("provinces", "code"),
    six_digits.map(lambda s: s[2:]),
)
_DIVISIONS = [(str(r["section"]), str(r["division"])) for r in codes.load_reference("industry_divisions")]
# Mostly real divisions, led by nothing, their own section or another letter, as a division, class or group.
industry_codes = st.builds(
    lambda division, letter, suffix: letter(division[0]) + division[1] + suffix,
    st.sampled_from(_DIVISIONS) | st.tuples(st.just("?"), six_digits.map(lambda s: s[:2])),
    st.sampled_from([lambda s: "", lambda s: s, lambda s: "C", lambda s: "U"]),
    st.sampled_from(["", "11", "0", "999"]),
)
valid_industry_codes = st.builds(
    lambda division, lead, cls: (division[0] if lead else "") + division[1] + cls,
    st.sampled_from(_DIVISIONS),
    st.booleans(),
    st.sampled_from(["", "11", "90"]),
)
occupation_codes = st.from_regex(r"\A[0-9](-[0-9]{2}){0,4}\Z")
generated_values = st.one_of(
    st.none(),
    valid_ids,
    st.builds(lambda body, check: body + check, id_bodies(), st.sampled_from("0123456789X")),
    id_bodies(),
    near_miss(valid_ids),
    valid_usccs,
    uscc_bodies,
    near_miss(valid_usccs),
    region_codes,
    six_digits,
    near_miss(region_codes),
    industry_codes,
    valid_industry_codes,
    occupation_codes,
    st.text(alphabet=_TRICKY, max_size=20),
    st.text(max_size=20),
)


@EQUIVALENCE
@given(st.lists(generated_values, min_size=1, max_size=40))
def test_macros_agree_with_python_on_generated_values(con: duckdb.DuckDBPyConnection, values: list) -> None:
    calls = list(TWINS)
    rows = sql_column(con, f"({', '.join(calls)})", values)
    for value, row in zip(values, rows, strict=True):
        for call, got in zip(calls, row, strict=True):
            assert got == python_or_none(TWINS[call], value), (call, value)


@EQUIVALENCE
@given(st.lists(st.one_of(valid_ids, st.none()), min_size=1, max_size=20), st.none() | birth_dates)
def test_id_problem_latest_birth_agrees(
    con: duckdb.DuckDBPyConnection, values: list[str | None], latest: date | None
) -> None:
    got = sql_column(con, "id_problem(s, latest_birth := $latest)", values, latest=latest)
    assert got == [codes.id_problem(v, latest_birth=latest) for v in values]


@EQUIVALENCE
@given(st.lists(st.tuples(st.none() | st.dates(), st.none() | st.dates()), min_size=1, max_size=20))
def test_age_on_agrees(con: duckdb.DuckDBPyConnection, pairs: list[tuple[date | None, date | None]]) -> None:
    rows = con.execute(
        "SELECT age_on(p.b, p.r) FROM (SELECT unnest($p::STRUCT(b DATE, r DATE)[]) AS p, "
        "generate_subscripts($p::STRUCT(b DATE, r DATE)[], 1) AS i) ORDER BY i",
        {"p": [{"b": b, "r": r} for b, r in pairs]},
    ).fetchall()
    assert [row[0] for row in rows] == [codes.age_on(b, r) for b, r in pairs]
