"""A write of Great Expectations' store cut short (a full disk, a killed night) does not break later nights."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import survey_rows, write_csv

from wfm.config import Home
from wfm.gate import context
from wfm.ingest import ingest_all


def test_empty_results_and_pages_left_by_a_full_disk_are_dropped_and_made_again(
    home: Home, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    first = write_csv(tmp_path / "w1.csv", survey_rows(6))
    (out,) = ingest_all(home, [("survey", first)])
    assert out.outcome == "loaded"
    results = [p for p in (home.gx / "uncommitted" / "validations").rglob("*.json")]
    pages = [p for p in (home.gx / "uncommitted" / "data_docs").rglob("*.html") if "validations" in p.parts]
    assert results and pages
    for path in (*results, *pages):
        path.write_bytes(b"")  # what a full disk leaves
    context._SESSIONS.by_dir.clear()  # as the next night's process
    capsys.readouterr()
    second = write_csv(tmp_path / "w2.csv", survey_rows(6, prefix="S"))
    (out,) = ingest_all(home, [("survey", second)])
    printed = capsys.readouterr()
    assert out.outcome == "loaded"
    assert "Traceback" not in printed.out + printed.err
    assert not [
        p for p in home.gx.rglob("*") if p.is_file() and p.suffix in {".json", ".html"} and not p.stat().st_size
    ]
    assert (home.gx / "uncommitted" / "data_docs" / "local_site" / "index.html").stat().st_size > 0
