"""Value normalisation: text as sent → typed values, with the reason when a value cannot be typed.

Second room of ingestion, after `wfm.ingest.formats`. Every value is trimmed and NFKC-normalised (full-width digits and
letters become ASCII), the missing markers become NULL, numbers lose their thousands separators, yes/no words,
skill-level names and code labels become their codes. Each column yields its parse (the number or code read from
the text, computed once per row), one SQL expression for its typed value and one for each problem
(`<column>_<rule>`), all evaluated by DuckDB over the whole batch at once.

The word lists (missing markers, yes/no words, skill-level names, code lists) are data in
`src/wfm/reference/code_lists.csv`, not literals here.
"""

from __future__ import annotations

from functools import cache

import duckdb
import pyarrow.compute as pc
from duckdb.sqltypes import VARCHAR

from wfm.contract import Column
from wfm.ingest.codes import load_reference
from wfm.warehouse import sql_literal

#: Contract ranges (data-contract.md). Bounds are inclusive; None = unbounded; `positive` = strictly above 0.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "age": (16, 75),
    "monthly_wage": (0, 1_000_000),
    "weekly_hours": (0, 112),
    "overtime_hours_month": (0, 200),
    "training_hours_12m": (0, 2000),
    "sense_achievement": (1, 5),
    "sense_gain": (1, 5),
    "sense_happiness": (1, 5),
}
POSITIVE = {"design_weight"}
#: a number written with thousands separators: 1,234 or -12,345,678.9
_THOUSANDS = r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?"
#: 2^63 as a double: the first whole number a BIGINT cannot hold
_BIGINT_END = "9223372036854775808.0"


@cache
def code_lists() -> dict[str, dict[str, str]]:
    """list_name → {accepted spelling (code or label, lower-cased) → canonical code}."""
    lists: dict[str, dict[str, str]] = {}
    for row in load_reference("code_lists"):
        spellings = lists.setdefault(row["list_name"], {})
        canonical = row.get("value") or row["code"]
        for spelling in (row["code"], row.get("label_zh") or "", row.get("label_en") or ""):
            if spelling:
                spellings.setdefault(spelling.lower(), canonical)
    return lists


def _mapping_case(value: str, mapping: dict[str, str], result_type: str) -> str:
    whens = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in sorted(mapping.items()))
    return f"CAST(CASE lower({value}) {whens} END AS {result_type})"


def missing_markers() -> list[str]:
    """The missing markers, lower-cased (compared with the lower-cased value), always including ''."""
    return sorted({row["code"].lower() for row in load_reference("code_lists") if row["list_name"] == "missing"} | {""})


def yes_no_case(value: str) -> str:
    return _mapping_case(value, code_lists()["yesno"], "BOOLEAN")


def typed(col: Column, value: str) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]]:
    """(typed-value SQL, [(reason code, condition SQL)], [(name, SQL)]) for one column whose cleaned text is `value`.

    The third part names the column's parse (the number read from the text, the code a label maps to): computed
    once per row in a step before the typed values, under those names, which the typed value and the conditions
    read. Written inline, the parse would appear up to ten times per column, and DuckDB's planner would spend
    single-threaded time on every file finding the copies again (its common-subexpression pass)."""
    name = col.name
    problems: list[tuple[str, str]] = []
    steps: list[tuple[str, str]] = []

    def step(kind: str, sql: str) -> str:
        steps.append((f"{name}__{kind}", sql))
        return f'"{name}__{kind}"'

    if col.kind in ("int", "number"):
        # thousands separators only where they separate thousands: '1,5' or '1,2,3' is not a number (not 15
        # or 123); a value without a comma goes straight to the cast
        grouped = f"regexp_full_match({value}, '{_THOUSANDS}')"
        number = step(
            "number",
            f"TRY_CAST(CASE WHEN NOT contains({value}, ',') THEN {value} "
            f"WHEN {grouped} THEN replace({value}, ',', '') END AS DOUBLE)",
        )
        # 'inf', 'nan' and '1e400' parse as doubles, but to no number a statistic can use: not numbers here, typed
        # as NULL (so no cross-column rule adds a reason of its own), and no range rule.
        problems.append((f"{name}_not_number", f"{value} IS NOT NULL AND NOT coalesce(isfinite({number}), false)"))
        bounds = []
        if col.kind == "int":
            problems.append((f"{name}_not_integer", f"{number} <> floor({number})"))
            # a whole number beyond BIGINT (1e30) is out of range; CAST would fail the whole file's query. NaN and
            # infinities fail `abs(…) < …` (DuckDB orders NaN above every number), so they are not cast either.
            result = (
                f"CASE WHEN {number} = floor({number}) AND abs({number}) < {_BIGINT_END} "
                f"THEN CAST({number} AS BIGINT) END"
            )
            bounds.append(f"abs({number}) >= {_BIGINT_END}")
        else:
            result = f"CASE WHEN isfinite({number}) THEN {number} END"
        low, high = RANGES.get(name, (0, None))
        if name in POSITIVE:
            bounds.append(f"{number} <= 0")
        else:
            bounds += [f"{number} < {low}" if low is not None else "", f"{number} > {high}" if high else ""]
        outside = " OR ".join(b for b in bounds if b)
        problems.append((f"{name}_out_of_range", f"isfinite({number}) AND ({outside})"))
    elif col.kind in ("yesno", "code", "skill"):
        if col.kind == "yesno":
            mapped = yes_no_case(value)
        elif col.kind == "code":
            mapped = _mapping_case(value, code_lists()[name], "INTEGER")
        else:
            mapped = _mapping_case(value, code_lists()["skill_level"], "VARCHAR")
        result = step("code", mapped)
        problems.append((f"{name}_invalid_code", f"{value} IS NOT NULL AND {result} IS NULL"))
    elif col.kind == "timestamp":
        formats = ", ".join(
            sql_literal(f)
            for f in (
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%dT%H:%M:%S",
                "%Y/%m/%d %H:%M:%S",
                "%Y-%m-%d %H:%M",
                "%Y/%m/%d %H:%M",
                "%Y-%m-%d",
                "%Y/%m/%d",
                "%Y-%m-%d %H:%M:%S.%f",
            )
        )
        result = step("time", f"try_strptime({value}, [{formats}])")
        problems.append((f"{name}_bad_format", f"{value} IS NOT NULL AND {result} IS NULL"))
    elif name == "craftsman_title":
        titles = sorted(set(code_lists()["craftsman_title"].values()))
        result = value
        problems.append((f"{name}_invalid_code", f"{value} IS NOT NULL AND NOT {equals_any(value, titles)}"))
    elif name in ("uscc", "employer_uscc", "id_number"):
        result = f"upper({value})"
    else:
        result = value
    if name in ("survey_wave", "report_period"):
        problems.append((f"{name}_bad_format", f"NOT regexp_full_match({value}, '[0-9]{{4}}(Q[1-4])?')"))
    if col.value_required:
        problems.append((f"{name}_missing", f"{value} IS NULL"))
    return result, problems, steps


