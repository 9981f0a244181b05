"""Writing the files: CSV (UTF-8, UTF-8 with BOM, GB18030), XLSX (form metadata above the header), Parquet.

Last room of the generator. Output must be byte-for-byte reproducible from the seed: CSV is assembled here (so
quoting is the minimal RFC 4180 kind a reporting system writes), XLSX is re-zipped with fixed entry times and
fixed document dates, Parquet carries no timestamps. Also writes the files that must be refused whole (missing
column, no data rows, truncated mid-row, undecodable encoding, not a readable workbook) into `refused/<source>/`.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wfm.contract import COLUMNS
from wfm_synthetic.layout import Sheet
from wfm_synthetic.render import text_table, typed_table

FIXED_TIME = (2026, 1, 1, 0, 0, 0)  # zip entry times and document dates of every XLSX
_NUMERIC = re.compile(r"-?\d+(\.\d+)?")

#: form metadata above the header of an official statistical form (表号, 制定机关, 批准文号, 有效期至, 计量单位)
_FORM_COMMON = [["制定机关：", "中华全国总工会"], ["批准文号：", "国统制〔2025〕18号"], ["有效期至：", "2028年12月"]]
FORM_METADATA = {
    "survey": [
        ["产业工人队伍状况抽样调查 个人问卷数据"],
        ["表    号：", "总工统调1表"],
        *_FORM_COMMON,
        ["计量单位：", "元，小时"],
    ],
    "enterprise": [
        ["企业产业工人队伍建设情况统计报表"],
        ["表    号：", "总工统2表"],
        *_FORM_COMMON,
        ["计量单位：", "人，万元"],
    ],
}
EXTRA_COLUMN = "备注"
_REMARKS = ["已核实", "数据来自人事系统", "含派遣,外包人员", "第一行说明\n第二行说明", "补报"]


def header_and_order(sheet: Sheet, rng: np.random.Generator) -> tuple[list[str], list[str | None]]:
    """Column labels as the file writes them, and the contract column under each (None: the extra column)."""
    cols = list(COLUMNS[sheet.source])
    order = [cols[i] for i in rng.permutation(len(cols))] if sheet.style.shuffle else cols
    lang = sheet.style.header if sheet.style.fmt != "parquet" else "en"
    zh = rng.random(len(order)) < 0.5
    labels = [c.label_zh if lang == "zh" or (lang == "mixed" and z) else c.name for c, z in zip(order, zh, strict=True)]
    names: list[str | None] = [c.name for c in order]
    if sheet.style.extra_column:
        at = int(rng.integers(0, len(labels) + 1))
        labels.insert(at, EXTRA_COLUMN)
        names.insert(at, None)
    return labels, names


def _extra_values(n: int, rng: np.random.Generator) -> pa.Array:
    pick = np.where(rng.random(n) < 0.03, rng.integers(0, len(_REMARKS), n), -1)
    pick[: min(n, 1)] = 3  # the first row's remark spans two lines: a quoted line break
    return pa.array([_REMARKS[p] if p >= 0 else None for p in pick.tolist()], type=pa.string())


def _quote(column: pa.Array) -> pa.Array:
    """RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled."""
    needs = pc.fill_null(pc.match_substring_regex(column, r'[,"\r\n]'), False)
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, column)


def csv_bytes(
    labels: list[str], columns: list[pa.Array], newline: str = "\n", check: list[bool] | None = None
) -> bytes:
    """The CSV text, UTF-8, assembled column-wise (no Python loop over rows). `check`: which columns may need
    quoting (scanning a million codes for commas that cannot be there costs seconds)."""
    header = ",".join(_quote(pa.array(labels)).to_pylist()) + newline
    check = check or [True] * len(columns)
    quoted = [_quote(c) if q else c for c, q in zip(columns, check, strict=True)]
    rows = pc.binary_join_element_wise(*quoted, ",", null_handling="replace", null_replacement="")
    lines = pc.binary_join_element_wise(rows, pa.scalar(""), newline)  # row + newline
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    if len(lines) == 0:
        return header.encode("utf-8")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
    body = lines.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]
    return header.encode("utf-8") + body


def encode(text_utf8: bytes, encoding: str) -> bytes:
    if encoding == "utf-8":
        return text_utf8
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + text_utf8
    return text_utf8.decode("utf-8").encode(encoding)


def write_csv(sheet: Sheet, path: Path, rng: np.random.Generator) -> None:
    columns, dirty = text_table(sheet, rng)
    labels, names = header_and_order(sheet, rng)
    n = len(sheet.data)
    ordered = [columns[nm] if nm is not None else _extra_values(n, rng) for nm in names]
    check = [nm is None or nm in dirty for nm in names]
    data = csv_bytes(labels, ordered, "\r\n" if sheet.style.crlf else "\n", check)
    path.write_bytes(encode(data, sheet.style.encoding or "utf-8"))


def _cell(value: str | None, kind: str, yesno_numeric: bool):
    """XLSX cells keep native types: numbers as numbers, dates as dates; variants and defects stay text."""
    if value is None or value == "":
        return None
    numeric = kind in ("int", "number", "code") or (kind == "yesno" and yesno_numeric)
    if numeric and _NUMERIC.fullmatch(value):
        return float(value) if "." in value else int(value)
    if kind == "timestamp":
        try:
            return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return value
    return value


def write_xlsx(sheet: Sheet, path: Path, rng: np.random.Generator) -> int:
    """Write the first sheet; returns the number of rows above the header (form metadata)."""
    columns, _ = text_table(sheet, rng)
    labels, names = header_and_order(sheet, rng)
    kinds = {c.name: c.kind for c in COLUMNS[sheet.source]}
    n = len(sheet.data)
    numeric_yesno = sheet.style.yesno == "10"
    lists = [
        [_cell(v, kinds[nm], numeric_yesno) for v in columns[nm].to_pylist()]
        if nm is not None
        else _extra_values(n, rng).to_pylist()
        for nm in names
    ]
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("数据")
    metadata = FORM_METADATA[sheet.source] if sheet.style.metadata else []
    for row in metadata:
        ws.append(row)
    ws.append(labels)
    for row in zip(*lists, strict=True):
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(deterministic_zip(buffer.getvalue()))
    return len(metadata)


def deterministic_zip(data: bytes) -> bytes:
    """Re-zip an XLSX with fixed entry times and fixed created/modified dates in docProps/core.xml."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    rb"\g<1>2026-01-01T00:00:00Z\g<3>",
                    content,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, content)
    return out.getvalue()


