"""Reading a delivered file into DuckDB as text: the first room of ingestion.

A file arrives as CSV (UTF-8, UTF-8 with BOM or GB18030, detected), XLSX (first sheet, form metadata above the
header) or Parquet. Whatever the format, `read_into(con, path, source, table)` leaves a temporary DuckDB view of
VARCHAR columns named by the contract (Chinese or English headers mapped, extra columns kept under their own
name) plus `row_number`, over a temporary table of the rows in file order, and returns what it learnt about the
file. Values are still text: typing and the row rules are the next room (`normalize`, `rules`). A file
that cannot be read as a whole raises `FileRefused` with one of the codes of `docs/reason-codes.md`, and nothing
is left behind.

Both are TEMP on purpose: they hold ID numbers and phone numbers in clear, so they must never reach the
warehouse file (see `wfm.ingest.pseudonym`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import string
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from wfm import errors
from wfm.contract import COLUMNS, Source, header_aliases
from wfm.errors import FileRefused
from wfm.ingest.inbox import literal_path
from wfm.warehouse import sql_identifier

CHUNK = 1 << 22  # bytes read at a time while detecting and transcoding


@dataclass
class FileInfo:
    file_format: str  # csv | xlsx | parquet
    encoding: str | None  # utf-8 | utf-8-sig | gb18030 (CSV only)
    rows_read: int
    columns: list[str]  # canonical names present, in file order
    extra_columns: list[str] = field(default_factory=list)
    form_metadata: list[str] = field(default_factory=list)  # XLSX lines above the header


def normalize_header(name: object) -> str:
    return unicodedata.normalize("NFKC", str(name or "")).strip()


#: Names the reader gives columns of its own: the view's `row_number` and DuckDB's `rowid`, which a column of
#: that name would hide. An extra column named so is kept as `<name> (column <n>)`.
RESERVED = frozenset({"row_number", "rowid"})
#: DuckDB compares names with ASCII letters folded, and only those.
_ASCII_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
#: The longest header, sheet or file text a message shows.
SHOWN_CHARS = 60


def shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """Delivery text (a header, a suffix) as a message may show it: escaped (`wfm.errors.shown`), cut to `limit`."""
    return errors.shown(text, limit)


def map_headers(headers: list[str], source: Source, path: Path) -> tuple[list[str], list[str]]:
    """Header cells → canonical names; unknown headers are kept (as extra columns) under their own name.

    A first row that names fewer than half of the required columns is not taken for a header (a file sent
    without one has data there, an ID number or an enterprise code): the refusal counts the columns it names
    and quotes none of its cells."""
    aliases = header_aliases(source)
    mapped: list[str] = []
    extra: list[str] = []
    for position, raw in enumerate(headers, 1):
        name = normalize_header(raw)
        canonical = aliases.get(name) or aliases.get(name.lower())
        if canonical is None:
            # An extra column keeps its header as its name; quotes become `_` so the name is safe in SQL.
            canonical = re.sub(r"[\"']", "_", name) or f"unnamed_{position}"
            if canonical.translate(_ASCII_FOLD) in RESERVED:
                canonical = f"{canonical} (column {position})"
            extra.append(canonical)
        mapped.append(canonical)
    required = [c.name for c in COLUMNS[source] if c.header_required]
    named = [c for c in required if c in mapped]
    if len(named) * 2 < len(required):
        raise FileRefused(
            f"the first row names {len(named)} of the {len(required)} required columns: it is not this "
            "source's header (a file must start with its header row)",
            file=path.name,
            rule="missing_column:header",
        )
    seen: dict[str, str] = {}
    for canonical in mapped:
        key = canonical.translate(_ASCII_FOLD)
        if key in seen:
            name = shown(canonical)
            raise FileRefused(
                f"column {name} appears twice"
                if seen[key] == canonical
                else f"columns {shown(seen[key])} and {name} differ only in letter case, which SQL names do not tell "
                "apart",
                file=path.name,
                column=name,
                rule=f"duplicate_column:{name}",
            )
        seen[key] = canonical
    missing = [c for c in required if c not in mapped]
    if missing:
        raise FileRefused(
            f"required column {missing[0]} is missing"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
            file=path.name,
            column=missing[0],
            rule=f"missing_column:{missing[0]}",
        )
    return mapped, extra


# --- CSV -------------------------------------------------------------------------------------------------------


def _refuse_binary(path: Path) -> bytes:
    """Refuse UTF-16 and files with NUL bytes (binary files): both decoders would accept their bytes. Returns
    the file's first bytes, which tell a UTF-8 BOM."""
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
            raise FileRefused("the file is UTF-16; send UTF-8 or GB18030", file=path.name, rule="encoding")
        fh.seek(0)
        while chunk := fh.read(CHUNK):
            if b"\x00" in chunk:
                raise FileRefused("the file holds NUL bytes: not a text CSV", file=path.name, rule="encoding")
    return head


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as UTF-8, else GB18030 if it decodes as that.

    GB18030 accepts most byte sequences that are not UTF-8, so it is tried second; NUL bytes (UTF-16, binary
    files) are refused first because both decoders would accept them. (`_read_csv` leaves the UTF-8 test of a
    file to DuckDB, which makes it while reading, and decodes here only a file DuckDB found not to be UTF-8.)
    """
    head = _refuse_binary(path)
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8" and head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        return encoding
    raise FileRefused("the file is neither UTF-8 nor GB18030", file=path.name, rule="encoding")


def _utf8_copy(path: Path, encoding: str, workdir: Path) -> Path:
    """DuckDB reads UTF-8 only (no `encodings` extension offline): transcode other encodings to a work copy."""
    if encoding == "utf-8":
        return path
    target = workdir / "delivery.utf8.csv"  # a name of its own: the delivery's may be too long, or a pattern
    with path.open("r", encoding=encoding, newline="") as src, target.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
    return target


def _csv_header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8", newline="") as fh:
        try:
            return next(csv.reader(fh))
        except StopIteration:
            return []
        except csv.Error as exc:
            raise FileRefused(
                f"the header cannot be parsed ({exc})", file=path.name, row=0, rule="unreadable"
            ) from None


def _ends_mid_row(path: Path, n_columns: int) -> bool:
    """True when the file stops inside its last row: no line break (LF or CR) at its end, and a last line with
    an open quote or too few fields. Asked only of a file DuckDB could not read: a quoted value may span lines,
    so a last line alone does not tell a complete file from a cut one."""
    with path.open("rb") as fh:
        fh.seek(0, io.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    if not tail or tail.endswith((b"\n", b"\r")):
        return False
    cut = max(tail.rfind(b"\n"), tail.rfind(b"\r"))
    if cut < 0 and size > len(tail):
        return False  # a last line longer than the tail read: DuckDB's reason stands
    last = tail[cut + 1 :].decode("utf-8", errors="replace")
    try:
        fields = next(csv.reader([last], strict=True))
    except (csv.Error, StopIteration):
        return True
    return last.count('"') % 2 == 1 or len(fields) < n_columns


def _csv_refusal(message: str, path: Path, utf8: Path, n_columns: int) -> FileRefused:
    """The refusal for DuckDB's CSV error `message`. The message quotes the offending line, which may hold
    personal data: only the line's number, sizes and field counts are taken from it."""
    line = re.search(r"[Ll]ine:? (\d+)", message)
    row = int(line.group(1)) - 1 if line else None
    if too_long := re.search(r"Maximum line size of (\d+) bytes exceeded\. Actual Size:\s*(\d+)", message):
        limit, size = (int(n) for n in too_long.groups())
        return FileRefused(
            f"a row is {size:,} bytes long; a row may hold at most {limit:,} bytes",
            file=path.name,
            row=row,
            rule="row_too_long",
        )
    if _ends_mid_row(utf8, n_columns):
        return FileRefused("the file ends in the middle of a row", file=path.name, rule="truncated")
    if "unterminated quote" in message:
        return FileRefused("a quoted value is opened and never closed", file=path.name, row=row, rule="unreadable")
    if fields := re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message):
        expected, found = fields.groups()
        return FileRefused(
            f"a row has {found} fields where the header has {expected}", file=path.name, row=row, rule="unreadable"
        )
    return FileRefused("a row does not parse as CSV", file=path.name, row=row, rule="unreadable")


