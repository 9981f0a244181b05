"""Row rules: every contract rule a single row can break, as one vectorised DuckDB query per batch.

Third room of ingestion: after `formats` (text) and `normalize` (typed values), each row gets the list of
reason codes of every rule it breaks (`docs/reason-codes.md`). A row with no reason is accepted; any reason sends
it to quarantine. The code rules (GB 32100, GB 11643, GB/T 2260, GB/T 4754, occupation codes) are the SQL macros of
`wfm.ingest.codes`, held equal to their Python twins by tests. Duplicates are checked against the batch itself and
against what the warehouse already holds: a row is a duplicate when an earlier row of the file or a row in `raw`
has its key. Both are semi-joins: a row_number() window over the key would carry every column through its
sort.
"""

from __future__ import annotations

from wfm.contract import COLUMNS, RAW_TABLE, Column, Source
from wfm.ingest.normalize import missing_to_null, nfkc_text, special_row, typed
from wfm.ingest.personal import holds_personal_sql

#: Cross-column rules of the contract: (reason code, condition on typed columns).
CROSS_RULES: dict[str, list[tuple[str, str]]] = {
    "survey": [
        ("training_hours_without_training", "trained_12m = false AND training_hours_12m > 0"),
    ],
    "enterprise": [
        ("frontline_workers_exceeds_total", "frontline_workers > employees_total"),
        ("dispatched_workers_exceeds_total", "dispatched_workers > employees_total"),
        ("contract_signed_exceeds_employees", "contract_signed > employees_total - dispatched_workers"),
        (
            "skill_counts_exceed_total",
            "coalesce(skill_l0, 0) + coalesce(skill_l1, 0) + coalesce(skill_l2, 0) + coalesce(skill_l3, 0)"
            " + coalesce(skill_l4, 0) + coalesce(skill_l5, 0) + coalesce(skill_l6, 0) + coalesce(skill_l7, 0)"
            " > employees_total",
        ),
        ("payroll_total_not_positive", "employees_total > 0 AND payroll_total <= 0"),
        ("edu_fund_frontline_exceeds_used", "edu_fund_frontline > edu_fund_used"),
        ("union_members_exceeds_total", "union_members > employees_total"),
        ("collective_contract_covered_exceeds_total", "collective_contract_covered > employees_total"),
        (
            "collective_contract_covered_without_contract",
            "collective_contract = false AND collective_contract_covered > 0",
        ),
        ("teams_without_party_member_exceeds_teams", "teams_without_party_member > teams_total"),
        ("hires_under35_exceeds_hires", "hires_under35 > hires"),
        ("migrant_workers_exceeds_total", "migrant_workers > employees_total"),
    ],
}

#: Each code check is computed once per row (the macros of codes.sql) under a name the rules read.
CODE_PROBLEMS: dict[str, list[tuple[str, str]]] = {
    "survey": [
        ("_id", "id_problem(id_number)"),
        ("_region", "region_problem(region_code)"),
        ("_uscc", "uscc_problem(employer_uscc)"),
        ("_industry", "industry_problem(industry_code)"),
        ("_occupation", "occupation_problem(occupation_code)"),
    ],
    "enterprise": [
        ("_uscc", "uscc_problem(uscc)"),
        ("_region", "region_problem(region_code)"),
        ("_industry", "industry_problem(industry_code)"),
    ],
}

#: Code rules: (reason code, condition on the code problems above and the typed columns).
CODE_RULES: dict[str, list[tuple[str, str]]] = {
    "survey": [
        ("id_number_bad_format", "_id = 'bad_format'"),
        ("id_number_check_digit", "_id = 'check_digit'"),
        ("sex_id_mismatch", "_id IS NULL AND sex <> id_sex(id_number)"),
        # Reference date: 30 June of the wave's year (the generator uses the same); a malformed wave has its own
        # reason and no reference date, so it cannot make the age disagree. TRY_CAST: DuckDB may compute the year
        # of a row whose wave fails the format test, and a CAST of 'ab26' would fail the whole file's query.
        (
            "age_id_mismatch",
            "_id IS NULL AND regexp_full_match(survey_wave, '[0-9]{4}(Q[1-4])?') AND "
            "abs(age - age_on(id_birth_date(id_number), make_date(TRY_CAST(left(survey_wave, 4) AS INTEGER), 6, 30)))"
            " > 1",
        ),
        ("region_code_bad_format", "_region = 'bad_format'"),
        ("region_code_unknown_province", "_region = 'unknown_province'"),
        ("employer_uscc_bad_format", "_uscc = 'bad_format'"),
        ("employer_uscc_check_digit", "_uscc = 'check_digit'"),
        ("industry_code_invalid", "_industry IS NOT NULL"),
        ("occupation_code_invalid", "_occupation IS NOT NULL"),
    ],
    "enterprise": [
        ("uscc_bad_format", "_uscc = 'bad_format'"),
        ("uscc_check_digit", "_uscc = 'check_digit'"),
        ("region_code_bad_format", "_region = 'bad_format'"),
        ("region_code_unknown_province", "_region = 'unknown_province'"),
        ("industry_code_invalid", "_industry IS NOT NULL"),
    ],
}

