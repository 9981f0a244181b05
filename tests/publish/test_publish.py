"""Publishing as readers see it: never waiting, never a mix of two nights, a killed run harmless, exports safe.

One small warehouse is built once for the module by the nightly job (`wfm run`, as cron or the DAG would run it).
The reader test then runs the nightly job twice more, with new survey files, while another process opens the
snapshot and the Parquet copy in a loop. The other tests work on copies of that warehouse: a publish killed at
several points, a marts table holding text that spreadsheets would run as formulas, a suppressed cell carrying
a figure.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import openpyxl
import pytest
from conftest import enterprise_rows, survey_rows, valid_id, write_csv

from wfm.config import Home
from wfm.errors import WfmError
from wfm.publish import exports, publish, sdmx
from wfm.publish.safety import defuse
from wfm.publish.text import defuse_sql

ENV = {**os.environ, "WFM_DEMO": "1"}
#: The distinct vintages of a read, written as the manifest writes them (microseconds always shown).
VINTAGES = "list(DISTINCT strftime(vintage, '%Y-%m-%d %H:%M:%S.%f'))"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FIGURES = ("value", "numerator", "denominator", "se", "ci_lower", "ci_upper", "cv")
HOSTILE = {
    "name_zh": '=HYPERLINK("http://evil.example","点击")',
    "name_en": "+cmd|' /C calc'!A0",
    "unit": "@SUM(1+1)",
    "formula": "-2+3+cmd|' /C calc'!A0",
    "notes": "\t=1+1",
    "quality_note": "\r=2+2",
    "member": "=3+3",
}


def nightly(home: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "wfm.cli", "--home", str(home), "run"], env=ENV, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done


def survey_batch(prefix: str, region6: str, n: int = 60) -> list[dict[str, str]]:
    """Respondents new to the warehouse: their own questionnaire numbers and ID numbers."""
    rows = survey_rows(n, prefix=prefix)
    for i, row in enumerate(rows):
        male = row["sex"] == "1"
        row["id_number"] = valid_id(region6, "19900615", 2 * i + (1 if male else 2))
    return rows


def manifest(home: Path) -> dict:
    return json.loads((home / "published" / "current" / "manifest.json").read_text(encoding="utf-8"))


def snapshot_state(home: Path) -> tuple[list[str], int]:
    con = duckdb.connect(str(home / "published" / "marts.duckdb"), read_only=True)
    try:
        vintages, count = con.execute(f"SELECT {VINTAGES}, count(*) FROM indicator_values").fetchone()
    finally:
        con.close()
    return sorted(vintages), count


def parquet_state(folder: Path) -> tuple[list[str], int]:
    vintages, count = (
        duckdb.connect()
        .execute(f"SELECT {VINTAGES}, count(*) FROM read_parquet('{folder}/indicator_values/**/*.parquet')")
        .fetchone()
    )
    return sorted(vintages), count


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = Home.resolve(tmp_path_factory.mktemp("nightly") / "home").ensure()
    write_csv(home.inbox("survey") / "wave_a.csv", survey_rows(60))
    write_csv(home.inbox("enterprise") / "returns_a.csv", enterprise_rows(12), source="enterprise")
    nightly(home.root)
    return home.root


def copy_home(built: Path, where: Path) -> Home:
    """A home with a copy of the built warehouse and nothing published yet."""
    home = Home.resolve(where).ensure()
    shutil.copy2(built / "warehouse.duckdb", home.warehouse)
    return home


THEMES = ("innovation", "new_form_and_migrant_workers", "pay_and_hours", "rights_and_contracts", "safety",
          "skills_and_craftsmen", "training_and_education_funds")  # fmt: skip


@pytest.mark.slow  # a whole `wfm run`
def test_a_night_on_a_new_home_with_nothing_delivered_is_quiet(tmp_path: Path) -> None:
    """A scheduled `wfm run` before the first delivery has nothing to do; that is not a failure."""
    done = nightly(tmp_path)
    assert done.stdout.startswith("nothing to do: no files in") and not done.stderr
    assert not (tmp_path / "warehouse.duckdb").exists() and not (tmp_path / "published" / "current").exists()


@pytest.mark.slow
def test_theme_marts_are_views_in_the_warehouse_and_tables_for_readers(built: Path) -> None:
    """The dashboard themes are views over indicator_values (an incremental build leaves them alone); the
    readers' snapshot and Parquet hold them as tables, with the rows the views give."""
    con = duckdb.connect(str(built / "warehouse.duckdb"), read_only=True)
    snap = duckdb.connect(str(built / "published" / "marts.duckdb"), read_only=True)
    try:
        views = {
            name
            for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts'").fetchall()
        }
        tables = {name for (name,) in snap.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert set(THEMES) <= views and set(THEMES) <= tables
        for theme in THEMES:
            order = "ORDER BY period, scope, breakdown, member"
            assert (
                con.execute(f"SELECT * FROM marts.{theme} {order}").fetchall()
                == snap.execute(f"SELECT * FROM {theme} {order}").fetchall()
            )
            assert any((built / "published" / "parquet" / theme).rglob("*.parquet"))
    finally:
        con.close()
        snap.close()


@pytest.mark.slow
def test_every_code_a_reader_sees_has_a_chinese_and_an_english_name(built: Path) -> None:
    """code_labels names every breakdown member, statistic, status, source, scope and breakdown of the snapshot,
    in both languages, so that a BI tool labels a chart 江苏省 (Jiangsu) rather than 32."""
    snap = duckdb.connect(str(built / "published" / "marts.duckdb"), read_only=True)
    try:
        seen = snap.execute(
            """
            SELECT DISTINCT breakdown, split_part(member, '|', 1) FROM indicator_values
            UNION SELECT DISTINCT 'statistic', split_part(member, '|', 2) FROM indicator_values WHERE member LIKE '%|%'
            UNION SELECT DISTINCT 'obs_status', obs_status FROM indicator_values
            UNION SELECT DISTINCT 'conf_status', conf_status FROM indicator_values
            UNION SELECT DISTINCT 'source', source FROM indicator_values
            UNION SELECT DISTINCT 'scope', scope FROM indicator_values
            UNION SELECT DISTINCT 'breakdown', breakdown FROM indicator_values
            UNION SELECT DISTINCT breakdown, member FROM skills_and_craftsmen
            """
        ).fetchall()
        labels = {
            (lst, code): (zh, en, label)
            for lst, code, zh, en, label in snap.execute(
                "SELECT code_list, code, name_zh, name_en, label FROM code_labels"
            ).fetchall()
        }
        assert len(seen) > 40
        unnamed = [key for key in seen if key not in labels]
        assert not unnamed, f"codes without a name: {unnamed}"
        assert labels[("province", "32")] == ("江苏省", "Jiangsu", "江苏省 (Jiangsu)")
        assert all(zh and en and label == f"{zh} ({en})" for zh, en, label in labels.values())
        assert any((built / "published" / "parquet" / "code_labels").rglob("*.parquet"))
    finally:
        snap.close()


# --- readers during the nightly job -------------------------------------------------------------------------------

READER = r"""
import json, os, sys, time
import duckdb
snapshot, parquet, log_path, stop, VINTAGES = sys.argv[1:]
with open(log_path, "a") as log:
    while not os.path.exists(stop):
        record = {}
        try:
            con = duckdb.connect(snapshot, read_only=True)
            try:
                record["db"] = con.execute(f"SELECT {VINTAGES}, count(*) FROM indicator_values").fetchone()
            finally:
                con.close()
            # Resolve the link once, as the README tells Parquet readers to: the files then all come from one version.
            folder = os.path.realpath(parquet)
            record["pq"] = duckdb.connect().execute(
                f"SELECT {VINTAGES}, count(*) FROM read_parquet('{folder}/indicator_values/**/*.parquet')").fetchone()
        except Exception as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
        log.write(json.dumps(record) + "\n")
        log.flush()
        time.sleep(0.02)
"""


def reads(log: Path) -> list[dict]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line) for line in lines if line.endswith("}")]


