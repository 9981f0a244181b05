"""The DAGs as the scheduler sees them: they import cleanly and cheaply, and the nightly one runs end to end."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import assert_demo_night

from wfm.config import Home

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    # Airflow's variables for this module only: left set, they made later tests' `wfm` processes import Airflow
    # (for the pseudonymisation key), whose logging then wrote to their stdout
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow")))
        env.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        from airflow.dag_processing.dagbag import DagBag

        yield DagBag(dag_folder=str(ROOT / "dags"))


def test_every_dag_imports_without_errors(dagbag) -> None:  # noqa: ANN001
    assert dagbag.import_errors == {}
    assert "wfm_nightly" in dagbag.dags


def test_nightly_dag_is_explicit_about_schedule_retries_and_the_writer_pool(dagbag) -> None:  # noqa: ANN001
    dag = dagbag.dags["wfm_nightly"]
    assert dag.schedule is not None or dag.timetable is not None
    assert dag.max_active_runs == 1 and not dag.catchup and dag.doc_md
    tasks = {t.task_id: t for t in dag.tasks}
    assert list(tasks) == ["list_new_files", "prepare", "promote", "build", "publish"]
    for name in ("promote", "build", "publish"):  # the warehouse's writers, one at a time
        assert tasks[name].pool == "duckdb_writer" and tasks[name].retries >= 1
    # the per-file work needs no writer: it spreads over every worker, each mapped task named after its file
    assert tasks["prepare"].pool == "default_pool" and tasks["prepare"].map_index_template == "{{ file_name }}"
    assert tasks["prepare"].downstream_task_ids == {"promote"}
    assert tasks["promote"].outlets and tasks["publish"].outlets


def test_the_pool_the_writing_tasks_wait_for_is_the_one_production_creates_with_one_slot(dagbag) -> None:  # noqa: ANN001
    """docker-compose's airflow-init creates the pool; a DAG naming another would have its writers never
    scheduled, and a pool of more slots would let two tasks write the warehouse at once."""
    init = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["airflow-init"]
    created = dict(re.findall(r"airflow pools set (\S+) (\d+)", init["command"]))
    writers = {t.pool for t in dagbag.dags["wfm_nightly"].tasks if t.pool != "default_pool"}
    assert writers and all(created.get(pool) == "1" for pool in writers), (writers, created)


@pytest.mark.slow
def test_nightly_dag_runs_end_to_end_on_demo_data(tmp_path: Path) -> None:
    from wfm_tools.demo import headline_report, prepare_inbox, run_dag

    home = Home.resolve(tmp_path / "home").ensure()
    files = prepare_inbox(home)
    run_dag(home, tmp_path / "airflow", tmp_path / "airflow.log", echo=lambda _: None)
    assert_demo_night(home, files)
    assert any("TRN01" in line for line in headline_report(home))
