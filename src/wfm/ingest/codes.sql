-- Code-list validators as DuckDB macros: the set-at-a-time twins of the functions in wfm/ingest/codes.py.
--
-- Ingestion applies these rules to every row of a batch. On a million-row file a per-row Python call is the
-- slow path, so the same rules exist here, evaluated by DuckDB over whole columns. Each macro has the name,
-- arguments and results of its Python twin, and tests/ingest/test_codes.py holds them to agreement: a problem
-- macro returns the reason suffix ('bad_format', 'check_digit', 'unknown_province', 'invalid'), or NULL when
-- the value is valid or NULL. Inputs are already normalised
-- (trimmed, NFKC, upper-cased): nothing here trims or folds.
--
-- Installed by wfm.ingest.codes.install_sql(con), which first creates the ref.* tables that region_problem,
-- industry_section and occupation_problem read: the code lists live in wfm/reference/*.csv, not in this file.
-- Macros whose names start with an underscore skip the format check; they are for use inside this file.
--
-- The check-character sums are written out term by term: list_sum(list_transform(...)) over a weight list is
-- markedly slower.


-- GB 32100-2015 unified social credit code ------------------------------------------------------------------

-- Value of a character = its 0-based index in the GB 32100 alphabet (no I, O, S, V, Z).
CREATE OR REPLACE MACRO _uscc_value(c) AS instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c) - 1;

-- C18 = 31 - (sum of value * weight mod 31), where 31 is written 0; weights are 3^(i-1) mod 31.
CREATE OR REPLACE MACRO _uscc_check_char(b) AS substr(
    '0123456789ABCDEFGHJKLMNPQRTUWXY',
    1 + (31 - (
          _uscc_value(substr(b, 1, 1)) * 1
        + _uscc_value(substr(b, 2, 1)) * 3
        + _uscc_value(substr(b, 3, 1)) * 9
        + _uscc_value(substr(b, 4, 1)) * 27
        + _uscc_value(substr(b, 5, 1)) * 19
        + _uscc_value(substr(b, 6, 1)) * 26
        + _uscc_value(substr(b, 7, 1)) * 16
        + _uscc_value(substr(b, 8, 1)) * 17
        + _uscc_value(substr(b, 9, 1)) * 20
        + _uscc_value(substr(b, 10, 1)) * 29
        + _uscc_value(substr(b, 11, 1)) * 25
        + _uscc_value(substr(b, 12, 1)) * 13
        + _uscc_value(substr(b, 13, 1)) * 8
        + _uscc_value(substr(b, 14, 1)) * 24
        + _uscc_value(substr(b, 15, 1)) * 10
        + _uscc_value(substr(b, 16, 1)) * 30
        + _uscc_value(substr(b, 17, 1)) * 28
    ) % 31) % 31,
    1
);

-- NULL where Python's uscc_check_char raises (not 17 characters of the alphabet).
CREATE OR REPLACE MACRO uscc_check_char(first17) AS
    CASE WHEN regexp_full_match(first17, '[0-9A-HJ-NPQRTUWXY]{17}') THEN _uscc_check_char(first17) END;

CREATE OR REPLACE MACRO uscc_problem(s) AS CASE
    WHEN s IS NULL THEN NULL
    WHEN NOT regexp_full_match(s, '[0-9A-HJ-NPQRTUWXY]{18}') THEN 'bad_format'
    WHEN _uscc_check_char(s) <> substr(s, 18, 1) THEN 'check_digit'
END;

CREATE OR REPLACE MACRO uscc_valid(s) AS CASE WHEN s IS NOT NULL THEN uscc_problem(s) IS NULL END;


-- GB 11643-1999 citizen identity number ---------------------------------------------------------------------

-- ISO 7064 MOD 11-2: "10X98765432"[sum of digit * weight mod 11], weights 2^(18-i) mod 11. A digit's value is
-- its code point - 48 rather than a CAST: DuckDB may evaluate (constant-fold) a CASE branch for a value that
-- failed the format test, and a CAST would then raise where this merely computes a meaningless number.
CREATE OR REPLACE MACRO _id_check_char(b) AS substr(
    '10X98765432',
    1 + (
          (ascii(substr(b, 1, 1)) - 48) * 7
        + (ascii(substr(b, 2, 1)) - 48) * 9
        + (ascii(substr(b, 3, 1)) - 48) * 10
        + (ascii(substr(b, 4, 1)) - 48) * 5
        + (ascii(substr(b, 5, 1)) - 48) * 8
        + (ascii(substr(b, 6, 1)) - 48) * 4
        + (ascii(substr(b, 7, 1)) - 48) * 2
        + (ascii(substr(b, 8, 1)) - 48) * 1
        + (ascii(substr(b, 9, 1)) - 48) * 6
        + (ascii(substr(b, 10, 1)) - 48) * 3
        + (ascii(substr(b, 11, 1)) - 48) * 7
        + (ascii(substr(b, 12, 1)) - 48) * 9
        + (ascii(substr(b, 13, 1)) - 48) * 10
        + (ascii(substr(b, 14, 1)) - 48) * 5
        + (ascii(substr(b, 15, 1)) - 48) * 8
        + (ascii(substr(b, 16, 1)) - 48) * 4
        + (ascii(substr(b, 17, 1)) - 48) * 2
    ) % 11,
    1
);

-- NULL where Python's id_check_char raises (not 17 digits).
CREATE OR REPLACE MACRO id_check_char(first17) AS
    CASE WHEN regexp_full_match(first17, '[0-9]{17}') THEN _id_check_char(first17) END;

-- Positions 7-14 as a date, NULL when the day does not exist (19490230) or is before 1900. The year test is a
-- string comparison because the four characters are known to be digits; try_strptime rejects impossible days.
CREATE OR REPLACE MACRO _id_birth(s) AS
    CASE WHEN substr(s, 7, 4) >= '1900' THEN CAST(try_strptime(substr(s, 7, 8), '%Y%m%d') AS DATE) END;

-- Well formed = not a bad format (without a latest birth date); the derived fields are read from these.
CREATE OR REPLACE MACRO _id_well_formed(s) AS
    regexp_full_match(s, '[0-9]{17}[0-9X]') AND _id_birth(s) IS NOT NULL;

CREATE OR REPLACE MACRO id_problem(s, latest_birth := NULL) AS CASE
    WHEN s IS NULL THEN NULL
    WHEN NOT regexp_full_match(s, '[0-9]{17}[0-9X]') THEN 'bad_format'
    WHEN _id_birth(s) IS NULL THEN 'bad_format'
    -- A comparison with a NULL latest_birth is NULL, which CASE treats as false: no upper bound.
    WHEN _id_birth(s) > latest_birth THEN 'bad_format'
    WHEN _id_check_char(s) <> substr(s, 18, 1) THEN 'check_digit'
END;

CREATE OR REPLACE MACRO id_valid(s) AS CASE WHEN s IS NOT NULL THEN id_problem(s) IS NULL END;

-- 17th digit odd = male (1), even = female (2), as the contract codes sex. The code point of '0' is 48,
-- so the code point has the digit's parity (and, as above, never raises).
CREATE OR REPLACE MACRO id_sex(s) AS
    CASE WHEN _id_well_formed(s) THEN 2 - ascii(substr(s, 17, 1)) % 2 END;

CREATE OR REPLACE MACRO id_birth_date(s) AS
    CASE WHEN regexp_full_match(s, '[0-9]{17}[0-9X]') THEN _id_birth(s) END;

CREATE OR REPLACE MACRO id_province(s) AS
    CASE WHEN _id_well_formed(s) THEN substr(s, 1, 2) END;

-- Completed years: one less than the difference of years until the birthday (month and day) is reached.
CREATE OR REPLACE MACRO age_on(birth, ref_date) AS
    year(ref_date) - year(birth)
    - CASE WHEN month(ref_date) * 100 + day(ref_date) < month(birth) * 100 + day(birth) THEN 1 ELSE 0 END;


-- GB/T 2260 administrative division code --------------------------------------------------------------------

CREATE OR REPLACE MACRO region_problem(s) AS CASE
    WHEN s IS NULL THEN NULL
    WHEN NOT regexp_full_match(s, '[0-9]{6}') THEN 'bad_format'
    WHEN substr(s, 1, 2) NOT IN (SELECT code FROM ref.provinces) THEN 'unknown_province'
END;


-- GB/T 4754-2017 industry code ------------------------------------------------------------------------------

-- Accepted shapes are 2 or 4 digits, optionally after one letter, so an odd length means a leading letter:
-- the division starts at position 1 + length % 2. A letter must be the division's own section.
CREATE OR REPLACE MACRO industry_section(s) AS CASE
    WHEN regexp_full_match(s, '[A-Z]?[0-9]{2}([0-9]{2})?') THEN (
        SELECT d.section
        FROM ref.industry_divisions AS d
        WHERE d.division = substr(s, 1 + length(s) % 2, 2)
          AND (length(s) % 2 = 0 OR d.section = substr(s, 1, 1))
    )
END;

CREATE OR REPLACE MACRO industry_problem(s) AS CASE
    WHEN s IS NULL THEN NULL
    WHEN industry_section(s) IS NULL THEN 'invalid'
END;


-- 职业分类大典 (2022) occupation code -------------------------------------------------------------------

CREATE OR REPLACE MACRO occupation_problem(s) AS CASE
    WHEN s IS NULL THEN NULL
    WHEN NOT regexp_full_match(s, '[0-9](-[0-9]{2}){0,3}') THEN 'invalid'
    WHEN substr(s, 1, 1) NOT IN (SELECT code FROM ref.occupation_major_groups) THEN 'invalid'
END;
