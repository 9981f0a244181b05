"""Build the indicator tables: one programmatic `dbt build` of `dbt_project/` against the warehouse file.

This is the step between the raw layer (filled by `wfm.ingest`) and publishing (`wfm.publish`): dbt turns the
promoted rows into staging views, intermediate tables and the marts `indicator_registry`, `indicator_values`
and `indicator_revisions` (plus dashboard marts), stamping every value with this build's vintage. dbt runs
offline (no package download, no version check, no usage statistics); its warnings and errors go to
`dbt/logs/dbt.log` and every node's status and timing to `dbt/target/run_results.json` in the warehouse's home
(`dbt_paths`), and the caller gets a `BuildResult`, or a `WfmError` whose one-line message names the nodes that
failed. The caller guarantees that no other process writes the warehouse meanwhile.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as distribution_version
from pathlib import Path
from typing import Any

import duckdb

from wfm import warmup
from wfm.config import PROJECT_DIR
from wfm.errors import WfmError
from wfm.schema import PERIOD_COLUMN, RAW_TABLE
from wfm.warehouse import connect, ensure_build_tables, transaction

DBT_DIR = PROJECT_DIR / "dbt_project"

#: Environment dbt runs in: the warehouse, and nothing that could reach the network.
_OFFLINE_ENV = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DBT_VERSION_CHECK": "false",
    "DBT_USE_COLORS": "false",
}

#: Constant: dbt parses the project again (about 2 s) whenever the vars change.
_VARS = ["--vars", "{wfm_incremental: true}"]

_FAILED = {"error", "fail", "runtime error"}
#: the kinds of dbt node that make a table or view in the warehouse (see `_makes_relation`)
_MADE = ("model", "seed", "snapshot")

#: What the indicator tables are computed from besides the raw rows: the dbt project's models, macros and
#: seeds, the code lists the seeds load and the code macros (src/wfm/sql); and the singular tests, since an
#: incremental build leaves out those of seeds alone. A change to any of them makes the next build a full
#: one; otherwise a build recomputes only the periods of newly promoted batches.
_PACKAGE_DIR = Path(__file__).resolve().parent
FINGERPRINTED = (
    DBT_DIR / "dbt_project.yml",
    DBT_DIR / "models",
    DBT_DIR / "macros",
    DBT_DIR / "seeds",
    DBT_DIR / "tests",
    _PACKAGE_DIR / "reference",
    _PACKAGE_DIR / "sql",
)


@dataclass(frozen=True)
class BuildResult:
    """What one build did. `vintage` is the UTC time stamped on every value it wrote."""

    success: bool
    vintage: datetime
    models: int
    tests: int
    seeds: int
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    run_id: str | None = None
    #: "full" (every period, every table rebuilt) or "incremental" (only `periods` recomputed)
    mode: str = "full"
    #: source → the periods an incremental build recomputed
    periods: dict[str, list[str]] = field(default_factory=dict)
    #: sources whose models the build left out: nothing new, no status that could change
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BuildPlan:
    """What the next build must do: everything (`full`), or the periods of the batches not built yet."""

    full: bool
    fingerprint: str
    periods: dict[str, list[str]]
    batches: list[tuple[str, str]]  # (file_sha256, source) promoted since the last successful build
    skipped: list[str] = field(default_factory=list)  # sources whose models this build leaves out


class BuildFailed(WfmError):
    """The dbt build failed; `result` holds the counts and every failure."""

    def __init__(self, message: str, result: BuildResult | None = None) -> None:
        super().__init__(message)
        self.result = result


def build(
    warehouse: Path,
    *,
    run_id: str | None = None,
    full_refresh: bool = False,
    docs: bool = False,
    progress: Callable[[str], None] | None = None,
    worker: DbtWorker | None = None,
    unit_tests: bool = True,
) -> BuildResult:
    """Run `dbt build` on `warehouse` and return what it did; raise `WfmError` if anything failed.

    Incremental by period: the heavy intermediate tables (per respondent, per PSU, per enterprise) recompute
    only the periods of batches promoted since the last successful build (`plan`); the small tables after
    them (estimates with their statuses, disclosure, the marts) are rebuilt whole, since the provisional status
    moves with the vintage. The first build, a change to the project (`FINGERPRINTED`) or `full_refresh`
    rebuild everything (the revision history is protected and never rebuilt). `docs` also runs
    `dbt docs generate` into the home's `dbt/target` (`dbt_paths`); `progress` receives one short line per
    finished node.
    `worker` (started on this warehouse) runs the build instead of this process, with the project it parsed
    while the caller did other work; it then writes dbt's artifacts, and the caller closes it (`DbtWorker.close`
    waits for them). `unit_tests=False` leaves dbt's unit tests out of
    a full build too (an incremental one never runs them): they test the SQL against fixtures, not the data,
    and `make test` runs them with every full build of its own; the nightly job leaves them to it, as dbt's
    documentation advises for production runs (~1 s of a national night, on the build's critical path).
    """
    warehouse = Path(warehouse).resolve()
    if not warehouse.is_file():
        raise WfmError(f"build failed: warehouse {warehouse} does not exist (run `wfm ingest` first)")
    vintage = datetime.now(UTC).replace(tzinfo=None)
    con = connect(warehouse)
    try:
        ensure_build_tables(con)
        build_plan = plan(con, full_refresh=full_refresh, vintage=vintage)
    except duckdb.CatalogException as missing:  # a warehouse without its raw tables
        raise WfmError(f"build failed: {' '.join(str(missing).split())[:300]}") from None
    finally:
        con.close()
    args = ["build", *_common_args(warehouse), *_VARS]
    if build_plan.full:
        args.append("--full-refresh")
        if not unit_tests:
            args += ["--exclude-resource-type", "unit_test"]
    else:
        # seeds, the tests of seeds alone and unit tests change only with the project, and a changed project
        # makes the build full: the last successful build loaded and passed them with these very files.
        # (Cautious: a test of a model against a seed still runs.) The views are left out too: their SQL comes
        # from the project and the registry seed alone, and the last full build created them; recreating them
        # cost an incremental night ~0.4 s of dbt's compiling on its critical path (the enterprise chain).
        # So are the tests tagged project_only (dbt_project.yml): their outcome does not depend on the data
        # (accepted_values of codes the SQL writes itself, not_null of a coalesce; 0.15 s of an incremental night).
        args += ["--exclude-resource-type", "unit_test", "--indirect-selection", "cautious"]
        excluded = ["resource_type:seed", "config.materialized:view", "tag:project_only"]
        excluded += [f"tag:{source}" for source in build_plan.skipped]  # their tables stay as the last build left them
        args += ["--exclude", *excluded]

    started = time.monotonic()
    stamp = vintage.isoformat(sep=" ")
    if worker is not None and worker.warehouse == warehouse and progress is None:
        outcome = worker.invoke(args, vintage=stamp)
    else:
        if worker is not None:
            worker.close()
        warmup.wait()  # the night may be importing Great Expectations on a background thread
        from dbt.cli.main import dbtRunner  # imported here: dbt is slow to import and only the build needs it

        runner = dbtRunner(callbacks=[_progress_callback(progress)] if progress else [])
        with _environment(warehouse, vintage=stamp):
            outcome = _Outcome.of(runner.invoke(args))
    elapsed = time.monotonic() - started
    result = _summarise(outcome, vintage, elapsed, run_id, build_plan)
    _record(warehouse, build_plan, result, outcome.made)
    if not result.success:
        raise BuildFailed(_failure_message(result, dbt_log(warehouse)), result)
    if docs:
        if worker is not None:  # its manifest.json must be written before dbt writes it again here
            worker.close()
        warmup.wait()
        from dbt.cli.main import dbtRunner

        with _environment(warehouse):
            generated = dbtRunner().invoke(["docs", "generate", *_common_args(warehouse)])
        if not generated.success:
            raise WfmError(f"dbt docs generate failed: {_first_line(generated.exception)} (see {dbt_log(warehouse)})")
    return result


def project_fingerprint() -> str:
    """SHA-256 over the dbt version and every file of `FINGERPRINTED` (path and bytes)."""
    # the installed distribution's version: the same string as dbt.version.__version__, without its import
    digest = hashlib.sha256(f"dbt {distribution_version('dbt-core')}\n".encode())
    for root in FINGERPRINTED:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.name.startswith("."):
                continue
            digest.update(f"{path.relative_to(PROJECT_DIR if path.is_relative_to(PROJECT_DIR) else root)}\n".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def plan(con: Any, full_refresh: bool = False, vintage: datetime | None = None) -> BuildPlan:
    """Decide what the next build (stamped `vintage`, default now) recomputes, and write those periods to
    `audit.build_periods` for dbt. A source whose tables cannot have changed is left out (`skipped`)."""
    fingerprint = project_fingerprint()
    last = con.execute(
        "SELECT fingerprint FROM audit.builds WHERE success ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()
    # the raw tables themselves say which batches are new (whoever put them there), and their periods
    batches: list[tuple[str, str]] = []
    periods: dict[str, list[str]] = {}
    for source, table in RAW_TABLE.items():
        rows = con.execute(
            f"SELECT DISTINCT batch_id, {PERIOD_COLUMN[source]} FROM {table} "
            "WHERE batch_id NOT IN (SELECT file_sha256 FROM audit.built_batches)"
        ).fetchall()
        batches += sorted({(batch, source) for batch, _ in rows})
        periods[source] = sorted({period for _, period in rows})
    rows = [[source, period] for source, values in periods.items() for period in values]
    with transaction(con):
        con.execute("DELETE FROM audit.build_periods")
        if rows:  # executemany refuses an empty list
            con.executemany("INSERT INTO audit.build_periods VALUES (?, ?)", rows)
    full = full_refresh or last is None or last[0] != fingerprint or bool(missing_relations(con))
    vintage = vintage or datetime.now(UTC).replace(tzinfo=None)
    skipped = [] if full else [s for s in RAW_TABLE if not periods[s] and _unchanged_since_built(con, s, vintage)]
    return BuildPlan(full=full, fingerprint=fingerprint, periods=periods, batches=batches, skipped=skipped)


def missing_relations(con: Any) -> list[tuple[str, str]]:
    """(schema, name) of the tables and views the last successful full build made that the warehouse no longer
    holds (dropped by hand, say). An incremental build recreates neither the views nor the seeds, and would
    rebuild a missing table incremental by period whole but test only the new periods: so the build is full."""
    present = {(schema, name) for schema, name, _ in _present_relations(con)}
    built = con.execute("SELECT schema_name, name FROM audit.built_relations ORDER BY ALL").fetchall()
    return [relation for relation in built if relation not in present]


def _unchanged_since_built(con: Any, source: str, vintage: datetime) -> bool:
    """True when the tables of `source` (dbt tag) would come out as the last build that computed them left
    them: no batch since (the caller checked), and no period of the source entering or leaving its
    provisional window between that build's vintage and `vintage` (the only way the vintage reaches them)."""
    (since,) = con.execute(
        "SELECT max(vintage) FROM audit.builds WHERE success AND NOT list_contains(skipped, ?)", [source]
    ).fetchone()
    if since is None:
        return False
    return not provisional_window_crossed(con, source, since, vintage)


def provisional_window_crossed(con: Any, source: str, since: datetime, until: datetime) -> bool:
    """Whether some period of `source` is provisional at one of the two vintages and not at the other.

    A period is provisional until `provisional_days` (seed publication_rules) after its last day; the period's
    last day is computed as the dbt macro `period_end` does ('YYYY' → 31 December, 'YYYYQn' → the quarter's
    last day). Without the rule, assume it may have crossed.
    """
    rule = con.execute("SELECT value FROM reference.publication_rules WHERE rule = 'provisional_days'").fetchone()
    if rule is None:
        return True
    (crossed,) = con.execute(
        f"""
        WITH periods AS (SELECT DISTINCT {PERIOD_COLUMN[source]} AS period FROM {RAW_TABLE[source]}),
        ends AS (
            SELECT CASE WHEN length(period) = 4 THEN make_date(CAST(period AS INTEGER), 12, 31)
                   ELSE last_day(make_date(CAST(left(period, 4) AS INTEGER), CAST(right(period, 1) AS INTEGER) * 3, 1))
                   END + CAST(? AS INTEGER) AS final_day
            FROM periods
        )
        SELECT count(*) FROM ends WHERE (CAST(? AS DATE) < final_day) <> (CAST(? AS DATE) < final_day)""",
        [rule[0], since, until],
    ).fetchone()
    return crossed > 0


def _record(
    warehouse: Path, build_plan: BuildPlan, result: BuildResult, made: frozenset[tuple[str, str]] | None = None
) -> None:
    """audit.builds gets the build; after a success, its batches count as built (a failed build's are
    recomputed by the next one), and after a successful full build the tables and views the project no longer
    makes are dropped (`leftover_relations`) and those it makes are listed in audit.built_relations
    (`missing_relations`); `made`: what the project makes, as a worker reports it."""
    con = connect(warehouse)
    try:
        with transaction(con):
            if result.success and build_plan.full:
                made = made if made is not None else _manifest_relations(warehouse)
                for schema, name, kind in leftover_relations(con, warehouse, made):
                    con.execute(f'DROP {kind} IF EXISTS "{schema}"."{name}"')
                if made is not None:
                    con.execute("DELETE FROM audit.built_relations")
                    if made:
                        con.executemany("INSERT INTO audit.built_relations VALUES (?, ?)", sorted(made))
            con.execute(
                "INSERT INTO audit.builds (run_id, vintage, mode, fingerprint, periods, skipped, success, seconds, "
                "finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    result.run_id,
                    result.vintage,
                    result.mode,
                    build_plan.fingerprint,
                    json.dumps(result.periods),
                    result.skipped,
                    result.success,
                    result.elapsed,
                    datetime.now(UTC).replace(tzinfo=None),
                ],
            )
            if result.success and build_plan.batches:
                con.executemany(
                    "INSERT OR IGNORE INTO audit.built_batches VALUES (?, ?, ?)",
                    [[sha, source, result.vintage] for sha, source in build_plan.batches],
                )
    finally:
        con.close()