def wait_for_reads(log: Path, at_least: int, reader: subprocess.Popen) -> None:
    """Block until the reader has logged `at_least` reads. Not a timing check: a liveness guard, so that a reader
    stuck on a lock fails the test instead of hanging it."""
    deadline = time.monotonic() + 300
    while len(reads(log)) < at_least:
        assert reader.poll() is None, "the reader process died"
        assert time.monotonic() < deadline, "the reader made no progress: blocked on the snapshot?"
        time.sleep(0.05)


@pytest.mark.slow
def test_readers_never_wait_and_never_see_two_vintages_at_once(built: Path, tmp_path: Path) -> None:
    home = Home.resolve(built)
    published = {manifest(built)["vintage"]: manifest(built)["tables"]["indicator_values"]}
    log, stop = tmp_path / "reads.jsonl", tmp_path / "stop"
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            READER,
            str(home.published / "marts.duckdb"),
            str(home.published / "parquet"),
            str(log),
            str(stop),
            VINTAGES,
        ],
        env=ENV,
    )
    try:
        wait_for_reads(log, 2, reader)
        for prefix, region in (("S", "440103"), ("T", "440104")):
            write_csv(home.inbox("survey") / f"wave_{prefix}.csv", survey_batch(prefix, region))
            nightly(built)
            published[manifest(built)["vintage"]] = manifest(built)["tables"]["indicator_values"]
            # Two more reads that began after this night's switch, so that every version is seen.
            wait_for_reads(log, len(reads(log)) + 2, reader)
    finally:
        stop.touch()
        reader.wait(timeout=60)

    assert len(published) == 3, "each nightly run must publish a new vintage"
    seen = reads(log)
    errors = [r["error"] for r in seen if "error" in r]
    assert errors == []
    order = list(published)
    for record in seen:
        for kind in ("db", "pq"):
            vintages, count = record[kind]
            assert len(vintages) == 1, f"{kind} read saw a mix of vintages: {vintages}"
            assert count == published[vintages[0]], f"{kind} read of {vintages[0]} saw {count} rows"
    db_sequence = [order.index(r["db"][0][0]) for r in seen]
    assert db_sequence == sorted(db_sequence), "a reader went back to an older vintage"
    assert set(db_sequence) == {0, 1, 2}


