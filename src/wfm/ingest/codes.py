"""Code-list validators: the national standards that identifiers and classification codes must obey.

Ingestion applies these rules to every row before it reaches `raw`: a row that breaks one goes to
quarantine with the reason the function returns, prefixed by its column (`uscc_check_digit`,
`region_code_unknown_province` …, see `docs/reason-codes.md`). Each rule exists twice: here as a small pure
Python function, and in `codes.sql` beside it as a DuckDB macro of the same name that computes the same thing
over a whole column at once; `tests/ingest/test_codes.py` holds the two to agreement. The reference code lists both
read (provinces, industry divisions, occupation groups, small code lists) are CSV files in `wfm/reference/`,
described in its README.

The functions receive text that ingestion has already normalised: trimmed, NFKC-folded (so full-width `１`
is already `1`), and upper-cased where the standard is upper-case (USCC letters, the ID number's `X`, the
industry section letter). They do not trim or fold again: `" 110000"` and `"11010519491231002x"` are bad
formats here. `None` (a missing value) gives `None`: whether a value may be missing is the
`<column>_missing` rule's business, not the code's. An empty string is not missing at this point, so it is
a bad format.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import date
from functools import cache
from importlib import resources
from typing import Literal

import duckdb

from wfm.warehouse import has_relation

Problem = Literal["bad_format", "check_digit"]

# --------------------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------------------

#: Reference files (`wfm/reference/<name>.csv`) and the key that identifies a row in each.
REFERENCE_KEYS: dict[str, tuple[str, ...]] = {
    "provinces": ("code",),
    "industry_sections": ("section",),
    "industry_divisions": ("division",),
    "occupation_major_groups": ("code",),
    "code_lists": ("list_name", "code"),
}
#: Columns stored as `true`/`false` in the CSVs; every other column is text (codes keep their leading zeros).
_BOOLEAN_COLUMNS = frozenset({"in_mainland", "industrial_scope"})

#: Schema of the DuckDB tables `register_reference` creates, so SQL rules can join the lists.
REF_SCHEMA = "ref"


@cache
def _read_reference(name: str) -> tuple[dict[str, str | bool], ...]:
    if name not in REFERENCE_KEYS:
        raise ValueError(f"unknown reference list {name!r}; known: {', '.join(REFERENCE_KEYS)}")
    text = resources.files("wfm").joinpath("reference", f"{name}.csv").read_text(encoding="utf-8")
    rows: list[dict[str, str | bool]] = []
    for raw in csv.DictReader(io.StringIO(text)):
        row: dict[str, str | bool] = {}
        for key, value in raw.items():
            if key in _BOOLEAN_COLUMNS:
                if value not in ("true", "false"):
                    raise ValueError(f"reference/{name}.csv: {key} must be true or false, not {value!r}")
                row[key] = value == "true"
            else:
                row[key] = value
        rows.append(row)
    return tuple(rows)


def load_reference(name: str) -> list[dict[str, str | bool]]:
    """The rows of `wfm/reference/<name>.csv`, one dict per row, header names as keys.

    Codes stay text (`"01"`, not `1`); the boolean columns (`in_mainland`, `industrial_scope`) are `bool`. The
    file is read once per process; each call returns fresh dicts, so a caller may modify them.
    """
    return [dict(row) for row in _read_reference(name)]


def register_reference(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) one table `ref.<name>` per reference file on `con`, keyed as `REFERENCE_KEYS` says.

    The tables are loaded from the package's CSVs, never edited in the database, so replacing them is always
    safe and keeps a warehouse in step with the package version that last ran.
    """
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {REF_SCHEMA}")
    for name, key in REFERENCE_KEYS.items():
        rows = _read_reference(name)
        columns = list(rows[0])
        ddl = ", ".join(f"{c} {'BOOLEAN' if c in _BOOLEAN_COLUMNS else 'VARCHAR'} NOT NULL" for c in columns)
        # The primary key makes a duplicated code in a CSV fail loudly here, not double rows in a join.
        con.execute(f"CREATE OR REPLACE TABLE {REF_SCHEMA}.{name} ({ddl}, PRIMARY KEY ({', '.join(key)}))")
        # One parameterised insert per list: values are never pasted into SQL text.
        params = [list(col) for col in zip(*([row[c] for c in columns] for row in rows), strict=True)]
        select = ", ".join(f"unnest(${i + 1})" for i in range(len(columns)))
        con.execute(f"INSERT INTO {REF_SCHEMA}.{name} SELECT {select}", params)