def leftover_relations(
    con: Any, warehouse: Path, made: frozenset[tuple[str, str]] | None = None
) -> list[tuple[str, str, str]]:
    """(schema, name, TABLE or VIEW) of what the schemas dbt builds into hold beyond the project's models and
    seeds, read on `con` and from the manifest of the build just run (or `made`, the (schema, name) pairs it
    makes). A model removed or renamed in the project leaves its last table behind (dbt never drops what it no
    longer builds), and readers would take its stale rows for current ones. Only a change of the project can
    leave one, and a changed project makes the build full, so full builds look. The other schemas (raw, audit,
    ref) are wfm's own and untouched; without a manifest nothing is known to be left over, and nothing is
    dropped."""
    made = made if made is not None else _manifest_relations(warehouse)
    if made is None:
        return []
    schemas = {schema for schema, _ in made}
    return [
        (schema, name, kind)
        for schema, name, kind in _present_relations(con)
        if schema in schemas and (schema, name) not in made
    ]


def _makes_relation(resource_type: object, materialized: object) -> bool:
    """Whether a dbt node makes a table or view in the warehouse (a model materialised as ephemeral makes
    neither); for the manifest's objects (`_Outcome.of`) and its JSON (`_manifest_relations`) alike."""
    return str(resource_type) in _MADE and materialized != "ephemeral"