# --- a publish killed half way ------------------------------------------------------------------------------------

KILLED_PUBLISH = r"""
import os, signal, sys
from pathlib import Path
from wfm.publish import exports
from wfm.publish import snapshot as publish
from wfm.config import Home

def die():
    os.kill(os.getpid(), signal.SIGKILL)

point = sys.argv[2]
if point == "snapshot":  # the new snapshot file holds the first table, the second is being copied
    real_copy, copied = publish.copy_table, []
    def copy_table(con, table):
        copied.append(table)
        if len(copied) == 2:
            die()
        return real_copy(con, table)
    publish.copy_table = copy_table
elif point == "exports":  # half of the values CSV is on disk
    real_csv = exports.write_csv
    def write_csv(con, path, query, order):
        real_csv(con, path, query, order)
        if path.name == "indicator_values.csv":
            text = path.read_bytes()
            path.write_bytes(text[: len(text) // 2])
            die()
    exports.write_csv = write_csv
elif point == "switch":  # the new link to the new version exists, the rename over `current` has not happened
    real_link = publish._link
    def link(path, target):
        Path(path.parent / f".tmp-link-{path.name}-killed").symlink_to(target)
        die()
    publish._link = link
publish.publish(Home.resolve(sys.argv[1]))
"""


def debris(home: Home) -> list[str]:
    published = home.published
    unfinished = [p.name for p in (published / "versions").iterdir() if not (p / "manifest.json").exists()]
    temporary = [p.name for p in published.iterdir() if p.name.startswith(".tmp-")]
    return unfinished + temporary


