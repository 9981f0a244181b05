"""Each file exactly once: the same bytes load once, a crash at any point leaves nothing of the file, and the
sources are ingested side by side.

Files are ingested with `docs=False`: these tests read the warehouse, not the Data Docs (tests/gate reads
those), and rendering the Data Docs costs more than ingesting a small file."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from conftest import (
    enterprise_rows,
    quarantine_reasons,
    query,
    survey_rows,
    write_csv,
)

from wfm.config import Home
from wfm.ingest import ingest_all, ingest_file, open_warehouse
from wfm.ingest.prepared import prepare, promote_prepared

# --- exactly once ------------------------------------------------------------------------------------------------


def test_the_same_bytes_twice_load_once(home: Home, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", survey_rows(6))
    copy = tmp_path / "again.csv"
    copy.write_bytes(path.read_bytes())
    assert ingest_file(home, path, "survey", "t", docs=False).outcome == "loaded"
    assert ingest_file(home, copy, "survey", "t", docs=False).outcome == "duplicate"
    assert query(home, "SELECT count(*) FROM raw.survey_responses")[0][0] == 6
    assert sorted(r[0] for r in query(home, "SELECT outcome FROM audit.load_log")) == ["duplicate", "loaded"]


def test_resubmission_keeps_every_version(home: Home, tmp_path: Path) -> None:
    first = enterprise_rows(3)
    ingest_file(home, write_csv(tmp_path / "e1.csv", first, source="enterprise"), "enterprise", "t", docs=False)
    corrected = [dict(first[1], employees_total="520", submitted_at="2026-04-01 09:00:00")]
    ingest_file(home, write_csv(tmp_path / "e2.csv", corrected, source="enterprise"), "enterprise", "t", docs=False)
    versions = query(
        home,
        "SELECT employees_total, submitted_at FROM raw.enterprise_returns WHERE uscc = ? ORDER BY submitted_at",
        [first[1]["uscc"]],
    )
    assert [v[0] for v in versions] == [500, 520]


def test_rows_read_equal_accepted_plus_quarantined(home: Home, tmp_path: Path) -> None:
    rows = survey_rows(10)
    rows[1]["age"] = "200"
    rows[7]["sex"] = "9"
    ingest_file(home, write_csv(tmp_path / "a.csv", rows), "survey", "t", docs=False)
    bad = enterprise_rows(5)
    bad[0]["edu_fund_frontline"] = "99"
    ingest_file(home, write_csv(tmp_path / "b.csv", bad, source="enterprise"), "enterprise", "t", docs=False)
    for read, accepted, quarantined, sha in query(
        home, "SELECT rows_read, rows_accepted, rows_quarantined, file_sha256 FROM audit.load_log"
    ):
        assert read == accepted + quarantined
        stored = query(
            home,
            "SELECT (SELECT count(*) FROM raw.survey_responses WHERE batch_id = $1) + "
            "(SELECT count(*) FROM raw.enterprise_returns WHERE batch_id = $1)",
            [sha],
        )[0][0]
        held = query(home, "SELECT count(*) FROM audit.quarantine WHERE file_sha256 = ?", [sha])[0][0]
        assert (stored, held) == (accepted, quarantined)


def _ingested(home: Home) -> dict[str, list[tuple]]:
    """What ingestion left in the warehouse, without the run's ids and clock times."""
    return {
        "survey": query(home, "SELECT * EXCLUDE (loaded_at) FROM raw.survey_responses ORDER BY ALL"),
        "enterprise": query(home, "SELECT * EXCLUDE (loaded_at) FROM raw.enterprise_returns ORDER BY ALL"),
        "quarantine": query(
            home,
            "SELECT * EXCLUDE (run_id, quarantined_at) REPLACE (row_masked::VARCHAR AS row_masked) "
            "FROM audit.quarantine ORDER BY ALL",
        ),
        "log": query(home, "SELECT * EXCLUDE (run_id, loaded_at) FROM audit.load_log ORDER BY ALL"),
        "validations": query(home, "SELECT * EXCLUDE (run_id, checked_at) FROM audit.validation_results ORDER BY ALL"),
        "left over": query(
            home, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'landing' OR temporary ORDER BY ALL"
        ),
    }


