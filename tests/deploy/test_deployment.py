"""The production topology cannot run here (no Docker engine), so what can be checked is checked statically:
the compose file parses, every path it mounts exists, the image installs the very lock `make setup` uses, and
that lock holds what requirements.in asks for."""

from __future__ import annotations

import re
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


def test_compose_runs_celery_workers_on_redis_in_its_celery_profile() -> None:
    services = compose()["services"]
    assert services["airflow-worker"]["command"] == "airflow celery worker"
    assert services["airflow-worker"]["profiles"] == ["celery"] == services["redis"]["profiles"]
    env = services["airflow-worker"]["environment"]
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"


def test_every_mounted_project_path_exists() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            host = volume.split(":", 1)[0]
            if host.startswith("./"):
                assert (ROOT / host).exists(), f"{name} mounts {host}, which does not exist"


def test_the_image_installs_the_same_lock_on_python_3_11() -> None:
    """The Dockerfile is read as text: there is no Docker engine here to build it."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --no-deps -r requirements.lock" in dockerfile
    assert "FROM python:3.11" in dockerfile
    pins = lock_pins()
    # the compose file's (and `make up`'s) metadata DB: Airflow 3 opens a sync and an async engine on it
    assert {"psycopg2-binary", "asyncpg", "apache-airflow-providers-postgres"} <= set(pins)
    # CeleryExecutor: the provider, Celery and its Redis client; Celery 5.7.0 breaks Airflow's scheduler
    assert {"apache-airflow-providers-celery", "redis", "kombu"} <= set(pins) and pins["celery"] != "5.7.0"


def lock_pins() -> dict[str, str]:
    lines = [
        ln
        for ln in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
        if ln and not ln.startswith("#")
    ]
    assert lines and all("==" in ln for ln in lines), "every line of the lock pins an exact version"
    return {canonical(ln.split("==")[0]): ln.split("==")[1].strip() for ln in lines}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def test_the_lock_pins_every_requirement_at_the_version_asked() -> None:
    """`make setup` installs the lock alone: each package requirements.in asks for is in it, at the version
    requirements.in names where it names one."""
    pins = lock_pins()
    for line in (ROOT / "requirements.in").read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if not requirement:
            continue
        name, _, version = requirement.partition("==")
        name = name.split("[", 1)[0]  # celery[redis]: the extra's packages are pinned in the lock on their own
        assert canonical(name) in pins, f"{name} is not in the lock"
        if version:
            assert pins[canonical(name)] == version.strip(), f"the lock pins {name} at {pins[canonical(name)]}"