class _NotUtf8(Exception):
    """The file turned out not to be UTF-8 while it was read as UTF-8."""


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, source: Source, table: str, workdir: Path) -> FileInfo:
    """Read a CSV as UTF-8, DuckDB checking every byte as it reads (a UTF-8 BOM is skipped); only a file that
    is not UTF-8 is decoded in Python, to tell GB18030 from neither, and transcoded to a UTF-8 work copy.

    Decoding every file in Python first would hold the interpreter through the large files, while the import
    of Great Expectations needs it too. DuckDB's test is as strict as Python's
    (it refuses overlong forms and surrogates too)."""
    encoding = "utf-8-sig" if _refuse_binary(path).startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return _load_csv(con, path, path, source, table, encoding)
    except (_NotUtf8, FileRefused) as first:
        # the encoding is judged first: another refusal stands only for a UTF-8 file
        encoding = detect_encoding(path)  # refuses a file that is neither UTF-8 nor GB18030
        if encoding != "gb18030" and isinstance(first, FileRefused):
            raise
    try:
        return _load_csv(con, path, _utf8_copy(path, encoding, workdir), source, table, encoding)
    except _NotUtf8:  # Python decodes as UTF-8 a byte sequence DuckDB refuses: not hidden, not guessed at
        raise FileRefused(
            f"DuckDB refuses a byte sequence of this file, which Python decodes as {encoding}",
            file=path.name,
            rule="encoding",
        ) from None