def _present_relations(con: Any) -> list[tuple[str, str, str]]:
    """(schema, name, TABLE or VIEW) of every table and view the warehouse holds (its own schemas and dbt's)."""
    return con.execute(
        "SELECT schema_name, table_name, 'TABLE' FROM duckdb_tables() "
        "WHERE database_name = current_database() AND NOT temporary "
        "UNION ALL SELECT schema_name, view_name, 'VIEW' FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT temporary ORDER BY 1, 2"
    ).fetchall()


def _manifest_relations(warehouse: Path) -> frozenset[tuple[str, str]] | None:
    """(schema, name) of every table and view the project makes, from the manifest the last build wrote (None
    without one)."""
    path = dbt_paths(warehouse)[0] / "manifest.json"
    if not path.is_file():
        return None
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return frozenset(
        (node["schema"], node.get("alias") or node["name"])
        for node in manifest["nodes"].values()
        if _makes_relation(node["resource_type"], node["config"].get("materialized"))
    )


def dbt_paths(warehouse: Path) -> tuple[Path, Path]:
    """dbt's target folder (compiled SQL, run results, docs) and log folder for a warehouse: `dbt/target` and
    `dbt/logs` in its home, beside `warehouse.duckdb`.

    Per home rather than in the checkout: builds of two homes from one checkout (the nightly job's and a
    statistician's trial home, or the test suite's) overwrote each other's run results, and each found the
    other's profile in dbt's partial-parse state and parsed the whole project again."""
    base = Path(warehouse).resolve().parent / "dbt"
    return base / "target", base / "logs"