#: The table that names what `install_sql` last installed in a database: the fingerprint of its files.
INSTALLED = f"{REF_SCHEMA}.installed"


def install_sql(con: duckdb.DuckDBPyConnection) -> None:
    """Make the rules of this module available in SQL on `con`: the reference tables, then the macros.

    The macros (`codes.sql` beside it) read `ref.provinces`, `ref.industry_divisions` and
    `ref.occupation_major_groups` when they run, so the tables come first. Both steps are idempotent; in a
    file database the tables and macros persist with it, so dbt models can call the macros too. A database
    that holds them as this package's files define them (`ref.installed` names the files' fingerprint) is
    left as it is: every process that writes the warehouse opens it so, and the tables and macros change only
    with the package.
    """
    fingerprint = _files_fingerprint()
    if _installed(con) == fingerprint:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        register_reference(con)
        con.execute(_macros_sql())
        con.execute(f"CREATE OR REPLACE TABLE {INSTALLED} (fingerprint VARCHAR NOT NULL)")
        con.execute(f"INSERT INTO {INSTALLED} VALUES (?)", [fingerprint])
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _installed(con: duckdb.DuckDBPyConnection) -> str | None:
    if not has_relation(con, *INSTALLED.split(".")):
        return None
    return con.execute(f"SELECT max(fingerprint) FROM {INSTALLED}").fetchone()[0]


@cache
def _macros_sql() -> str:
    return resources.files("wfm.ingest").joinpath("codes.sql").read_text(encoding="utf-8")


@cache
def _files_fingerprint() -> str:
    """SHA-256 over the macros' file and every reference file, as read."""
    digest = hashlib.sha256(_macros_sql().encode())
    for name in REFERENCE_KEYS:
        digest.update(b"\0" + name.encode() + b"\0")
        digest.update(resources.files("wfm").joinpath("reference", f"{name}.csv").read_bytes())
    return digest.hexdigest()


@cache
def _province_codes() -> frozenset[str]:
    return frozenset(str(row["code"]) for row in _read_reference("provinces"))


@cache
def _major_groups() -> frozenset[str]:
    return frozenset(str(row["code"]) for row in _read_reference("occupation_major_groups"))


@cache
def _division_sections() -> dict[str, str]:
    return {str(row["division"]): str(row["section"]) for row in _read_reference("industry_divisions")}


# --------------------------------------------------------------------------------------------------------
# GB 32100-2015 统一社会信用代码 (unified social credit code, USCC)
# --------------------------------------------------------------------------------------------------------

#: The 31 characters GB 32100 allows: digits and capitals without I, O, S, V, Z (too easily misread).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Weights of positions 1–17: 3^(i-1) mod 31, from GB 32100-2015 clause 5.
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUE = {char: value for value, char in enumerate(USCC_ALPHABET)}
_USCC_BODY = re.compile(f"[{USCC_ALPHABET}]{{17}}")
_USCC = re.compile(f"[{USCC_ALPHABET}]{{18}}")


def uscc_check_char(first17: str) -> str:
    """The check character (position 18) of a USCC whose first 17 characters are `first17`.

    GB 32100-2015: C18 = 31 − (Σ value(Ci)·Wi mod 31), where value is the character's index in
    `USCC_ALPHABET`, and a result of 31 is written as 0. Raises `ValueError` unless `first17` is 17
    characters of that alphabet.
    """
    if not _USCC_BODY.fullmatch(first17):
        raise ValueError("a USCC body is 17 characters of 0-9A-HJ-NPQRTUWXY")
    remainder = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True)) % 31
    return USCC_ALPHABET[(31 - remainder) % 31]


