"""Files as old or careless reporting systems write them: every row of a readable file loads, and a file that
cannot be read is refused with the reason that is true of it, in a message that quotes none of its values."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import enterprise_rows, query, survey_rows, write_csv, write_xlsx

from wfm.config import Home
from wfm.ingest import ingest_file
from wfm.ingest.batch import BatchOutcome


def _refused(home: Home, path: Path, source: str = "survey") -> tuple[str, str]:
    """(reason code, whole reason text) of a file the intake refuses: the outcome, the log and the reason file."""
    name = path.name
    out = ingest_file(home, path, source, "t")
    assert out.outcome == "rejected", out.line()
    assert out.rows_accepted == 0
    ((logged,),) = query(home, "SELECT reason FROM audit.load_log WHERE file_name = ? AND outcome = 'rejected'", [name])
    written = (home.rejected / source / (name + ".reason.txt")).read_text(encoding="utf-8")
    code = written.splitlines()[0]
    assert logged.startswith(code)
    return code, "\n".join([out.line(), logged, written])


def _loaded(home: Home, path: Path, source: str = "survey") -> BatchOutcome:
    out = ingest_file(home, path, source, "t")
    assert out.outcome == "loaded", out.line()
    assert out.rows_read == out.rows_accepted + out.rows_quarantined
    return out


# --- line endings ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_file_with_cr_only_line_endings_loads_every_row(home: Home, tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "mac.csv", survey_rows(7), encoding=encoding, chinese=True)
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\r"))
    assert b"\n" not in path.read_bytes()
    out = _loaded(home, path)
    assert (out.rows_read, out.rows_accepted) == (7, 7)
    assert query(home, "SELECT max(row_number), max(respondent_id) FROM raw.survey_responses") == [(7, "R00006")]


def test_a_cr_only_file_cut_in_its_last_row_is_truncated(home: Home, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "mac.csv", survey_rows(5))
    data = path.read_bytes().replace(b"\r\n", b"\r")
    path.write_bytes(data[:-40])
    assert _refused(home, path)[0] == "truncated"


def test_a_last_value_that_spans_lines_loads_without_a_final_line_break(home: Home, tmp_path: Path) -> None:
    rows = [{**r, "remarks": ""} for r in survey_rows(4)]
    rows[-1]["remarks"] = 'first line\r\nsecond "quoted" line'
    path = write_csv(tmp_path / "w.csv", rows)
    path.write_bytes(path.read_bytes().rstrip(b"\r\n"))
    assert _loaded(home, path).rows_read == 4


def test_a_last_row_longer_than_the_tail_read_loads_without_a_final_line_break(home: Home, tmp_path: Path) -> None:
    rows = [{**r, "remarks": "备注" * 50_000 if i == 3 else ""} for i, r in enumerate(survey_rows(4))]
    path = write_csv(tmp_path / "w.csv", rows)
    path.write_bytes(path.read_bytes().rstrip(b"\r\n"))
    assert _loaded(home, path).rows_read == 4


# --- long rows and broken rows -----------------------------------------------------------------------------------


def test_a_row_longer_than_duckdb_reads_is_refused_as_too_long_not_as_a_broken_quote(
    home: Home, tmp_path: Path
) -> None:
    rows = [{**r, "remarks": "x" * 2_200_000 if i == 2 else ""} for i, r in enumerate(survey_rows(5))]
    code, text = _refused(home, write_csv(tmp_path / "w.csv", rows))
    assert code == "row_too_long"
    assert "row 3" in text and "2,2" in text and "quote" not in text
    assert "xxxx" not in text


def test_a_ragged_row_is_refused_with_its_field_counts_and_no_value(home: Home, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", survey_rows(5))
    lines = path.read_bytes().split(b"\r\n")
    lines[2] += b",R99999-secret"
    path.write_bytes(b"\r\n".join(lines))
    code, text = _refused(home, path)
    assert code == "unreadable"
    assert "row 2" in text and "36 fields where the header has 35" in text
    assert "R99999" not in text and "R00001" not in text


def test_a_quote_never_closed_in_the_middle_is_not_called_truncated(home: Home, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", survey_rows(5))
    path.write_bytes(path.read_bytes().replace(b"R00002", b'"R00002', 1))
    code, text = _refused(home, path)
    assert code == "unreadable" and "never closed" in text and "R00002" not in text


# --- headers -----------------------------------------------------------------------------------------------------


def test_a_header_less_file_is_refused_without_quoting_its_first_row(home: Home, tmp_path: Path) -> None:
    """An enterprise that heads its own group sends its code twice; with the header row missing, its row is the
    first one."""
    rows = []
    for sent in enterprise_rows(3):
        row: dict[str, str] = {}
        for key, value in sent.items():
            row[key] = value
            if key == "uscc":
                row["parent_uscc"] = value
        rows.append(row)
    path = write_csv(tmp_path / "e.csv", rows, source="enterprise")
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    code, text = _refused(home, path, "enterprise")
    assert code == "missing_column:header"
    assert "header" in text
    for value in lines[1].split(","):
        if len(value) >= 3:
            assert value not in text


def test_a_survey_file_without_its_header_names_no_id_number(home: Home, tmp_path: Path) -> None:
    rows = survey_rows(3)
    path = write_csv(tmp_path / "w.csv", rows)
    path.write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[1:]) + "\n", encoding="utf-8")
    code, text = _refused(home, path)
    assert code == "missing_column:header"
    assert rows[0]["id_number"] not in text and rows[0]["respondent_id"] not in text


def test_a_header_name_is_shown_escaped_and_cut_short_in_the_reason(home: Home, tmp_path: Path) -> None:
    hostile = "note\r\n\x1b[2J\x1b[31mrm -rf\u2028" + "y" * 500
    rows = survey_rows(3)
    path = tmp_path / "w.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*rows[0], hostile, hostile])
        writer.writerows([*row.values(), "a", "b"] for row in rows)
    code, text = _refused(home, path)
    assert code.startswith("duplicate_column:note\\r\\n\\x1b[2J\\x1b[31mrm -rf\\u2028yyy")
    assert code.endswith("y…") and len(code) < len("duplicate_column:") + 80
    assert "\x1b" not in text and "\u2028" not in text and "y" * 100 not in text
    assert len((home.rejected / "survey" / "w.csv.reason.txt").read_text(encoding="utf-8").splitlines()) == 2


# --- extra columns named like the reader's own ---------------------------------------------------------------------


@pytest.mark.parametrize("writer", [write_csv, write_xlsx], ids=["csv", "xlsx"])
def test_extra_columns_named_like_the_readers_own_columns_keep_their_values(home: Home, tmp_path: Path, writer) -> None:
    names = ["row_number", "ROWID", "_special", "reasons"]
    rows = [{**r, **{n: f"{n}-{i}" for n in names}} for i, r in enumerate(survey_rows(6))]
    out = _loaded(home, writer(tmp_path / ("w" + (".csv" if writer is write_csv else ".xlsx")), rows))
    assert (out.rows_read, out.rows_accepted) == (6, 6)
    got = query(home, "SELECT row_number, extra_columns FROM raw.survey_responses ORDER BY row_number")
    assert [n for n, _ in got] == [1, 2, 3, 4, 5, 6]
    for n, extras in got:
        assert sorted(json.loads(extras).values()) == sorted(f"{name}-{n - 1}" for name in names)


def test_extra_columns_that_differ_only_in_letter_case_are_refused_not_merged(home: Home, tmp_path: Path) -> None:
    rows = [{**r, "Note": "kept", "note": "lost"} for r in survey_rows(3)]
    code, text = _refused(home, write_csv(tmp_path / "w.csv", rows))
    assert code == "duplicate_column:note" and "letter case" in text