def dbt_log(warehouse: Path) -> Path:
    """dbt's log file for a warehouse's builds, which every failure message names."""
    return dbt_paths(warehouse)[1] / "dbt.log"


def _common_args(warehouse: Path) -> list[str]:
    target, logs = dbt_paths(warehouse)
    return [
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(logs),
        "--log-level",
        "none",
        # the log file keeps warnings and errors (a failure's node and reason); every node's status and timing
        # are in the run results (target/run_results.json). At the info level, formatting and writing dbt's
        # events for every node cost an incremental national build ~0.3 s (4.50 vs 4.01 s, medians of 6
        # alternated builds, faster in 5)
        "--log-level-file",
        "warn",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
    ]


@contextmanager
def _environment(warehouse: Path, vintage: str = "") -> Iterator[None]:
    """Set dbt's environment for the duration of one invocation, and put the caller's back afterwards."""
    wanted = {"WFM_WAREHOUSE": str(warehouse), "WFM_VINTAGE": vintage, **_OFFLINE_ENV}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        _release_warehouse()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after an invocation.

    dbt-duckdb caches its environment (and so the database instance) in a class attribute; left open, the
    caller could not open the warehouse again in this process with another configuration (read-only, say),
    and the file would stay locked against other processes until exit.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if environment is not None:
            environment.close()


