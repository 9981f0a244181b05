"""Staging: a file read into a TEMP table becomes checked, typed, pseudonymised rows and quarantined rows; the
step of ingestion between reading a file (`wfm.ingest.formats`) and gating its batch (`wfm.ingest.batch`).

The row rules (`wfm.ingest.rules`) give every row its reasons; rows without one go into the batch (a landing
table, or straight into the source's raw table inside the caller's transaction), the others into
`audit.quarantine` as sent, with their personal fields masked. ID numbers are hashed (`wfm.ingest.pseudonym`)
before anything is written to the warehouse file.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import duckdb

from wfm.contract import COLUMNS, RAW_TABLE, Source
from wfm.errors import FileRefused
from wfm.ingest import formats, pseudonym, rules
from wfm.ingest.inbox import SOURCES
from wfm.warehouse import contract_columns

PERSONAL = [c.name for source in SOURCES for c in COLUMNS[source] if c.kind == "personal"]


def masked_json(columns: list[str], alias: str) -> str:
    """SQL: the row as sent, as JSON, with personal fields replaced by a mask."""
    pairs = ", ".join(
        f"'{c}', "
        + (
            f"CASE WHEN {alias}.\"{c}\" IS NULL THEN NULL ELSE '{pseudonym.MASK}' END"
            if c in PERSONAL
            else f'{alias}."{c}"'
        )
        for c in columns
    )
    return f"json_object({pairs})"


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
) -> int:
    """Check and pseudonymise a file read into TEMP `text` (`formats.read_into`): accepted rows into the new table
    `landing`, or, with None, straight into the source's raw table (the caller's transaction takes them out
    again if the gate refuses the batch); the others into audit.quarantine, stamped `loaded`. Inside the
    caller's transaction; returns the number of rows accepted."""
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
    extras = info.extra_columns
    extra_pairs = ", ".join(f"'{e}', t.\"{e}\"" for e in extras)
    extra_json = f"json_object({extra_pairs})" if extras else "CAST(NULL AS JSON)"
    person_key = f"CASE WHEN c.id_number IS NOT NULL THEN {pseudonym.hmac_sql('c.id_number')} END AS person_key"
    ordered = [person_key if name == "person_key" else f'c."{name}"' for name, _ in contract_columns(source)]
    # the file's text is joined back only for columns outside the contract: joining it for every row would
    # cost a pass over the whole file
    rows = f"{checked} c JOIN {text} t USING (row_number)" if extras else f"{checked} c"
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
    con.execute(
        f"INSERT INTO audit.quarantine SELECT '{sha}', '{source}', c.row_number, c.reasons, "
        f"{masked_json([*info.columns, *extras], 't')}, ?, ? FROM {checked} c JOIN {text} t USING (row_number) "
        f"WHERE c.reasons <> ''",
        [run_id, loaded],
    )
    con.execute(f"DROP TABLE {checked}")
    return accepted


def file_extra(info: formats.FileInfo) -> dict[str, str | None]:
    """What audit.load_log keeps of how the file was written."""
    return {
        "encoding": info.encoding,
        "file_format": info.file_format,
        "form_metadata": json.dumps(info.form_metadata, ensure_ascii=False) if info.form_metadata else None,
    }