def uscc_problem(s: str | None) -> Problem | None:
    """What is wrong with USCC `s` under GB 32100-2015, or `None` when it is valid (or missing).

    `'bad_format'`: not 18 characters of `0-9A-HJ-NPQRTUWXY` (lower case counts as wrong: input is upper-cased
    before it gets here); `'check_digit'`: the 18th character is not the one `uscc_check_char` computes.
    """
    if s is None:
        return None
    if not _USCC.fullmatch(s):
        return "bad_format"
    return None if uscc_check_char(s[:17]) == s[17] else "check_digit"


def uscc_valid(s: str | None) -> bool | None:
    """True when `s` is a valid GB 32100-2015 USCC; `None` for a missing value."""
    return None if s is None else uscc_problem(s) is None


# --------------------------------------------------------------------------------------------------------
# GB 11643-1999 公民身份号码 (citizen identity number)
# --------------------------------------------------------------------------------------------------------

#: Weights 2^(17-i) mod 11 of positions 1–17 (ISO 7064 MOD 11-2, as GB 11643-1999 clause 8 gives them).
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: Check character for each remainder Σ mod 11; `X` stands for 10.
_ID_CHECK = "10X98765432"
_ID_BODY = re.compile(r"[0-9]{17}")
_ID = re.compile(r"[0-9]{17}[0-9X]")
#: Births before this are not plausible for anyone alive to report, and are how typos in the year show up.
ID_EARLIEST_BIRTH = date(1900, 1, 1)


def id_check_char(first17: str) -> str:
    """The check character (`0`–`9` or `X`) of a GB 11643-1999 identity number with these first 17 digits.

    ISO 7064 MOD 11-2: `"10X98765432"[Σ digit_i·W_i mod 11]` with `ID_WEIGHTS`. Raises `ValueError` unless
    `first17` is 17 ASCII digits.
    """
    if not _ID_BODY.fullmatch(first17):
        raise ValueError("an identity number body is 17 digits")
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def _birth(s: str) -> date | None:
    """Positions 7–14 as a date (YYYYMMDD), or None when no such day exists or it is before 1900."""
    try:
        birth = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return None
    return birth if birth >= ID_EARLIEST_BIRTH else None


def id_problem(s: str | None, *, latest_birth: date | None = None) -> Problem | None:
    """What is wrong with identity number `s` under GB 11643-1999, or `None` when it is valid (or missing).

    `'bad_format'`: not 17 digits followed by a digit or `X` (upper case); or positions 7–14 are not a real
    date (`19490230`), or one before 1900-01-01, or — when `latest_birth` is given, e.g. the survey's
    reference date — one after it. `'check_digit'`: the 18th character is not `id_check_char` of the first
    17. The older 15-digit numbers (GB 11643-1989) are bad formats: the contract asks for the 18-digit form.
    """
    if s is None:
        return None
    if not _ID.fullmatch(s):
        return "bad_format"
    birth = _birth(s)
    if birth is None or (latest_birth is not None and birth > latest_birth):
        return "bad_format"
    return None if id_check_char(s[:17]) == s[17] else "check_digit"


def id_valid(s: str | None) -> bool | None:
    """True when `s` is a valid GB 11643-1999 identity number; `None` for a missing value."""
    return None if s is None else id_problem(s) is None


def _well_formed_id(s: str) -> bool:
    # The derived fields are read from any number that is not a bad format, even one with a wrong check
    # character: the row is quarantined for id_number_check_digit anyway, and the correction letter can then
    # also say whether sex and age agree with it.
    return id_problem(s) != "bad_format"


def id_sex(s: str | None) -> Literal[1, 2] | None:
    """Sex as the contract codes it (1 male, 2 female) from the 17th digit: odd is male (GB 11643-1999).

    `None` when `s` is missing or a bad format.
    """
    if s is None or not _well_formed_id(s):
        return None
    return 1 if int(s[16]) % 2 == 1 else 2


def id_birth_date(s: str | None) -> date | None:
    """Date of birth from positions 7–14 (YYYYMMDD); `None` when `s` is missing or a bad format."""
    return _birth(s) if s is not None and _well_formed_id(s) else None