@dataclass(frozen=True)
class _Outcome:
    """What a build needs of a dbt invocation's result; plain values, so that a worker process can send it."""

    success: bool
    error: str  # the invocation's exception on one line ('' without one)
    nodes: tuple[tuple[str, str, str, str], ...] = ()  # (name, kind, status, message) per node run
    #: (schema, name) of every table and view the project makes, from a worker's manifest (None in-process:
    #: `leftover_relations` reads dbt's manifest.json then)
    made: frozenset[tuple[str, str]] | None = None

    @classmethod
    def of(cls, result: Any, manifest: Any = None) -> _Outcome:
        nodes = []
        for node_result in getattr(result.result, "results", None) or []:
            node = node_result.node
            kind = "test" if node.resource_type in ("test", "unit_test") else str(node.resource_type)
            nodes.append((node.name, kind, str(node_result.status), _first_line(node_result.message)))
        made = None
        if manifest is not None:
            made = frozenset(
                (node.schema, node.alias or node.name)
                for node in manifest.nodes.values()
                if _makes_relation(node.resource_type, node.config.materialized)
            )
        return cls(bool(result.success), _first_line(result.exception), tuple(nodes), made)


class DbtWorker:
    """dbt in a process of its own for one build of `warehouse`, started before the build is due.

    The process imports dbt and parses the project (`dbt parse`: it reads the project's files and the partial
    parse in `target/`, never the warehouse) while its caller does other work, then waits; `invoke` hands it
    the build's arguments and it runs them with the project it parsed, releases the warehouse and answers, then
    writes dbt's artifacts (`target/run_results.json`, `manifest.json`) and ends (`close` waits for that).
    `wfm run` starts one with the night: dbt's import and parse, several seconds of Python, then run beside
    the ingestion on the machine's other core instead of holding this process's interpreter. The caller must
    have closed its own connections to the warehouse before `invoke` (DuckDB lets one process write a file).

    A plain subprocess (`python -c`) talking pickles over two pipes of its own, not `multiprocessing`: its
    spawn start method runs the caller's main script again in the child, which fails in a script that calls
    `run_nightly` without the `if __name__ == "__main__"` guard.
    """

    def __init__(self, warehouse: Path) -> None:
        self.warehouse = Path(warehouse).resolve()
        requests_out, requests_in = os.pipe()
        answers_out, answers_in = os.pipe()
        self._process = subprocess.Popen(
            [sys.executable, "-c", _WORKER_MAIN, str(requests_out), str(answers_in), str(self.warehouse)],
            pass_fds=(requests_out, answers_in),
            stdin=subprocess.DEVNULL,
        )
        os.close(requests_out)
        os.close(answers_in)
        self._requests = os.fdopen(requests_in, "wb")
        self._answers = os.fdopen(answers_out, "rb")

    def invoke(self, args: list[str], vintage: str) -> _Outcome:
        """Run dbt with `args` (a build stamped `vintage`) in the worker and return its outcome, as soon as the
        worker has released the warehouse. dbt's artifacts are then still being written: call `close` before
        reading them (writing them before answering held an incremental night ~0.25 s)."""
        try:
            pickle.dump((args, vintage), self._requests)
            self._requests.flush()
            outcome: _Outcome = pickle.load(self._answers)
        except (EOFError, OSError, pickle.UnpicklingError):
            self.close()
            code = self._process.returncode
            raise WfmError(
                f"build failed: the dbt process ended without an answer (exit code {code}; "
                f"see {dbt_log(self.warehouse)})"
            ) from None
        return outcome

    def close(self) -> None:
        """End the worker: one still waiting for a request is told to stop, one that answered is waited for
        while it writes dbt's artifacts (idempotent)."""
        if self._process.poll() is None:
            with contextlib.suppress(OSError):
                pickle.dump(None, self._requests)
                self._requests.flush()
            try:
                self._process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for pipe in (self._requests, self._answers):
            with contextlib.suppress(OSError):
                pipe.close()


