"""`make demo`: the nightly Airflow DAG, end to end, on generated demo data and the embedded defaults.

It generates the demo data set with a history (`HISTORY`; once, kept under `$WFM_HOME/generated`), drops its
files into the inbox, prepares an Airflow home inside the project (`.airflow/`, git-ignored: SQLite metadata DB,
the writer pool), runs
`airflow dags test wfm_nightly` in-process, and ends by printing where everything is and a few headline figures
read from the published snapshot, the way a statistician would read them.

The demo runs with `WFM_DEMO=1`, which lets ingestion use the public demo pseudonymisation key; a production
deployment sets `WFM_HMAC_KEY` (or the Airflow connection `wfm_pseudonym_key`) instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from wfm.config import PROJECT_DIR, Home

DAG_ID = "wfm_nightly"
#: The demo's history: two annual survey waves and the eight quarters of enterprise returns over them, so that
#: changes (previous year, previous quarter, same quarter a year before) are published from the first night.
HISTORY = {"periods": 2, "quarterly": True}
HEADLINES = [  # (indicator, source, breakdown, member): what the demo prints at the end
    ("TRN01", "W", "national", "CN"),
    ("HRS01", "W", "national", "CN"),
    ("WAG01", "W", "national", "CN|P50"),
    ("LAB02", "E", "national", "CN"),
    ("EDU02", "E", "national", "CN"),
    ("TAL01", "E", "national", "CN"),
]


def airflow_env(home: Home, airflow_home: Path) -> dict[str, str]:
    airflow_home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "WFM_HOME": str(home.root),
            "WFM_DEMO": "1",
            "WFM_SETTLE_SECONDS": "0",  # the demo's files were copied into the inbox whole: no quiet period
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "NO_PROXY": "*",
            "DO_NOT_TRACK": "1",
            "SCARF_ANALYTICS": "false",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        }
    )
    return env


def _airflow(args: list[str], env: dict[str, str], log: Path) -> None:
    airflow = Path(sys.executable).with_name("airflow")
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"\n$ airflow {' '.join(args)}\n")
        fh.flush()
        done = subprocess.run([str(airflow), *args], env=env, stdout=fh, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-25:]
        print("\n".join(tail), file=sys.stderr)
        raise SystemExit(f"airflow {args[0]} {args[1] if len(args) > 1 else ''} failed; full log: {log}")


def prepare_inbox(home: Home) -> int:
    """Generate the demo data once, then put every generated file into the inbox (refusals included)."""
    from wfm_synthetic import generate

    generated = home.root / "generated"
    if not (generated / "ground_truth.json").exists():
        generate(generated, scale="demo", **HISTORY)
    copied = 0
    for source in ("survey", "enterprise"):
        for folder in (generated / source, generated / "refused" / source):
            for path in sorted(folder.glob("*")) if folder.is_dir() else []:
                shutil.copy2(path, home.inbox(source) / path.name)
                copied += 1
    return copied


def headline_report(home: Home) -> list[str]:
    import duckdb

    snapshot = home.published / "marts.duckdb"
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        lines = []
        for code, source, breakdown, member in HEADLINES:
            row = con.execute(
                "SELECT r.name_en, v.period, v.value, v.se, v.ci_lower, v.ci_upper, r.unit, v.obs_status, "
                "v.conf_status FROM indicator_values v JOIN indicator_registry r USING (indicator_code) "
                "WHERE v.indicator_code = ? AND v.source = ? AND v.breakdown = ? AND v.member = ? "
                "ORDER BY v.period DESC LIMIT 1",
                [code, source, breakdown, member],
            ).fetchone()
            if row is None:
                lines.append(f"  {code} ({source}) {member}: no value")
                continue
            name, period, value, se, lo, hi, unit, obs, conf = row
            shown = "suppressed" if value is None else f"{value:,.2f} {unit}"
            if se is not None and value is not None:
                shown += f" ± {se:,.2f} (95 % CI {lo:,.2f}–{hi:,.2f})"
            lines.append(f"  {code} {name} [{source}, {period}, {member}]: {shown}  status {obs}/{conf}")
            lines += _change_lines(con, code, source, breakdown, member, period)
        return lines
    finally:
        con.close()


def _change_lines(con, code: str, source: str, breakdown: str, member: str, period: str) -> list[str]:  # noqa: ANN001
    """The cell's published changes into `period` (indicator_changes), one line each."""
    rows = con.execute(
        "SELECT base_period, change, change_unit, ci_lower, ci_upper, significant, conf_status FROM indicator_changes "
        "WHERE indicator_code = ? AND source = ? AND breakdown = ? AND member = ? AND period = ? ORDER BY base_period",
        [code, source, breakdown, member, period],
    ).fetchall()
    lines = []
    for base, change, unit, lo, hi, significant, conf in rows:
        if change is None:
            lines.append(f"      since {base}: not published (an end is {conf} or withheld)")
            continue
        shown = f"{change:+,.2f} {unit}"
        if lo is not None:
            shown += f" (95 % CI {lo:+,.2f} to {hi:+,.2f}, {'significant' if significant else 'within sampling noise'})"
        lines.append(f"      since {base}: {shown}")
    return lines


def run_dag(home: Home, airflow_home: Path, log: Path, echo=print) -> None:  # noqa: ANN001
    """Prepare an Airflow home (SQLite metadata DB, the writer pool) and run the nightly DAG once, in-process."""
    env = airflow_env(home, airflow_home)
    echo("[2/4] Airflow: metadata DB (SQLite) and the duckdb_writer pool")
    _airflow(["db", "migrate"], env, log)
    _airflow(["pools", "set", "duckdb_writer", "1", "DuckDB warehouse: one writer at a time"], env, log)
    echo(f"[3/4] airflow dags test {DAG_ID} (task logs in {log})")
    _airflow(["dags", "test", DAG_ID], env, log)


def main() -> int:
    started = time.perf_counter()
    os.environ["WFM_DEMO"] = "1"
    home = Home.resolve().ensure()
    print(f"demo home: {home.root}")
    print(f"[1/4] demo data: {prepare_inbox(home)} files placed in {home.root / 'inbox'}")
    run_dag(home, PROJECT_DIR / ".airflow", home.root / "demo-airflow.log")
    print(f"[4/4] done in {time.perf_counter() - started:.0f} s")
    docs = home.gx / "uncommitted" / "data_docs" / "local_site" / "index.html"
    print(f"""
  warehouse (one writer; statisticians query the snapshot): {home.warehouse}
  published marts, read-only for readers:                   {home.published / "marts.duckdb"}
  published Parquet:                                        {home.published / "parquet"}
  exports (SDMX-CSV, CSV, Excel):                           {home.published / "exports"}
  validation report (Great Expectations Data Docs):         {docs}
  load log and quarantine: tables audit.load_log, audit.quarantine in the warehouse

headline figures (latest period):""")
    print("\n".join(headline_report(home)))
    bulletin = home.published / "exports" / "bulletin.html"
    print(f"\nthe monitoring bulletin (charts; opens offline, in any browser): {bulletin}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