def id_province(s: str | None) -> str | None:
    """The GB/T 2260 province part (first two digits) of the address code that opens the number.

    `None` when `s` is missing or a bad format. Not checked against `provinces.csv`: the number records where
    it was first issued, and no reason code judges that.
    """
    return s[:2] if s is not None and _well_formed_id(s) else None


def age_on(birth: date | None, ref_date: date | None) -> int | None:
    """Completed years (周岁) on `ref_date` of someone born on `birth`; `None` if either is missing.

    The age goes up on the birthday itself; someone born on 29 February gets a year older on 1 March in common
    years. (The contract's age check allows one year either way, so the day-level convention cannot flip it.)
    """
    if birth is None or ref_date is None:
        return None
    before_birthday = (ref_date.month, ref_date.day) < (birth.month, birth.day)
    return ref_date.year - birth.year - before_birthday


# --------------------------------------------------------------------------------------------------------
# GB/T 2260 行政区划代码 (administrative division code)
# --------------------------------------------------------------------------------------------------------

_REGION = re.compile(r"[0-9]{6}")


def region_problem(code: str | None) -> Literal["bad_format", "unknown_province"] | None:
    """What is wrong with a GB/T 2260 administrative division code, or `None` when it is acceptable.

    `'bad_format'`: not six ASCII digits. `'unknown_province'`: the first two digits are not in
    `provinces.csv`: the 31 mainland provinces 11–65, and 71 台湾, 81 香港, 82 澳门, which GB/T 2260 also
    codes. The prefecture and county parts are not checked: that list changes every year and is not shipped.
    """
    if code is None:
        return None
    if not _REGION.fullmatch(code):
        return "bad_format"
    return None if code[:2] in _province_codes() else "unknown_province"


# --------------------------------------------------------------------------------------------------------
# GB/T 4754-2017 国民经济行业分类 (industrial classification for national economic activities)
# --------------------------------------------------------------------------------------------------------

# An optional section letter, then a division (2 digits) or a class (4 digits); 3-digit groups are not
# accepted because the contract asks for a division or a class.
_INDUSTRY = re.compile(r"([A-Z]?)([0-9]{2})((?:[0-9]{2})?)")


def industry_section(code: str | None) -> str | None:
    """The GB/T 4754-2017 section letter (A–T) of a valid industry code; `None` if missing or invalid.

    Forms accepted: `34`, `3411`, `C34`, `C3411`. The division (first two digits) must be one of the 97 in
    `industry_divisions.csv`, and a leading letter must be that division's section.

    Limitation: the standard's 4-digit class list is not available offline, so a class is accepted whenever
    its division exists (`3400` passes although division 34 has no group 340).
    """
    if code is None:
        return None
    match = _INDUSTRY.fullmatch(code)
    if match is None:
        return None
    letter, division, _ = match.groups()
    section = _division_sections().get(division)
    if section is None or letter not in ("", section):
        return None
    return section


def industry_problem(code: str | None) -> Literal["invalid"] | None:
    """`'invalid'` unless `code` is a GB/T 4754-2017 division or class as `industry_section` accepts it.

    `None` for a valid or missing code.
    """
    if code is None:
        return None
    return None if industry_section(code) is not None else "invalid"


# --------------------------------------------------------------------------------------------------------
# 中华人民共和国职业分类大典 (2022) occupation codes
# --------------------------------------------------------------------------------------------------------

# Major group (1 digit), middle group, small group, occupation: `6-18-01-01`, or any leading part of it.
_OCCUPATION = re.compile(r"[0-9](?:-[0-9]{2}){0,3}")


def occupation_problem(code: str | None) -> Literal["invalid"] | None:
    """`'invalid'` unless `code` is a 职业分类大典 (2022) code `X-XX-XX-XX` or a prefix `X`, `X-XX`, `X-XX-XX`
    with the major group X in 1–8 (`occupation_major_groups.csv`); `None` for a valid or missing code.

    Only the shape and the major group are checked: the 1,636 occupations of the 2022 edition are not shipped.
    """
    if code is None:
        return None
    return None if _OCCUPATION.fullmatch(code) and code[0] in _major_groups() else "invalid"