def _load_csv(
    con: duckdb.DuckDBPyConnection, path: Path, utf8: Path, source: Source, table: str, encoding: str
) -> FileInfo:
    """Load `utf8` (the delivered file `path`, or its UTF-8 copy) as text; `_NotUtf8` when it is not UTF-8."""
    try:
        headers = _csv_header(utf8)
    except UnicodeDecodeError:
        raise _NotUtf8 from None
    if not headers:
        raise FileRefused("the file is empty", file=path.name, rule="empty")
    if headers and headers[0].startswith("\ufeff"):
        headers[0] = headers[0][1:]
    names, extra = map_headers(headers, source, path)
    # Read every field as text under the mapped name; strict parsing refuses ragged rows instead of padding them.
    columns = ", ".join(f"'{i}': 'VARCHAR'" for i in range(len(names)))
    select = ", ".join(f'"{i}" AS {sql_identifier(name)}' for i, name in enumerate(names))
    try:
        with literal_path(utf8) as name:
            con.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE {table} AS
                SELECT {select}
                FROM read_csv(?, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
                              columns = {{{columns}}}, strict_mode = true, null_padding = false,
                              all_varchar = true, parallel = true)""",
                [name],
            )
    except duckdb.Error as exc:
        if "Invalid unicode" in str(exc):
            raise _NotUtf8 from None
        raise _csv_refusal(str(exc), path, utf8, len(names)) from None
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return FileInfo("csv", encoding, rows, [n for n in names if n not in extra], extra)


# --- XLSX ------------------------------------------------------------------------------------------------------


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, source: Source, table: str) -> FileInfo:
    import openpyxl  # imported here: only XLSX deliveries pay its import time

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise FileRefused(
            f"the workbook cannot be opened ({type(exc).__name__})", file=path.name, rule="unreadable"
        ) from None
    try:
        sheet = book.worksheets[0]
        aliases = header_aliases(source)
        required = [c.name for c in COLUMNS[source] if c.header_required]
        metadata: list[str] = []
        rows = sheet.iter_rows(values_only=True)
        headers: list[str] | None = None
        for row in rows:
            cells = [normalize_header(v) for v in row]
            named = {aliases.get(c) for c in cells} & set(required)
            if len(named) * 2 >= len(required):
                headers = cells
                break
            text = " ".join(str(v).strip() for v in row if v is not None and str(v).strip())
            if text:
                metadata.append(text)  # kept as printed on the form, not normalised
        if headers is None:
            raise FileRefused(
                "no row of the first sheet names half of the required columns",
                file=path.name,
                rule="missing_column:header",
            )
        while headers and not headers[-1]:
            headers.pop()
        names, extra = map_headers(headers, source, path)
        data: list[list[str | None]] = [[] for _ in names]
        for row in rows:
            values = [_cell_text(v) for v in row[: len(names)]]
            if all(v is None or not str(v).strip() for v in values):
                continue  # blank lines under a form are layout, not rows
            values += [None] * (len(names) - len(values))
            for column, value in zip(data, values, strict=True):
                column.append(value)
    finally:
        book.close()
    if not data or not data[0]:
        raise FileRefused("the sheet has no data rows", file=path.name, rule="empty")
    arrow = pa.table({name: pa.array(col, pa.string()) for name, col in zip(names, data, strict=True)})
    con.register(f"{table}_arrow", arrow)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {table}_arrow")
    con.unregister(f"{table}_arrow")
    return FileInfo("xlsx", None, arrow.num_rows, [n for n in names if n not in extra], extra, metadata)


# --- Parquet ---------------------------------------------------------------------------------------------------


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, source: Source, table: str) -> FileInfo:
    with literal_path(path) as name:
        return _read_parquet_named(con, path, name, source, table)


def _read_parquet_named(con: duckdb.DuckDBPyConnection, path: Path, name: str, source: Source, table: str) -> FileInfo:
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [name]).fetchall()
    except duckdb.Error:
        raise FileRefused("not a readable Parquet file", file=path.name, rule="unreadable") from None
    headers = [row[0] for row in described]
    names, extra = map_headers(headers, source, path)
    select = ", ".join(
        f"CAST({sql_identifier(h)} AS VARCHAR) AS {sql_identifier(n)}" for h, n in zip(headers, names, strict=True)
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {select} FROM read_parquet(?)",
        [name],
    )
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if rows == 0:
        raise FileRefused("the file has no data rows", file=path.name, rule="empty")
    return FileInfo("parquet", None, rows, [n for n in names if n not in extra], extra)


@contextmanager
def _file_order(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Keep insertion order while a file is read and numbered, for this connection alone (a session setting:
    another connection of the process, ingesting the other source, keeps the warehouse's setting)."""
    con.execute("SET SESSION preserve_insertion_order = true")
    try:
        yield
    finally:
        con.execute("RESET SESSION preserve_insertion_order")


