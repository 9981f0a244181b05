"""Great Expectations is imported once per process, by `wfm.gate.gx` alone: in the background while files are
read, or on first use; the gate works either way, and no background import outlives the ingestion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import survey_rows, write_csv


def _python(code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_the_engine_is_the_same_whether_imported_in_the_background_or_on_first_use() -> None:
    """A caller that asks for the gate while the background import runs waits for it and gets the same module;
    leaving the block leaves no import thread behind."""
    code = (
        "import sys, threading; from wfm import gate; "
        "block = gate.loading_in_background(); block.__enter__(); "
        "from wfm.gate import validate_batch; "  # asked while the import runs
        "block.__exit__(None, None, None); "
        "assert validate_batch is sys.modules['wfm.gate.validate'].validate_batch; "
        "assert not [t for t in threading.enumerate() if t.name == 'wfm-gx-import']; "
        "print('ok')"
    )
    assert _python(code) == "ok"


@pytest.mark.slow  # a whole ingestion in a process of its own
def test_the_night_validates_with_great_expectations_imported_in_the_background(tmp_path: Path) -> None:
    """A run's files are gated with the engine imported while they were read, and no import thread is left;
    scipy.stats, which Great Expectations imports but the gate does not use, still works in that process."""
    (tmp_path / "inbox" / "survey").mkdir(parents=True)
    path = write_csv(tmp_path / "inbox" / "survey" / "w.csv", survey_rows(6))
    code = (
        "import threading; from pathlib import Path; from wfm.config import Home; "
        "from wfm.ingest import ingest_all; "
        f"(out,) = ingest_all(Home(Path({str(tmp_path)!r})), [('survey', Path({str(path)!r}))]); "
        "assert not [t for t in threading.enumerate() if t.name == 'wfm-gx-import']; "
        "from scipy import stats; assert abs(stats.entropy([1, 1], [1, 1])) < 1e-12; "
        "print(out.outcome)"
    )
    env = {**os.environ, "WFM_DEMO": "1"}
    assert _python(code, env) == "loaded"