def test_the_command_line_and_the_scaled_out_night_leave_the_same_warehouse(tmp_path: Path) -> None:
    """`wfm ingest` takes each file in one transaction, its accepted rows straight into raw (taken out again when
    the gate refuses the batch), file by file or a run's files side by side; the DAG's scaled-out night (each file
    prepared apart into Parquet, then promoted by one writer) must leave the very same rows, quarantine,
    validations and log. The last two files repeat rows of the first: rows the night's earlier file loaded, which
    their preparation could not see, whether they are fine otherwise or have a reason of their own."""
    quarantined = survey_rows(12)
    quarantined[2]["age"] = "90"
    one_psu = survey_rows(6, wave="2027", prefix="S")
    for row in one_psu:
        row["psu"] = "P0"  # one PSU per stratum: the gate refuses the batch
    files = {
        "a_wave.csv": ("survey", quarantined),
        "b_one_psu.csv": ("survey", one_psu),
        "c_returns.csv": ("enterprise", enterprise_rows(6)),
        "d_again.csv": ("survey", survey_rows(12)[:4] + survey_rows(14)[12:]),
        "e_again_too_old.csv": ("survey", [{**survey_rows(12)[5], "age": "90"}, *survey_rows(18)[14:]]),
    }
    homes = {}
    for way in ("file by file", "a run", "scaled out"):
        home = Home.resolve(tmp_path / way.replace(" ", "_")).ensure()
        paths = [
            (source, write_csv(home.inbox(source) / name, rows, source=source))
            for name, (source, rows) in files.items()
        ]
        if way == "file by file":
            outcomes = [ingest_file(home, path, source, "t", docs=False) for source, path in paths]
        elif way == "scaled out":
            assert {prepare(home, path, source, "t").outcome for source, path in paths} == {"prepared"}
            outcomes = promote_prepared(home, paths, "t")
        else:
            outcomes = ingest_all(home, paths, run_id="t", docs=False)
        assert [o.outcome for o in outcomes] == ["loaded", "rejected", "loaded", "loaded", "loaded"]
        homes[way] = home
    apart, one, scaled = (_ingested(h) for h in homes.values())
    assert apart == one == scaled
    # the second wave file: three rows the first loaded (quarantined as duplicates), one it quarantined, two new
    assert len(one["survey"]) == 18 and len(one["quarantine"]) == 5 and one["left over"] == []
    # the last file's repeated row breaks a rule of its own as well: both reasons, the duplicate's last
    (last,) = [q for q in one["quarantine"] if q[2] == 1 and "age_out_of_range" in q[3]]
    assert last[3].endswith(",respondent_id_duplicate"), last[3]
    assert not (homes["scaled out"].root / "landing" / "survey").exists() or not any(
        (homes["scaled out"].root / "landing" / "survey").iterdir()
    )


