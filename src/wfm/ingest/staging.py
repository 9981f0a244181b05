"""Staging: a file read into a TEMP table becomes checked, typed, pseudonymised rows and quarantined rows; the
step of ingestion between reading a file (`wfm.ingest.formats`) and gating its batch (`wfm.ingest.batch`).

The row rules (`wfm.ingest.rules`) give every row its reasons; rows without one go into the batch (a landing
table, or straight into the source's raw table inside the caller's transaction), the others into
`audit.quarantine` as sent, with their personal fields masked. ID numbers are hashed (`wfm.ingest.pseudonym`)
before anything is written to the warehouse file.

Personal data outside the contract's personal columns (`wfm.ingest.personal`) is masked where it is written: in
the values of extra columns, in every value of a quarantined row (an ID number typed into a free-text or code
column), and in the form's lines kept in the load log. A column outside the contract whose header names contact
data is dropped; the load log names it. The masking costs a pass over a file's text only when the file has extra
columns, and over its quarantined rows.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import duckdb

from wfm.contract import COLUMNS, RAW_TABLE, Source
from wfm.errors import FileRefused
from wfm.ingest import formats, personal, pseudonym, rules
from wfm.ingest.inbox import SOURCES
from wfm.warehouse import contract_columns, sql_identifier, sql_literal

PERSONAL = [c.name for source in SOURCES for c in COLUMNS[source] if c.kind == "personal"]
#: the line `file_extra` adds to the form metadata when columns were dropped, before their names
DROPPED_NOTE = "wfm: columns dropped as personal data:"


def kept_extras(info: formats.FileInfo) -> tuple[list[str], list[str]]:
    """The file's columns outside the contract: (kept, dropped as personal data by their header)."""
    dropped = [e for e in info.extra_columns if personal.personal_header(e)]
    return [e for e in info.extra_columns if e not in dropped], dropped


#: up to this many extra columns, each value is masked by its own expression; beyond it, by one expression over
#: the list of the row's values. An expression costs DuckDB some 10 ms to bind, so thousands of columns would
#: take minutes, while the list costs more per row (a million rows with one extra column: under 0.1 s per column,
#: about 1 s as a list).
FEW_COLUMNS = 16


def row_values(columns: list[str], alias: str) -> str:
    """SQL: the row's values as sent, a list in the order of `columns`, the contract's personal fields masked."""
    mask = sql_literal(pseudonym.MASK)
    values = (f"{alias}.{sql_identifier(c)}" for c in columns)
    return (
        "["
        + ", ".join(
            f"CASE WHEN {v} IS NULL THEN NULL ELSE {mask} END" if c in PERSONAL else v
            for c, v in zip(columns, values, strict=True)
        )
        + "]"
    )


def json_of(columns: list[str], values: list[str]) -> str:
    """SQL: a JSON object of `columns` → the SQL `values`."""
    return f"json_object({', '.join(f'{sql_literal(c)}, {v}' for c, v in zip(columns, values, strict=True))})"


def masked(value: str, form_line: str | None = None) -> str:
    """SQL: a value of the row with personal data masked (`personal.scrub_sql`). With `form_line`, SQL that is
    true for a line of a form read as a row (a value that is only a contact label, `填表人：`), every value of
    such a row but its labels is masked."""
    scrubbed = personal.scrub_sql(value)
    if form_line is not None:
        label = personal.label_only_sql(value)
        scrubbed = f"CASE WHEN {form_line} AND NOT {label} THEN {sql_literal(pseudonym.MASK)} ELSE {scrubbed} END"
    return f"CASE WHEN {value} IS NOT NULL THEN {scrubbed} END"


def form_line_sql(values: str) -> str:
    """SQL: whether a value of the list `values` is nothing but a contact label (a form's line read as a row)."""
    return f"coalesce(list_bool_or(list_transform({values}, lambda v: {personal.label_only_sql('v')})), false)"