class Nfkc:
    """A DuckDB function `nfkc(text)` backed by Arrow's vectorised Unicode normalisation, registered on a
    connection and callable from its cursors too (DuckDB keeps one such function per database: a cursor cannot
    register its own while the connection's is there).

    Used as a context manager: the function is removed afterwards (a Python UDF left registered on a connection
    makes the DuckDB binding report leaks at interpreter exit). Enter it outside any transaction: a function
    registered inside one that then rolls back is gone from DuckDB's catalog but not from the binding's list,
    which refuses to register it again on that connection.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def __enter__(self) -> Nfkc:
        self.con.complete()  # DuckDB 2.0 refuses to register a function while a fetchone() result is open
        self.con.create_function(
            "nfkc", lambda arr: pc.utf8_normalize(arr, "NFKC"), [VARCHAR], VARCHAR, type="arrow", side_effects=False
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.complete()
        self.con.remove_function("nfkc")


#: Printable ASCII and the CJK Unified Ideographs (U+4E00–9FFF) are NFKC-stable, and nearly every value is made
#: of them alone (codes, numbers, 是/否, names): those never leave DuckDB. Anything else (tabs and line breaks,
#: full-width digits, circled numbers, ligatures, compatibility ideographs …) goes through the real NFKC (`Nfkc`)
#: and the full trim. tests/ingest/test_formats.py holds the result equal to Python's unicodedata. (U+0001 is allowed:
#: it separates the values in `special_row`.)
_SPECIAL = r"[^\x{01}\x{20}-\x{7E}\x{4E00}-\x{9FFF}]"
#: A value of the row joined by `special_row` that starts or ends with a space (a value is between two U+0001
#: or at an end of the joined text; a NULL is left out of it, not joined as an empty value).
_EDGE_SPACE = r"^ |\x{01} | \x{01}| $"


def special_row(columns: list[str]) -> str:
    """SQL: true when any of the row's `columns` holds a character outside `_SPECIAL`'s plain set, or starts or
    ends with a space: the rows whose values `nfkc_text(plain=True)` would not leave as they are.

    One regular expression over the joined row instead of one per value, and the rare special rows normalised
    apart: at a million rows of 35 columns, a test per value, a trim with a character list and the Python NFKC
    function called on every chunk that holds one special value would be most of the checking time. Testing the
    spaces here too spares the other rows a trim of every value.
    """
    return f"regexp_matches(concat_ws(chr(1), {', '.join(columns)}), '{_SPECIAL}|{_EDGE_SPACE}')"


def nfkc_text(column: str, plain: bool = False) -> str:
    """SQL: trimmed, NFKC-normalised text. `plain`: the value's row is known to hold only plain characters and
    no value with a space at either end (`special_row` is false), so the value is already normalised;
    otherwise the value is tested alone, and only a value with a special character goes through NFKC (a
    Python function) and the full trim, the others through a trim of spaces."""
    if plain:
        return column
    full = f"trim(nfkc({column}), ' \t\r\n')"
    return f"CASE WHEN regexp_matches({column}, '{_SPECIAL}') THEN {full} ELSE trim({column}) END"


def missing_to_null(column: str) -> str:
    """SQL: NULL for the missing markers (`—`, `-`, `无`, `NA`, empty), compared case-blind, else the value."""
    return f"CASE WHEN {equals_any(f'lower({column})', missing_markers())} THEN NULL ELSE {column} END"


def equals_any(expression: str, values: list[str]) -> str:
    """SQL: `expression` equals one of `values` (NULL when it is NULL), as `IN (…)` would say.

    Written as equalities joined by OR because DuckDB plans an `IN` list of constants as a join against the
    list (the `in_clause` rewrite), one per column here, which makes the query that checks a file slower to
    plan and to run, on ten rows as on a national wave, for the same result."""
    return "(" + " OR ".join(f"{expression} = {sql_literal(v)}" for v in values) + ")"