@pytest.mark.slow
@pytest.mark.parametrize("point", ["snapshot", "exports", "switch"])
def test_a_killed_publish_leaves_the_last_snapshot_and_the_next_run_publishes(
    built: Path, tmp_path: Path, point: str
) -> None:
    home = copy_home(built, tmp_path / "home")
    publish(home)
    before = manifest(home.root)
    state = snapshot_state(home.root)

    done = subprocess.run(
        [sys.executable, "-c", KILLED_PUBLISH, str(home.root), point], env=ENV, capture_output=True, text=True
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert debris(home), "the kill should have left a half-written version or link behind"
    assert manifest(home.root) == before
    assert snapshot_state(home.root) == state
    assert parquet_state(home.published / "parquet") == state
    with (home.published / "exports" / "indicator_values.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert sum(1 for _ in csv.reader(fh)) - 1 == state[1]

    publish(home)
    assert manifest(home.root)["version"] != before["version"]
    assert snapshot_state(home.root) == state  # same warehouse, so the same figures, now from the new version
    assert debris(home) == []


@pytest.mark.slow
def test_a_parquet_reader_that_listed_the_files_still_reads_them_after_the_switch(built: Path, tmp_path: Path) -> None:
    home = copy_home(built, tmp_path / "home")
    publish(home)
    listed = sorted(Path(os.path.realpath(home.published / "parquet")).glob("indicator_values/**/*.parquet"))
    publish(home)
    assert Path(os.path.realpath(home.published / "parquet")) != listed[0].parents[2]
    count = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [[str(p) for p in listed]]).fetchone()
    assert count[0] == snapshot_state(home.root)[1]


@pytest.mark.slow
def test_a_second_publish_at_the_same_time_is_refused(built: Path, tmp_path: Path) -> None:
    home = copy_home(built, tmp_path / "home")
    with (home.published / ".publish.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(WfmError, match="another wfm publish is running"):
            publish(home)
    assert not (home.published / "current").exists()


@pytest.mark.slow
def test_a_suppressed_cell_with_a_figure_is_not_published(built: Path, tmp_path: Path) -> None:
    home = copy_home(built, tmp_path / "home")
    publish(home)
    before = manifest(home.root)
    con = duckdb.connect(str(home.warehouse))
    try:
        changed = con.execute(
            "UPDATE marts.indicator_values SET se = 1.5 WHERE rowid = (SELECT min(rowid) "
            "FROM marts.indicator_values WHERE conf_status = 'C')"
        ).fetchone()[0]
    finally:
        con.close()
    assert changed == 1
    with pytest.raises(WfmError, match="suppressed cell"):
        publish(home)
    assert manifest(home.root) == before
    assert debris(home) == []


# --- exports ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Home:
    """The built marts with text a spreadsheet would run, and one national cell suppressed (as the build would
    leave it: statuses set, figures null), published."""
    home = copy_home(built, tmp_path_factory.mktemp("hostile") / "home")
    con = duckdb.connect(str(home.warehouse))
    try:
        code = con.execute(
            "SELECT min(indicator_code) FROM marts.indicator_values WHERE breakdown = 'national' AND conf_status = 'F'"
        ).fetchone()[0]
        con.execute(
            "UPDATE marts.indicator_registry SET name_zh = ?, name_en = ?, unit = ?, formula = ?, notes = ? "
            "WHERE indicator_code = ?",
            [HOSTILE[k] for k in ("name_zh", "name_en", "unit", "formula", "notes")] + [code],
        )
        con.execute(
            "UPDATE marts.indicator_values SET quality_note = ? WHERE indicator_code = ? AND breakdown = 'national'",
            [HOSTILE["quality_note"], code],
        )
        con.execute(
            "UPDATE marts.indicator_values SET member = ? WHERE rowid = (SELECT min(rowid) "
            "FROM marts.indicator_values WHERE breakdown <> 'national')",
            [HOSTILE["member"]],
        )
        con.execute(
            "UPDATE marts.indicator_values SET conf_status = 'C', "
            + ", ".join(f"{c} = NULL" for c in FIGURES if c not in ("base_value", "change"))
            + " WHERE rowid = (SELECT max(rowid) FROM marts.indicator_values WHERE breakdown = 'national' "
            "AND conf_status = 'F')"
        )
    finally:
        con.close()
    publish(home)
    return home


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_csv_exports_hold_no_formula_and_keep_numbers(hostile: Home) -> None:
    folder = hostile.published / "exports"
    files = {
        name: read_csv(folder / name)
        for name in ("indicator_values.csv", "indicator_registry.csv", "indicator_values.sdmx.csv")
    }
    cells = [(name, column, cell) for name, rows in files.items() for row in rows for column, cell in row.items()]
    for name, column, cell in cells:
        if cell.startswith(TRIGGERS):  # only a number may start so (a negative value)
            try:
                float(cell)
            except ValueError:
                pytest.fail(f"{name} column {column}: {cell!r} would run as a formula")
    everything = {cell for _, _, cell in cells}
    for text in HOSTILE.values():
        if text != HOSTILE["unit"]:  # SDMX-CSV and values CSV carry the other texts; the unit is checked below
            assert "'" + text in everything, f"{text!r} should be in the exports, quote-prefixed"
    assert "'" + HOSTILE["unit"] in {r["UNIT"] for r in files["indicator_values.sdmx.csv"]}
    assert "'" + HOSTILE["unit"] in {r["unit"] for r in files["indicator_registry.csv"]}
    # free cells that carry a value (a survey cell withheld for low reliability is free but has none)
    free = [r for r in files["indicator_values.csv"] if r["conf_status"] == "F" and r["value"] != ""]
    assert free and all(float(r["value"]) == float(r["value"]) for r in free)  # numbers, written as numbers


@pytest.mark.slow
def test_excel_workbook_holds_no_formula_and_keeps_numbers(hostile: Home) -> None:
    book = openpyxl.load_workbook(hostile.published / "exports" / "headline_tables.xlsx")
    assert book.sheetnames[0] == "README" and len(book.sheetnames) > 1
    texts, numbers = set(), 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str):
                    texts.add(cell.value)
                    if cell.value.startswith(TRIGGERS):
                        assert cell.data_type == "s" and cell.quotePrefix, f"{sheet.title}!{cell.coordinate}"
                elif isinstance(cell.value, int | float):
                    numbers += 1
    assert HOSTILE["name_zh"] in texts and HOSTILE["name_en"] in texts and HOSTILE["unit"] in texts
    assert "\n=2+2" in texts or HOSTILE["quality_note"] in texts  # XML keeps a carriage return as a line feed
    assert numbers > 0


@pytest.mark.slow
def test_no_export_carries_a_suppressed_figure(hostile: Home) -> None:
    folder = hostile.published / "exports"
    values = read_csv(folder / "indicator_values.csv")
    suppressed = [r for r in values if r["conf_status"] in ("C", "D")]
    assert suppressed, "the test data must contain suppressed cells"
    assert all(r[c] == "" for r in suppressed for c in FIGURES)
    sdmx = [r for r in read_csv(folder / "indicator_values.sdmx.csv") if r["CONF_STATUS"] in ("C", "D")]
    assert len(sdmx) == len(suppressed)
    assert all(r["OBS_VALUE"] in ("", "NaN") and r["SE"] == r["CI_LOWER"] == r["CI_UPPER"] == "" for r in sdmx)
    book = openpyxl.load_workbook(folder / "headline_tables.xlsx")
    shown = 0
    for sheet in book.worksheets[1:]:
        header = [c.value for c in sheet[1]]
        for row in sheet.iter_rows(min_row=2, values_only=True):
            cell = dict(zip(header, row, strict=True))
            if cell["conf_status"] in ("C", "D"):
                shown += 1
                assert all(cell[c] is None for c in ("value", "se", "ci_lower", "ci_upper", "cv"))
    assert shown > 0


@pytest.mark.slow
def test_exports_empty_a_suppressed_cell_even_when_the_snapshot_leaks_it(hostile: Home, tmp_path: Path) -> None:
    snapshot = tmp_path / "leaky.duckdb"
    shutil.copy2(os.path.realpath(hostile.published / "marts.duckdb"), snapshot)
    con = duckdb.connect(str(snapshot))
    try:
        con.execute(
            "UPDATE indicator_values SET value = 424242.5, numerator = 424242.5, denominator = 424242.5, "
            "se = 424242.5, ci_lower = 424242.5, ci_upper = 424242.5, cv = 424242.5 "
            "WHERE conf_status IN ('C', 'D')"
        )
    finally:
        con.close()
    written = exports.write_exports(snapshot, tmp_path / "exports")
    for path in written:
        if path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path)
            assert all(c != 424242.5 for s in book.worksheets for row in s.iter_rows(values_only=True) for c in row)
        else:
            assert "424242" not in path.read_text(encoding="utf-8-sig"), path.name