def stage_rows(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: Source,
    sha: str,
    run_id: str,
    text: str,
    info: formats.FileInfo,
    landing: str | None,
    loaded: datetime,
    keys: Path | None = None,
) -> int:
    """Check and pseudonymise a file read into TEMP `text` (`formats.read_into`): accepted rows into the new table
    `landing`, or, with None, straight into the source's raw table (the caller's transaction takes them out
    again if the gate refuses the batch); the others into audit.quarantine, stamped `loaded`. Inside the
    caller's transaction; returns the number of rows accepted.

    `keys`: a Parquet file to write the quarantined rows' typed duplicate keys to (`rules.DUPLICATE_KEY`), by
    row number: the scaled-out night checks them against the batches promoted before this one
    (`wfm.ingest.prepared`)."""
    checked = f"checked_{sha[:16]}"
    ipad, opad = pseudonym.hmac_pads(pseudonym.secret_key())
    try:  # the caller registered `nfkc` (Nfkc) before its transaction began
        con.execute(f"CREATE OR REPLACE TEMP TABLE {checked} AS {rules.checked_sql(source, text, info.columns)}")
    except duckdb.Error as exc:
        # The rules type any text, a bad value becoming a reason; a value they fail on is a bug, which refuses the
        # file (kept in rejected/ for a re-run) rather than ending the night. DuckDB's message may quote the value
        # (an ID number), so only its kind is told.
        raise FileRefused(
            f"the row checks failed on a value ({type(exc).__name__}); the file is kept for a re-run",
            file=path.name,
            rule="row_rules",
        ) from None
    extras, _ = kept_extras(info)
    # the file's text is joined back only for columns outside the contract: joining it for every row would
    # cost a pass over the whole file
    rows, extra_json = f"{checked} c", "CAST(NULL AS JSON)"
    if len(extras) > FEW_COLUMNS:  # the masked values as one list beside the checked row (no contract name)
        extras_list = f"list_transform({row_values(extras, 't')}, lambda v: {masked('v')})"
        rows = f"(SELECT c.*, {extras_list} AS wfm_extras FROM {checked} c JOIN {text} t USING (row_number)) c"
        extra_json = json_of(extras, [f"c.wfm_extras[{i}]" for i in range(1, len(extras) + 1)])
    elif extras:
        rows = f"{checked} c JOIN {text} t USING (row_number)"
        extra_json = json_of(extras, [masked(f"t.{sql_identifier(e)}") for e in extras])
    person_key = f"CASE WHEN c.id_number IS NOT NULL THEN {pseudonym.hmac_sql('c.id_number')} END AS person_key"
    ordered = [person_key if name == "person_key" else f'c."{name}"' for name, _ in contract_columns(source)]
    into = f"INSERT INTO {RAW_TABLE[source]}" if landing is None else f"CREATE OR REPLACE TABLE {landing} AS"
    try:
        (accepted,) = con.execute(
            f"{into} SELECT '{sha}' AS batch_id, c.row_number, {', '.join(ordered)}, "
            f"{extra_json} AS extra_columns, TIMESTAMP '{loaded}' AS loaded_at FROM {rows} WHERE c.reasons = ''",
            {"ipad": ipad, "opad": opad} if source == "survey" else None,
        ).fetchone()
    except duckdb.ConstraintException as missing:
        # raw's required columns are NOT NULL (wfm.warehouse.required_columns): an accepted row without one
        # means the row rules missed it, a bug; the file is refused whole and kept for a re-run. Only the
        # column is taken from DuckDB's message (another constraint's message could quote a value).
        named = re.search(r"NOT NULL constraint failed: \w+\.(\w+)", str(missing))
        column = named.group(1) if named else None
        raise FileRefused(
            "an accepted row lacks a value the warehouse requires; the file is kept for a re-run",
            file=path.name,
            column=column,
            rule="raw_not_null",
        ) from None
    quarantine_rows(
        con, f"SELECT row_number, reasons FROM {checked} WHERE reasons <> ''", text, info, sha, source, run_id, loaded
    )
    if keys is not None:
        key = ", ".join(rules.DUPLICATE_KEY[source][0])
        quarantined = f"SELECT row_number, {key} FROM {checked} WHERE reasons <> ''"
        con.execute(f"COPY ({quarantined}) TO {sql_literal(keys)} (FORMAT parquet)")
    con.execute(f"DROP TABLE {checked}")
    return accepted


def quarantine_rows(
    con: duckdb.DuckDBPyConnection,
    reasons: str,
    text: str,
    info: formats.FileInfo,
    sha: str,
    source: Source,
    run_id: str,
    loaded: datetime,
) -> None:
    """Rows of a file read into TEMP `text` into audit.quarantine, stamped `loaded`, with their values as sent and
    personal data masked: `reasons` is a query giving the `row_number` and `reasons` of each row to quarantine."""
    extras, _ = kept_extras(info)
    sent = [*info.columns, *extras]
    # derived tables rather than LATERAL joins, which DuckDB binds slowly for a wide file: per quarantined row,
    # its values as a list, whether it is a form's line, then the masked values
    values = (
        f"SELECT q.row_number, q.reasons, {row_values(sent, 't')} AS vals FROM ({reasons}) q "
        f"JOIN {text} t USING (row_number)"
    )
    lines = f"SELECT row_number, reasons, vals, {form_line_sql('vals')} AS form_line FROM ({values})"
    mask = masked("v", "form_line")
    masks = f"SELECT row_number, reasons, list_transform(vals, lambda v: {mask}) AS m FROM ({lines})"
    con.execute(
        f"INSERT INTO audit.quarantine SELECT '{sha}', '{source}', q.row_number, q.reasons, "
        f"{json_of(sent, [f'q.m[{i}]' for i in range(1, len(sent) + 1)])}, ?, ? FROM ({masks}) q",
        [run_id, loaded],
    )


def file_extra(info: formats.FileInfo) -> dict[str, str | None]:
    """What audit.load_log keeps of how the file was written: its encoding, format and form metadata (the lines
    of an XLSX form above its header, personal data in them masked), followed, when columns outside the contract
    were dropped as personal data, by a line `DROPPED_NOTE` naming them."""
    lines = [personal.scrub_text(line) for line in info.form_metadata]
    _, dropped = kept_extras(info)
    if dropped:
        lines.append(f"{DROPPED_NOTE} {', '.join(personal.scrub_text(name) for name in dropped)}")
    return {
        "encoding": info.encoding,
        "file_format": info.file_format,
        "form_metadata": json.dumps(lines, ensure_ascii=False) if lines else None,
    }