_WORKER_MAIN = "import sys; from wfm.build import _serve; _serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])"


def _prepare(parsed: list[Any], warehouse: Path) -> None:
    """Import dbt and parse the project into `parsed`, at a low priority: the worker starts with the night,
    whose ingestion keeps both cores busy at times, and should take only what the ingestion leaves.

    On Linux a thread has a priority of its own; the build then runs at the normal priority on the worker's
    main thread (DuckDB's and dbt's threads, started by it, inherit that). dbt's modules and the parsed
    project live as long as the process: the cyclic collector pauses while they are built and then leaves
    them out of its walks (as `wfm.warmup` does in the night's process; without it the build's collections
    cost ~1.5 s of an incremental night).
    """
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    with warmup.collector_paused(freeze=True):
        try:
            from dbt.cli.main import dbtRunner

            # --no-write-json: the build writes target/manifest.json (and the run results) when it ends; written
            # here too, it cost the night ~0.15 s of CPU while the ingestion keeps both cores busy
            result = dbtRunner().invoke(["parse", *_common_args(warehouse), *_VARS, "--no-write-json"])
            if result.success:
                parsed.append(result.result)
        except Exception:  # noqa: BLE001 - the build then parses again and reports what is wrong in its own words
            pass


def _serve(requests_fd: int, answers_fd: int, warehouse: str) -> None:
    """The worker process's body (see `DbtWorker`): parse, then answer one request read from `requests_fd`.
    dbt runs in the environment an in-process build gets (`_environment`), which also releases the warehouse."""
    parsed: list[Any] = []
    with _environment(Path(warehouse)):  # the profile names the warehouse
        preparation = threading.Thread(target=_prepare, args=(parsed, Path(warehouse)), name="wfm-dbt-parse")
        preparation.start()
        preparation.join()
    manifest = parsed[0] if parsed else None
    with os.fdopen(requests_fd, "rb") as requests, os.fdopen(answers_fd, "wb") as answers:
        try:
            request = pickle.load(requests)
        except EOFError:  # the caller went away
            return
        if request is None:
            return
        args, vintage = request
        result = None
        try:
            from dbt.cli.main import dbtRunner

            # with a parsed project, its artifacts are written here after the answer (see _write_artifacts)
            later = ["--no-write-json"] if manifest is not None else []
            with _environment(Path(warehouse), vintage=vintage):
                result = dbtRunner(manifest=manifest).invoke([*args, *later])
            outcome = _Outcome.of(result, manifest)
        except BaseException as error:  # noqa: BLE001 - whatever happened is the build's failure, sent back
            outcome = _Outcome(False, _first_line(f"{type(error).__name__}: {error}"))
        pickle.dump(outcome, answers)
        answers.flush()
        if result is not None and manifest is not None:
            _write_artifacts(result, manifest, Path(warehouse))


