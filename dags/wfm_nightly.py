"""
### Nightly industrial-workforce monitoring job

Every night: each new file in `$WFM_HOME/inbox/{survey,enterprise}/` is **loaded** (format, row rules,
quarantine), **gated** (its Great Expectations suite) and **promoted** to the raw tables or refused — one mapped
task per file, so a bad file never blocks the good ones. Then dbt **builds** the indicators, the marts suite
**checks** them, and the readers' snapshot is **published** atomically.

Every task that writes the DuckDB warehouse runs in the pool `duckdb_writer` (one slot: DuckDB allows one
writing process). Retries with exponential back-off cover transient faults (a file lock, a full disk freed
later); a data problem is not transient: the task fails at once with the rule that was broken.

The work lives in the `wfm` package (`wfm.ingest`, `wfm.night`, `wfm.publish`): `wfm run` does the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, task

WRITER_POOL = "duckdb_writer"
RAW_ASSETS = {
    "survey": Asset("wfm://warehouse/raw/survey_responses"),
    "enterprise": Asset("wfm://warehouse/raw/enterprise_returns"),
}
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

        files = [{"source": source, "path": str(path)} for source, path in new_files(_home(), echo=print)]
        print(f"{len(files)} new file(s)")
        return files

    @task(map_index_template="{{ file_name }}")
    def load(file: dict, run_id: str | None = None) -> dict:
        from pathlib import Path

        from wfm.errors import WfmError
        from wfm.ingest import stage

        _label(file["path"])
        with _holding("load"):
            try:
                out = stage(_home(), Path(file["path"]), file["source"], run_id)
            except WfmError as exc:
                raise _data_problem(exc) from None
        print(out.line())
        return {**file, "sha256": out.sha256, "outcome": out.outcome}

    @task(map_index_template="{{ file_name }}")
    def validate(batch: dict, run_id: str | None = None) -> dict:
        from wfm.ingest import gate

        _label(batch["path"])
        if batch["outcome"] != "staged":
            return batch
        with _holding("validate"):
            passed, failed, warnings = gate(_home(), batch["sha256"], run_id)
        print(
            f"gate {'passed' if passed else 'FAILED'}; critical failures: {failed or 'none'}; "
            f"warnings: {warnings or 'none'}"
        )
        return {**batch, "passed": passed, "failed": failed}

    @task(outlets=list(RAW_ASSETS.values()), map_index_template="{{ file_name }}")
    def promote(batch: dict, run_id: str | None = None, outlet_events=None) -> dict:
        from pathlib import Path

        from wfm.ingest import promote as promote_batch

        _label(batch["path"])
        if batch["outcome"] != "staged":
            return batch
        with _holding("promote"):
            out = promote_batch(_home(), Path(batch["path"]), batch["sha256"], run_id, batch["passed"], batch["failed"])
        print(out.line())
        if out.outcome == "loaded":
            outlet_events[RAW_ASSETS[out.source]].extra = {"file": out.file_name, "rows": out.rows_accepted}
        return {**batch, "outcome": out.outcome}

    # all_done: one file's failure (a bug or an exhausted retry) must not keep the other files' figures back.
    @task(trigger_rule="all_done")
    def build(batches: list[dict], run_id: str | None = None) -> str:
        from wfm.errors import WfmError
        from wfm.night import build_and_check

        # Index by length rather than iterate: iterating a lazy XCom sequence probes one past its end, which
        # Airflow logs as an error.
        loaded = sum(1 for i in range(len(batches)) if batches[i]["outcome"] == "loaded")
        print(f"{loaded} batch(es) loaded tonight; building from everything accepted so far")
        with _holding("build"):
            try:
                return build_and_check(_home(), run_id=run_id, echo=print, unit_tests=False).vintage
            except WfmError as exc:
                raise _data_problem(exc) from None

    @task(outlets=[PUBLISHED])
    def publish(vintage: str) -> str:
        from wfm.publish import publish as publish_snapshot

        with _holding("publish"):
            path = publish_snapshot(_home(), echo=print)
        print(f"published vintage {vintage} to {path}")
        return str(path)

    files = list_new_files()
    promoted = promote.expand(batch=validate.expand(batch=load.expand(file=files)))
    publish(build(promoted))


wfm_nightly()