def test_the_sources_are_ingested_side_by_side_each_in_its_own_order(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ingest_all takes each source on a thread of its own: a source's files keep their order (a later wave's
    respondent already in an earlier file is a duplicate), the outcomes come back in the order asked for, and
    one progress line per file is numbered as the files finish."""
    import wfm.ingest.run as pipeline

    threads: dict[str, set[str]] = {"survey": set(), "enterprise": set()}
    real = pipeline.ingest_file

    def on_thread(home: Home, path: Path, source: str, run_id: str, docs: bool, con: object) -> object:
        threads[source].add(threading.current_thread().name)
        return real(home, path, source, run_id, docs=docs, con=con)

    monkeypatch.setattr(pipeline, "ingest_file", on_thread)
    first = survey_rows(12)
    again = survey_rows(12, prefix="B")
    again[4]["respondent_id"] = first[4]["respondent_id"]
    paths = [
        ("enterprise", write_csv(home.inbox("enterprise") / "e1.csv", enterprise_rows(6), source="enterprise")),
        ("survey", write_csv(home.inbox("survey") / "s1.csv", first)),
        ("enterprise", write_csv(home.inbox("enterprise") / "e2.csv", enterprise_rows(6, "2027"), source="enterprise")),
        ("survey", write_csv(home.inbox("survey") / "s2.csv", again)),
    ]
    lines: list[str] = []
    outcomes = ingest_all(home, paths, run_id="t", echo=lines.append, docs=False)
    assert [o.file_name for o in outcomes] == ["e1.csv", "s1.csv", "e2.csv", "s2.csv"]
    assert [(o.outcome, o.rows_quarantined) for o in outcomes] == [("loaded", 0)] * 3 + [("loaded", 1)]
    assert quarantine_reasons(home) == {5: {"respondent_id_duplicate"}}
    assert sorted(line.split("]")[0] for line in lines) == ["[1/4", "[2/4", "[3/4", "[4/4"]
    assert len(threads["survey"]) == len(threads["enterprise"]) == 1 and threads["survey"] != threads["enterprise"]


def test_an_error_in_one_source_stops_the_other_before_its_next_file(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wfm.ingest.run as pipeline

    under_way, failed = threading.Event(), threading.Event()
    real = pipeline.ingest_file
    started: list[str] = []

    def broken_survey(home: Home, path: Path, source: str, run_id: str, docs: bool, con: object) -> object:
        started.append(path.name)
        if source == "survey":
            assert under_way.wait(10)
            failed.set()
            raise OSError("the disk went away")
        under_way.set()
        assert failed.wait(10)  # the survey file fails while this one is under way
        time.sleep(0.2)
        return real(home, path, source, run_id, docs=docs, con=con)

    monkeypatch.setattr(pipeline, "ingest_file", broken_survey)
    paths = [
        ("survey", write_csv(home.inbox("survey") / "s.csv", survey_rows(12))),
        ("enterprise", write_csv(home.inbox("enterprise") / "e1.csv", enterprise_rows(6), source="enterprise")),
        ("enterprise", write_csv(home.inbox("enterprise") / "e2.csv", enterprise_rows(6, "2027"), source="enterprise")),
    ]
    with pytest.raises(OSError, match="the disk went away"):
        ingest_all(home, paths, run_id="t", docs=False)
    assert sorted(started) == ["e1.csv", "s.csv"]
    assert query(home, "SELECT file_name, outcome FROM audit.load_log") == [("e1.csv", "loaded")]
    assert (home.inbox("enterprise") / "e2.csv").exists() and (home.inbox("survey") / "s.csv").exists()


def test_reading_a_file_keeps_the_insertion_order_of_its_own_connection_only(home: Home) -> None:
    from wfm.ingest.formats import _file_order

    con = open_warehouse(home)
    reader = con.cursor()

    def kept(c: duckdb.DuckDBPyConnection) -> bool:
        return c.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]

    try:
        with _file_order(reader):
            assert (kept(reader), kept(con)) == (True, False)
        assert (kept(reader), kept(con)) == (False, False)
    finally:
        reader.close()
        con.close()


def test_a_batch_an_earlier_version_staged_is_dropped_and_its_file_ingested_again(home: Home) -> None:
    """Earlier versions committed a file's load, gate and promotion apart, through a landing table and a row in
    `audit.staged_batches`; a crash between them left both. Opening the warehouse drops them, and the file,
    still in the inbox, is ingested from the start: loaded once, nothing staged left."""
    path = write_csv(home.inbox("survey") / "w.csv", survey_rows(9))
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    con = open_warehouse(home)
    try:
        con.execute("""CREATE TABLE audit.staged_batches (
            file_sha256 VARCHAR PRIMARY KEY, file_name VARCHAR, source VARCHAR, rows_read BIGINT,
            rows_accepted BIGINT, rows_quarantined BIGINT, encoding VARCHAR, file_format VARCHAR,
            form_metadata JSON, run_id VARCHAR, staged_at TIMESTAMP)""")
        con.execute(f"CREATE TABLE landing.batch_{sha[:16]} AS SELECT * FROM raw.survey_responses LIMIT 0")
        con.execute(
            "INSERT INTO audit.staged_batches VALUES "
            "(?, 'w.csv', 'survey', 9, 9, 0, 'utf-8', 'csv', NULL, 'old', now())",
            [sha],
        )
    finally:
        con.close()
    (out,) = ingest_all(home, run_id="next", docs=False)
    assert (out.outcome, out.rows_accepted) == ("loaded", 9)
    assert query(home, "SELECT count(*), count(DISTINCT row_number) FROM raw.survey_responses")[0] == (9, 9)
    assert _ingested(home)["left over"] == []
    assert query(home, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'staged_batches'") == [(0,)]
    assert query(home, "SELECT outcome FROM audit.load_log") == [("loaded",)]


CRASH_SCRIPT = """
import os, signal, sys
from pathlib import Path
import wfm.ingest.batch as ingest
from wfm.config import Home
point = sys.argv[3]
original = getattr(ingest, point)
def crash(*args, **kwargs):
    if point == "_log":  # inside the promote transaction, after raw rows were inserted
        os.kill(os.getpid(), signal.SIGKILL)
    result = original(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
setattr(ingest, point, crash)
home = Home.resolve(sys.argv[1]).ensure()
from wfm.ingest import ingest_all
ingest_all(home, [("survey", Path(sys.argv[2]))], run_id="crash")
"""


@pytest.mark.parametrize("point", ["stage_rows", "_log"])
def test_a_killed_ingest_leaves_no_trace_and_a_rerun_finishes(home: Home, tmp_path: Path, point: str) -> None:
    path = write_csv(home.inbox("survey") / "w.csv", survey_rows(9))
    done = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(home.root), str(path), point],
        env={**os.environ, "WFM_DEMO": "1"},
        capture_output=True,
    )
    assert done.returncode == -9
    assert query(home, "SELECT count(*) FROM raw.survey_responses")[0][0] == 0
    assert query(home, "SELECT count(*) FROM audit.load_log")[0][0] == 0
    assert path.exists()  # still waiting in the inbox
    (outcome,) = ingest_all(home, [("survey", path)], run_id="rerun", docs=False)
    assert (outcome.outcome, outcome.rows_accepted) == ("loaded", 9)
    assert query(home, "SELECT count(*), count(DISTINCT respondent_id) FROM raw.survey_responses")[0] == (9, 9)


def test_gate_failure_keeps_the_batch_out(home: Home, tmp_path: Path) -> None:
    assert ingest_file(home, write_csv(tmp_path / "v.csv", survey_rows(12)), "survey", "t", docs=False).outcome == (
        "loaded"
    )
    rows = survey_rows(6, wave="2027", prefix="S")
    for row in rows:
        row["psu"] = "P0"  # one PSU per stratum: the gate refuses the batch
    path = write_csv(tmp_path / "w.csv", rows)
    out = ingest_file(home, path, "survey", "t", docs=False)
    assert out.outcome == "rejected" and out.reason.startswith("gate: "), out.reason
    assert query(home, "SELECT count(*) FROM raw.survey_responses WHERE survey_wave = '2027'")[0][0] == 0
    assert (home.rejected / "survey" / "w.csv.reason.txt").exists()