def _write_artifacts(result: Any, manifest: Any, warehouse: Path) -> None:
    """What dbt writes at the end of an invocation without --no-write-json: the manifest (with the nodes the
    build compiled) and the run results, into the home's `dbt/target`. The worker writes them after its
    answer, while the night goes on with the marts' validation and publishing."""
    from dbt.artifacts.schemas.run import RunExecutionResult
    from dbt.parser.manifest import write_manifest

    target = dbt_paths(warehouse)[0]
    write_manifest(manifest, str(target))
    if isinstance(result.result, RunExecutionResult):  # a command that ran nodes (not parse, say)
        result.result.write(str(target / "run_results.json"))


def _summarise(
    outcome: _Outcome, vintage: datetime, elapsed: float, run_id: str | None, build_plan: BuildPlan
) -> BuildResult:
    counts = {"model": 0, "test": 0, "seed": 0}
    failures: list[str] = []
    for name, kind, status, message in outcome.nodes:
        if status in _FAILED:
            failures.append(f"{name}: {message}")
        elif kind in counts and status in {"success", "pass", "warn"}:
            counts[kind] += 1
    if not outcome.success and not failures:
        failures.append(f"dbt: {outcome.error or 'failed without a message'}")
    return BuildResult(
        success=bool(outcome.success) and not failures,
        vintage=vintage,
        models=counts["model"],
        tests=counts["test"],
        seeds=counts["seed"],
        failures=failures,
        elapsed=round(elapsed, 3),
        run_id=run_id,
        mode="full" if build_plan.full else "incremental",
        periods={} if build_plan.full else build_plan.periods,
        skipped=list(build_plan.skipped),
    )


def _failure_message(result: BuildResult, log: Path) -> str:
    """One line: the failed nodes, then each distinct reason once."""
    names = [failure.split(": ", 1)[0] for failure in result.failures]
    reasons = list(dict.fromkeys(failure.split(": ", 1)[-1] for failure in result.failures))
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    why = "; ".join(reason[:200] for reason in reasons[:2])
    return f"build failed in {shown}: {why} (details in {log})"


_ERROR_PREFIX = re.compile(r"^\w+ Error in \w+ \S+ \([^)]*\)\s*")


def _first_line(value: object) -> str:
    """A dbt message on one line, without the 'Runtime Error in test x (path)' preamble that repeats the node."""
    text = " ".join(str(value or "").split())
    return _ERROR_PREFIX.sub("", text)[:300]


def _progress_callback(progress: Callable[[str], None]) -> Callable[[Any], None]:
    def on_event(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        info = event.data.node_info
        progress(f"{info.node_status:<8} {info.resource_type} {info.node_name}")

    return on_event
