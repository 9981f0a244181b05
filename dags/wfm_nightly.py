"""
### Nightly industrial-workforce monitoring job

Every night each new file in `$WFM_HOME/inbox/{survey,enterprise}/` is **prepared** — read, typed, checked row
by row, pseudonymised, written as a Parquet batch — by one mapped task per file, named after it, on any worker
and in parallel: none of this needs the warehouse's writer. A file refused whole (unreadable, wrong layout)
ends its task as *skipped*, with the reason. Then one writer task **promotes** the night's batches in order:
each is gated (its Great Expectations suite, against the warehouse as it stands) and loaded or refused; its
XCom is the night's summary (files per outcome, rows, each refused file and why). dbt **builds** the
indicators, the marts suite **checks** them, and the readers' snapshot is **published** atomically.

Only the tasks that write the DuckDB warehouse (promote, build, publish) take the pool `duckdb_writer` (one
slot: DuckDB allows one writing process). Retries with exponential back-off cover transient faults (a file lock,
a full disk freed later); a data problem is not transient: the task fails at once with the rule that was broken.

Each loaded batch is an event of its source's raw-table asset, the publication one of `wfm://published/marts`:
a DAG downstream (a BI refresh, an export) can be scheduled on them. The work lives in the `wfm` package
(`wfm.ingest`, `wfm.night`, `wfm.publish`): `wfm run` does the same in one process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, AssetAlias, dag, task

WRITER_POOL = "duckdb_writer"
RAW_ASSETS = {
    "survey": Asset("wfm://warehouse/raw/survey_responses"),
    "enterprise": Asset("wfm://warehouse/raw/enterprise_returns"),
}
#: the promote task's outlet: it adds one event of a raw-table asset per batch loaded, and none for a refused one
LOADED = AssetAlias("wfm-loaded-batches")
PUBLISHED = Asset("wfm://published/marts")


def _home():
    from wfm.config import Home

    return Home.resolve().ensure()


@contextmanager
def _holding(task: str) -> Iterator[None]:
    """Hold the home while a task writes it, as `wfm` commands do: a night run by hand meanwhile is told who
    holds it. A busy home is not a data problem: the task fails as retryable and tries again later."""
    from wfm.lock import holding

    with holding(_home(), f"the Airflow task wfm_nightly.{task}"):
        yield


def _label(path: str) -> None:
    """Name the mapped task instance after its file in the UI (rendered by map_index_template)."""
    from airflow.sdk import get_current_context

    get_current_context()["file_name"] = path.rsplit("/", 1)[-1]


def _data_problem(exc: Exception) -> Exception:
    """A broken rule will not mend itself on retry: fail the task at once, with the rule in the message."""
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException(str(exc))


def _quiet_libraries() -> None:
    """Task logs show the night's lines, not the libraries' chatter (Great Expectations, dbt's adapters)."""
    import logging

    for name in ("great_expectations", "dbt", "dbt_common", "py.warnings", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)


@dag(
    dag_id="wfm_nightly",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    tags=["wfm", "clause-27"],
    doc_md=__doc__,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "pool": WRITER_POOL,
    },
)
def wfm_nightly():
    @task(pool="default_pool")
    def list_new_files() -> list[dict]:
        from wfm.ingest import new_files
        from wfm.ingest.prepared import clear_landing

        home = _home()
        with _holding("list_new_files"):  # a night starts with no private copy and no prepared batch left over
            files = [{"source": source, "path": str(path)} for source, path in new_files(home, echo=print)]
            clear_landing(home)
        print(f"{len(files)} new file(s)")
        return files

    @task(pool="default_pool", map_index_template="{{ file_name }}")
    def prepare(file: dict, run_id: str | None = None) -> dict:
        from pathlib import Path

        from airflow.sdk.exceptions import AirflowSkipException

        from wfm.errors import WfmError
        from wfm.ingest.prepared import prepare as prepare_file

        _label(file["path"])
        try:
            out = prepare_file(_home(), Path(file["path"]), file["source"], run_id)
        except WfmError as exc:
            raise _data_problem(exc) from None
        print(out.line())
        if out.outcome not in ("prepared", "duplicate"):  # refused whole, or not to be taken tonight
            raise AirflowSkipException(out.line())
        return {**file, "outcome": out.outcome, "rows": out.rows_read}

    # all_done: a file whose preparation failed (a bug, an exhausted retry) stays in the inbox; the others go on
    @task(trigger_rule="all_done", outlets=[LOADED])
    def promote(files: list[dict], run_id: str | None = None, outlet_events=None) -> dict:
        from pathlib import Path

        from wfm.ingest.prepared import night_summary, promote_prepared

        _quiet_libraries()
        home = _home()
        todo = [(files[i]["source"], Path(files[i]["path"])) for i in range(len(files))]
        if not todo:
            print("no new file tonight")
            return {"files": 0}
        with _holding("promote"):
            outcomes = promote_prepared(home, todo, run_id, echo=print)
            summary = night_summary(home, run_id)
        for out in outcomes:
            if out.outcome == "loaded":
                extra = {"file": out.file_name, "batch": out.sha256, "rows": out.rows_accepted}
                outlet_events[LOADED].add(RAW_ASSETS[out.source], extra=extra)
        print("tonight: " + ", ".join(f"{k} {v}" for k, v in summary.items() if k != "refused"))
        return summary

    @task(pool="default_pool", retries=0)
    def parse() -> None:
        """dbt's parse of the project, beside the preparation: the build starts from it (`parse_ahead`)."""
        from wfm.build.dbt import parse_ahead

        _quiet_libraries()
        try:
            parsed = parse_ahead(_home().warehouse)
        except Exception as exc:  # noqa: BLE001 - only ahead of time: the build parses again and reports it
            parsed = False
            print(f"dbt's parse failed ({type(exc).__name__}); the build parses the project again")
        print("dbt project parsed for the build" if parsed else "the build parses the dbt project itself")

    @task()
    def build(summary: dict, run_id: str | None = None) -> str:
        from airflow.sdk.exceptions import AirflowSkipException

        from wfm.build import DbtWorker
        from wfm.errors import WfmError
        from wfm.night import build_and_check

        _quiet_libraries()
        home = _home()
        if not home.warehouse.exists():  # a new home before the first delivery: a quiet night
            raise AirflowSkipException("nothing to build: no file has been delivered yet")
        print(f"{summary.get('loaded', 0)} batch(es) loaded tonight; building from everything accepted so far")
        with _holding("build"):
            # dbt builds in a process of its own, as in `wfm run`, while this one prepares the marts' gate
            worker = DbtWorker(home.warehouse)
            try:
                return build_and_check(home, run_id=run_id, echo=print, worker=worker, unit_tests=False).vintage
            except WfmError as exc:
                raise _data_problem(exc) from None
            finally:
                worker.close()

    @task(outlets=[PUBLISHED])
    def publish(vintage: str) -> str:
        from wfm.publish import publish as publish_snapshot

        with _holding("publish"):
            path = publish_snapshot(_home(), echo=print)
        print(f"published vintage {vintage} to {path}")
        return str(path)

    files = list_new_files()
    prepared = prepare.expand(file=files)
    summary = promote(files)
    prepared >> summary
    built = build(summary)
    parse() >> built
    publish(built)


wfm_nightly()
