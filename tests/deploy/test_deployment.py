"""The production topology cannot run here (no Docker engine), so what can be checked is checked statically:
the compose file parses, every path it mounts exists, and the image installs the very lock `make setup` uses."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_has_airflow3_services_on_postgres() -> None:
    services = compose()["services"]
    assert {"postgres", "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor"} <= set(
        services
    )
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert services["airflow-apiserver"]["command"] == "airflow api-server"  # Airflow 3: no `webserver`


def test_every_mounted_project_path_exists() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            host = volume.split(":", 1)[0]
            if host.startswith("./"):
                assert (ROOT / host).exists(), f"{name} mounts {host}, which does not exist"


def test_the_image_installs_the_same_lock_and_the_pool_matches_the_dag() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --no-deps -r requirements.lock" in dockerfile
    assert "FROM python:3.11" in dockerfile
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert "psycopg2-binary==" in lock  # the compose file's metadata DB driver is pinned too
    init = compose()["services"]["airflow-init"]["command"]
    dag = (ROOT / "dags" / "wfm_nightly.py").read_text(encoding="utf-8")
    assert 'WRITER_POOL = "duckdb_writer"' in dag and "pools set duckdb_writer 1" in init


def test_the_lock_pins_every_package_exactly() -> None:
    lines = [
        ln
        for ln in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
        if ln and not ln.startswith("#")
    ]
    assert lines and all("==" in ln for ln in lines)
    pins = {ln.split("==")[0].lower().replace("_", "-"): ln.split("==")[1] for ln in lines}
    assert pins["duckdb"] == "2.0.0" and pins["dbt-core"] == "1.11.16" and pins["apache-airflow"] == "3.3.2"
    assert pins["great-expectations"] == "1.24.1" and pins["dbt-duckdb"] == "1.11.1"