def write_parquet(sheet: Sheet, path: Path) -> None:
    pq.write_table(typed_table(sheet), path, compression="snappy")


def write(sheet: Sheet, out_dir: Path, rng: np.random.Generator) -> dict:
    """Write one sheet; returns its manifest entry."""
    path = out_dir / sheet.path
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata_rows = 0
    if sheet.style.fmt == "csv":
        write_csv(sheet, path, rng)
    elif sheet.style.fmt == "xlsx":
        metadata_rows = write_xlsx(sheet, path, rng)
    else:
        write_parquet(sheet, path)
    return {
        "source": sheet.source,
        "format": sheet.style.fmt,
        "encoding": sheet.style.encoding if sheet.style.fmt == "csv" else None,
        "header": sheet.style.header if sheet.style.fmt != "parquet" else "en",
        "shuffled_columns": sheet.style.shuffle,
        "metadata_rows": metadata_rows,
        "extra_column": EXTRA_COLUMN if sheet.style.extra_column and sheet.style.fmt != "parquet" else None,
        "yesno": sheet.style.yesno if sheet.style.fmt != "parquet" else "boolean",
        "rows": len(sheet.data),
    }


# --- files that must be refused whole ------------------------------------------------------------------------


def write_refused(
    sheet: Sheet, out_dir: Path, period: str, rng: np.random.Generator, formats: tuple[str, ...]
) -> dict[str, dict]:
    """From a small clean sheet, one file per refusal kind; returns {path: {"source", "refused"}}."""
    source = sheet.source
    folder = out_dir / "refused" / source
    folder.mkdir(parents=True, exist_ok=True)
    stem = "survey" if source == "survey" else "returns"
    columns, _ = text_table(sheet, rng)
    labels, names = header_and_order(sheet, rng)
    ordered = [columns[nm] for nm in names]
    out: dict[str, dict] = {}

    def record(name: str, data: bytes, code: str) -> None:
        (folder / name).write_bytes(data)
        out[f"refused/{source}/{name}"] = {"source": source, "refused": code}

    dropped = "psu" if source == "survey" else "uscc"
    keep = [i for i, nm in enumerate(names) if nm != dropped]
    record(
        f"{stem}_{period}_missing_column.csv",
        csv_bytes([labels[i] for i in keep], [ordered[i] for i in keep]),
        f"missing_column:{dropped}",
    )
    record(f"{stem}_{period}_empty.csv", csv_bytes(labels, [c.slice(0, 0) for c in ordered]), "empty")
    full = csv_bytes(labels, ordered)
    record(
        f"{stem}_{period}_truncated.csv", _truncate(full, labels, ordered, open_quote=source == "survey"), "truncated"
    )
    record(f"{stem}_{period}_utf16.csv", full.decode("utf-8").encode("utf-16"), "encoding")
    if "xlsx" in formats:
        buffer = io.BytesIO()
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("数据")
        ws.append(labels)
        wb.save(buffer)
        whole = deterministic_zip(buffer.getvalue())
        record(f"{stem}_{period}_broken.xlsx", whole[: len(whole) // 2], "unreadable")
    elif "parquet" in formats:
        record(f"{stem}_{period}_broken.parquet", b"PAR1" + bytes(range(256)) * 4, "unreadable")
    return out


def _truncate(full: bytes, labels: list[str], ordered: list[pa.Array], *, open_quote: bool) -> bytes:
    """The file as an interrupted transfer leaves it: cut inside a quoted field (an open quote), or after a
    field separator of the last row (a last row with too few fields)."""
    n = len(ordered[0])
    head = csv_bytes(labels, [c.slice(0, n - 1) for c in ordered])
    last = [_quote(c.slice(n - 1, 1))[0].as_py() or "" for c in ordered]
    if open_quote:
        return head + ",".join(last[:3]).encode("utf-8") + b',"' + last[3][:2].encode("utf-8")
    return head + ",".join(last[:5]).encode("utf-8") + b","