@pytest.mark.slow
def test_changes_are_exported_as_csv_and_sdmx_without_a_suppressed_figure(hostile: Home, tmp_path: Path) -> None:
    """indicator_changes goes out as CSV and SDMX-CSV (data structure DSD_WFM_CHANGES of the structure message);
    a change whose row says C carries no figure in either, even when the snapshot leaks one."""
    from pysdmx.io import read_sdmx

    snapshot = tmp_path / "changes.duckdb"
    shutil.copy2(os.path.realpath(hostile.published / "marts.duckdb"), snapshot)
    con = duckdb.connect(str(snapshot))
    try:
        insert = (
            "INSERT INTO indicator_changes BY NAME SELECT 'TRN01' AS indicator_code, ? AS period, ? AS base_period, "
            "? AS comparison, 'industrial' AS scope, ? AS source, 'national' AS breakdown, 'CN' AS member, "
            "50.0 AS value, 45.5 AS base_value, 4.5 AS change, 'pp' AS change_unit, ? AS se, ? AS ci_lower, "
            "? AS ci_upper, ? AS df, ? AS significant, 'A' AS obs_status, ? AS conf_status, now() AS vintage"
        )
        con.execute(insert, ["2026", "2025", "previous_year", "W", 1.5, 1.5, 7.5, 200, True, "F"])
        con.execute(insert, ["2026Q1", "2025Q4", "previous_quarter", "E", None, None, None, None, None, "C"])
    finally:
        con.close()
    written = {p.name: p for p in exports.write_exports(snapshot, tmp_path / "exports")}
    rows = read_csv(written["indicator_changes.csv"])
    assert [(r["period"], r["change"], r["significant"]) for r in rows] == [("2026", "4.5", "true"), ("2026Q1", "", "")]
    assert rows[1]["value"] == rows[1]["base_value"] == "" and rows[1]["conf_status"] == "C"
    sdmx_rows = read_csv(written["indicator_changes.sdmx.csv"])
    assert {r["STRUCTURE_ID"] for r in sdmx_rows} == {f"{sdmx.AGENCY}:{sdmx.CHANGES_DSD_ID}({sdmx.SDMX_VERSION})"}
    by_period = {r["TIME_PERIOD"]: r for r in sdmx_rows}
    assert by_period["2026"]["OBS_VALUE"] == "4.5" and by_period["2026"]["BASE_PERIOD"] == "2025"
    assert by_period["2026-Q1"]["OBS_VALUE"] in ("", "NaN") and by_period["2026-Q1"]["BASE_PERIOD"] == "2025-Q4"
    assert len(read_sdmx(written["indicator_changes.sdmx.csv"]).data[0].data) == 2
    ns = {"str": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/structure"}
    root = ET.parse(written["structure.sdmx.xml"]).getroot()
    assert [d.get("id") for d in root.findall(".//str:DataStructure", ns)] == [sdmx.DSD_ID, sdmx.CHANGES_DSD_ID]


@pytest.mark.slow
def test_publishing_refuses_a_change_with_a_suppressed_end_that_carries_a_figure(built: Path, tmp_path: Path) -> None:
    home = copy_home(built, tmp_path / "home")
    con = duckdb.connect(str(home.warehouse))
    try:
        con.execute(
            "INSERT INTO marts.indicator_changes BY NAME SELECT 'LAB02' AS indicator_code, '2026' AS period, "
            "'2025' AS base_period, 'previous_year' AS comparison, 'industrial' AS scope, 'E' AS source, "
            "'national' AS breakdown, 'CN' AS member, 1.25 AS change, 'C' AS conf_status, 'A' AS obs_status, "
            "now() AS vintage"
        )
    finally:
        con.close()
    with pytest.raises(WfmError, match="indicator_changes"):
        publish(home)


@pytest.mark.slow
def test_sdmx_csv_reads_back_one_row_per_value(hostile: Home) -> None:
    from pysdmx.io import read_sdmx

    path = hostile.published / "exports" / "indicator_values.sdmx.csv"
    columns = [
        "STRUCTURE",
        "STRUCTURE_ID",
        "ACTION",
        "INDICATOR",
        "SCOPE",
        "SOURCE",
        "BREAKDOWN",
        "MEMBER",
        "TIME_PERIOD",
        "OBS_VALUE",
        "UNIT",
        "OBS_STATUS",
        "CONF_STATUS",
        "N",
        "SE",
        "CI_LOWER",
        "CI_UPPER",
    ]
    rows = read_csv(path)
    assert list(rows[0]) == columns
    con = duckdb.connect(str(hostile.published / "marts.duckdb"), read_only=True)
    try:
        values = {
            (r[0], r[1], r[2], r[3], r[4], r[5]): r[6]
            for r in con.execute(
                "SELECT indicator_code, scope, source, breakdown, member, period, value FROM indicator_values"
            ).fetchall()
        }
    finally:
        con.close()
    assert len(rows) == len(values)
    keys = {
        (
            r["INDICATOR"],
            r["SCOPE"],
            r["SOURCE"],
            r["BREAKDOWN"],
            r["MEMBER"].removeprefix("'"),
            r["TIME_PERIOD"].replace("-Q", "Q"),
        )
        for r in rows
    }
    assert keys == set(values)
    assert {r["STRUCTURE"] for r in rows} == {"datastructure"}
    assert {r["STRUCTURE_ID"] for r in rows} == {f"{sdmx.AGENCY}:{sdmx.DSD_ID}({sdmx.SDMX_VERSION})"}
    for r in rows:
        key = (
            r["INDICATOR"],
            r["SCOPE"],
            r["SOURCE"],
            r["BREAKDOWN"],
            r["MEMBER"].removeprefix("'"),
            r["TIME_PERIOD"].replace("-Q", "Q"),
        )
        if values[key] is not None:
            assert float(r["OBS_VALUE"]) == pytest.approx(values[key], rel=1e-12)

    message = read_sdmx(path)
    frame = message.data[0].data
    assert len(frame) == len(values)
    assert set(columns[3:]) <= set(frame.columns)


@pytest.mark.slow
def test_sdmx_structure_names_every_indicator_in_both_languages(hostile: Home) -> None:
    ns = {
        "mes": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message",
        "str": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/structure",
        "com": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common",
    }
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    root = ET.parse(hostile.published / "exports" / "structure.sdmx.xml").getroot()
    assert root.tag == f"{{{ns['mes']}}}Structure"
    con = duckdb.connect(str(hostile.published / "marts.duckdb"), read_only=True)
    try:
        registry = {
            r[0]: (r[1], r[2])
            for r in con.execute("SELECT indicator_code, name_en, name_zh FROM indicator_registry").fetchall()
        }
    finally:
        con.close()
    codes = root.findall(".//str:Codelist[@id='CL_INDICATOR']/str:Code", ns)
    names = {c.get("id"): {n.get(lang): n.text for n in c.findall("com:Name", ns)} for c in codes}
    assert names == {code: {"en": en, "zh": zh} for code, (en, zh) in registry.items()}

    dsd = root.find(".//str:DataStructure", ns)
    assert dsd is not None and dsd.get("id") == sdmx.DSD_ID and dsd.get("agencyID") == sdmx.AGENCY
    dimensions = [d.get("id") for d in dsd.findall(".//str:DimensionList/*", ns)]
    assert dimensions == ["INDICATOR", "SCOPE", "SOURCE", "BREAKDOWN", "MEMBER", "TIME_PERIOD"]
    assert [m.get("id") for m in dsd.findall(".//str:MeasureList/str:Measure", ns)] == ["OBS_VALUE"]
    attributes = [a.get("id") for a in dsd.findall(".//str:AttributeList/str:Attribute", ns)]
    assert attributes == ["UNIT", "OBS_STATUS", "CONF_STATUS", "N", "SE", "CI_LOWER", "CI_UPPER"]
    # Every code list the structure refers to is in the message, so it stands on its own.
    referenced = {e.text for e in dsd.findall(".//str:Enumeration", ns)}
    defined = {c.get("urn") for c in root.findall(".//str:Codelist", ns)}
    assert referenced and referenced <= defined


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+cmd", "@SUM(A1)", "\tx", "\rx"])
def test_defuse_prefixes_every_formula_trigger(text: str) -> None:
    assert defuse(text) == "'" + text
    assert defuse("工资 " + text) == "工资 " + text
    in_sql = duckdb.execute(f"SELECT {defuse_sql('t')} FROM (VALUES (?), (?)) v(t)", [text, "工资 " + text])
    assert [r[0] for r in in_sql.fetchall()] == ["'" + text, "工资 " + text]