def read_into(con: duckdb.DuckDBPyConnection, path: Path, source: Source, table: str) -> FileInfo:
    """Load `path` as text into TEMP view `table`; raise FileRefused if the file cannot be taken as a whole.

    `drop_text` removes the view with the table it reads. `row_number` is the data row's place in
    the file, the number quarantine and raw report: each reader writes the rows in file order into
    `<table>_rows`, with DuckDB's insertion order kept for the statement (the warehouse runs with it off, and a
    parallel read of a large file would otherwise store them out of order), so a row's `rowid` there is its
    place. The view numbers them from it: a `row_number() OVER ()` in the read would run on one thread. Call
    it outside an open transaction: until the statement commits, DuckDB numbers the new rows from 2^55, not
    from 0."""
    suffix = path.suffix.lower()
    rows = f"{table}_rows"
    with _file_order(con):
        if suffix in (".xlsx", ".xlsm"):
            info = _read_xlsx(con, path, source, rows)
        elif suffix == ".parquet":
            info = _read_parquet(con, path, source, rows)
        elif suffix in (".csv", ".txt"):
            with tempfile.TemporaryDirectory(prefix="wfm-ingest-") as workdir:
                info = _read_csv(con, path, source, rows, Path(workdir))
        else:
            raise FileRefused(
                f"unknown file type '{shown(suffix)}' (expected .csv, .xlsx or .parquet)",
                file=path.name,
                rule="unreadable",
            )
    if info.rows_read == 0:
        con.execute(f"DROP TABLE IF EXISTS {rows}")
        raise FileRefused("the file has a header but no data rows", file=path.name, rule="empty")
    (first,) = con.execute(f"SELECT min(rowid) FROM {rows}").fetchone()
    if first != 0:  # a caller's open transaction: the row numbers would be wrong, so nothing goes on
        con.execute(f"DROP TABLE IF EXISTS {rows}")
        raise RuntimeError("read_into was called inside an open transaction; row numbers need its rows committed")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT rowid + 1 AS row_number, * FROM {rows}")
    return info


def drop_text(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Drop what `read_into` made for `table`: the view and the rows it numbers."""
    con.execute(f"DROP VIEW IF EXISTS {table}")
    con.execute(f"DROP TABLE IF EXISTS {table}_rows")