#: Columns whose values are checked against a format or code list of their own: an ID or phone number there is
#: refused by that rule (and masked in the quarantine), so the personal-data rule leaves them alone.
FORMAT_CHECKED = {
    "survey_wave",
    "report_period",
    "region_code",
    "employer_uscc",
    "uscc",
    "industry_code",
    "occupation_code",
    "submitted_at",
}


def personal_rule(col: Column) -> tuple[str, str] | None:
    """(`<col>_personal_data`, condition) for a free-text or number column of the contract: an ID number, phone
    number or e-mail address in it. A number column's value is tested only from 11 characters on (the shortest
    phone number), which spares nearly every value the test."""
    if col.kind == "personal" or col.name in FORMAT_CHECKED or col.kind not in ("text", "int", "number"):
        return None
    value = f'"{col.name}"'
    condition = holds_personal_sql(value)
    if col.kind != "text":
        condition = f"CASE WHEN length({value}) >= 11 THEN {condition} ELSE false END"
    return (f"{col.name}_personal_data", condition)


#: What makes a row a duplicate: the key, and the reason code given to every occurrence after the first.
DUPLICATE_KEY: dict[str, tuple[tuple[str, ...], str]] = {
    "survey": (("survey_wave", "respondent_id"), "respondent_id_duplicate"),
    "enterprise": (("report_period", "uscc", "submitted_at"), "uscc_duplicate"),
}


def _reasons_sql(conditions: list[tuple[str, str]]) -> str:
    """SQL for the comma-separated codes of the conditions that hold (NULL conditions do not hold)."""
    # CASE WHEN, not coalesce(cond, false): a NULL condition does not hold either way, and as a CASE's condition
    # DuckDB evaluates an AND's later terms only for the rows its earlier ones let through
    parts = [f"CASE WHEN ({cond}) THEN '{code}' END" for code, cond in conditions if cond]
    return f"concat_ws(',', {', '.join(parts)})"


def checked_sql(source: Source, text_table: str, present: list[str]) -> str:
    """SQL selecting, from the text table, every contract column typed plus `reasons` (comma-separated codes)."""
    columns: list[Column] = list(COLUMNS[source])
    quoted_present = [f'"{c.name}"' for c in columns if c.name in present]

    def normalised(special: bool) -> str:
        # a special row's values are tested one by one: NFKC, a Python function, then gets the few values that
        # need it rather than all of the row's (a special row nearly always has a single special value)
        return ",\n      ".join(
            nfkc_text(f'"{c.name}"', plain=not special) + f' AS "{c.name}"'
            if c.name in present
            else f'CAST(NULL AS VARCHAR) AS "{c.name}"'
            for c in columns
        )

    clean = ",\n      ".join(missing_to_null(f'"{c.name}"') + f' AS "{c.name}"' for c in columns)
    typed_cols: list[str] = []
    value_problems: list[tuple[str, str]] = []
    parses: list[tuple[str, str]] = []
    for col in columns:
        expr, problems, steps = typed(col, f'"{col.name}"')
        typed_cols.append(f'{expr} AS "{col.name}"')
        value_problems += problems
        if (rule := personal_rule(col)) is not None:
            value_problems.append(rule)
        parses += steps
    key, dup_code = DUPLICATE_KEY[source]

    def same_key(alias: str) -> str:
        return " AND ".join(f"{alias}.{k} = coded.{k}" for k in key)

    key_not_null = " AND ".join(f"{k} IS NOT NULL" for k in key)
    raw = RAW_TABLE[source]
    return f"""
    WITH flagged AS (
      SELECT {", ".join(["row_number", *quoted_present])},
        {special_row(quoted_present) if quoted_present else "false"} AS _special
      FROM {text_table}
    ),
    normalised AS (
      SELECT row_number,
      {normalised(special=False)}
      FROM flagged WHERE NOT _special
      UNION ALL
      SELECT row_number,
      {normalised(special=True)}
      FROM flagged WHERE _special
    ),
    clean AS (
      SELECT row_number,
      {clean}
      FROM normalised
    ),
    parsed AS (
      SELECT *{"".join(f', {sql} AS "{name}"' for name, sql in parses)}
      FROM clean
    ),
    value_checked AS (
      SELECT row_number,
      {", ".join(typed_cols)},
      {_reasons_sql(value_problems)} AS value_reasons
      FROM parsed
    ),
    coded AS (
      SELECT *, {", ".join(f"{expr} AS {alias}" for alias, expr in CODE_PROBLEMS[source])}
      FROM value_checked
    ),
    rule_checked AS (
      SELECT *,
        {_reasons_sql(CODE_RULES[source] + CROSS_RULES[source])} AS rule_reasons,
        {key_not_null} AND (
          EXISTS (SELECT 1 FROM coded earlier WHERE {same_key("earlier")} AND earlier.row_number < coded.row_number)
          OR EXISTS (SELECT 1 FROM {raw} r WHERE {same_key("r")})
        ) AS is_duplicate
      FROM coded
    )
    SELECT * EXCLUDE (value_reasons, rule_reasons, is_duplicate, {", ".join(a for a, _ in CODE_PROBLEMS[source])}),
      concat_ws(',', nullif(value_reasons, ''), nullif(rule_reasons, ''),
                CASE WHEN is_duplicate THEN '{dup_code}' END) AS reasons
    FROM rule_checked
    """
