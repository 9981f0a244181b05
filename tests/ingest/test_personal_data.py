"""Personal data: ID numbers are pseudonymised, contact fields never stored, and nothing personal is written
anywhere under the home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import (
    assert_nowhere_under,
    enterprise_rows,
    query,
    survey_rows,
    valid_id,
    write_csv,
)

from wfm import cli
from wfm.config import Home
from wfm.errors import WfmError
from wfm.ingest import ingest_all, pseudonym

# --- personal data -----------------------------------------------------------------------------------------------


def test_hmac_in_sql_equals_python_hmac() -> None:
    key = b"k" * 80  # longer than a block: RFC 2104 hashes it first
    ipad, opad = pseudonym.hmac_pads(key)
    ids = [valid_id("110105", "19491231", 2), "11010519491231002X", "abc"]
    con = duckdb.connect()
    got = [
        r[0]
        for r in con.execute(
            f"SELECT {pseudonym.hmac_sql('s')} FROM unnest($ids) t(s)", {"ids": ids, "ipad": ipad, "opad": opad}
        ).fetchall()
    ]
    assert got == [pseudonym.hmac_hex(key, i) for i in ids]


def test_ingest_refuses_to_run_without_a_key_outside_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WFM_DEMO", raising=False)
    monkeypatch.delenv("WFM_HMAC_KEY", raising=False)
    with pytest.raises(WfmError, match="WFM_HMAC_KEY"):
        pseudonym.secret_key()


def test_a_failing_gate_query_is_the_error_reported(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    """A DuckDB error inside the gate leaves the file's transaction aborted; cleaning up the batch's views must
    not replace the gate's own error with DuckDB's "transaction is aborted", and nothing of the file stays."""
    import wfm.gate

    def failing(con: duckdb.DuckDBPyConnection, **_: object) -> None:
        try:
            con.execute("SELECT * FROM no_such_profile_table")
        except duckdb.Error as exc:
            raise WfmError("profile query survey_batch/x failed", rule="gate_profile") from exc

    monkeypatch.setattr(wfm.gate, "validate_batch", failing)
    path = write_csv(home.inbox("survey") / "w.csv", survey_rows(6))
    with pytest.raises(WfmError, match="profile query survey_batch/x failed"):
        ingest_all(home, [("survey", path)])
    assert path.exists() and query(home, "SELECT count(*) FROM raw.survey_responses")[0][0] == 0


def test_a_night_without_a_key_stops_before_reading_any_file(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key is looked up before the first file is read, not when a file's rows are pseudonymised: nothing is
    read, logged or moved, and the message says what to set."""
    monkeypatch.delenv("WFM_DEMO", raising=False)
    monkeypatch.delenv("WFM_HMAC_KEY", raising=False)
    survey = write_csv(home.inbox("survey") / "w.csv", survey_rows(6))
    returns = write_csv(home.inbox("enterprise") / "e.csv", enterprise_rows(6), source="enterprise")
    with pytest.raises(WfmError, match="WFM_HMAC_KEY"):
        ingest_all(home)
    assert survey.exists() and returns.exists() and not home.warehouse.exists()


def test_a_reader_that_stops_reading_does_not_stop_the_ingestion(home: Home) -> None:
    """`wfm ingest | head -1`: the second file is still loaded, and no traceback is printed."""
    write_csv(home.inbox("survey") / "a.csv", survey_rows(12, prefix="A"))
    write_csv(home.inbox("survey") / "b.csv", survey_rows(12, prefix="B"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wfm.cli", "--home", str(home.root), "ingest"],
        env={**os.environ, "WFM_DEMO": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = proc.stdout.readline()
    assert first.startswith("[1/2] loaded"), first
    proc.stdout.close()  # the reader goes away before the second line
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "Traceback" not in stderr, stderr
    assert query(home, "SELECT count(*) FROM audit.load_log WHERE outcome = 'loaded'")[0][0] == 2


def test_no_id_number_or_phone_anywhere_under_the_home(
    home: Home, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    survey = survey_rows(12)
    survey[3]["age"] = "99"  # quarantined rows must not leak either
    firms = enterprise_rows(4)
    firms[2]["frontline_workers"] = "9999"
    write_csv(home.inbox("survey") / "s.csv", survey, encoding="gb18030", chinese=True)
    write_csv(home.inbox("enterprise") / "e.csv", firms, source="enterprise")
    assert cli.main(["--home", str(home.root), "ingest"]) == 0
    secrets = {r["id_number"] for r in survey} | {r["contact_phone"] for r in firms} | {"联系人张三丰"}
    printed = capsys.readouterr()
    assert_nowhere_under(home, secrets, printed.out + printed.err)
