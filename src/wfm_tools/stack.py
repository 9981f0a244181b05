"""`make up` / `make down`: the production topology on this machine, as processes (no container engine needed).

    PostgreSQL 15 (project-local cluster, 127.0.0.1)  ◀── Airflow's metadata DB
    Airflow 3: api-server (UI, REST, execution API), scheduler, dag-processor, triggerer
    LocalExecutor (the scheduler runs the tasks), or CeleryExecutor: Redis (broker) + Celery workers

Everything lives under the stack folder (`WFM_STACK`, default `.stack/` in the checkout, git-ignored): the
database cluster, `airflow/` (AIRFLOW_HOME, task logs), `logs/` (each process's output), `pids/` (what
`make down` stops), `secrets.json` (generated once, private) and `env`, the variables an operator sources to
use the `airflow` CLI against the stack. The warehouse's home is `WFM_HOME`, as for every `wfm` command.

Airflow's log servers listen on every interface and cannot be bound to one; the stack's processes share one
log folder, so none is started (`--skip-serve-logs`), and the API server reads the task logs from it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from wfm.config import PROJECT_DIR, Home
from wfm.ingest.pseudonym import AIRFLOW_CONNECTION
from wfm_tools import processes, stack_api
from wfm_tools.stack_db import PostgresCluster, Redis

POOL = ("duckdb_writer", "1", "DuckDB warehouse: one writer at a time")
DAG_ID = stack_api.DAG_ID
AIRFLOW_PROCESSES = ["api-server", "scheduler", "dag-processor", "triggerer"]


@dataclass(frozen=True)
class Stack:
    root: Path
    executor: str = "local"
    workers: int = 2
    concurrency: int = 2  # tasks each Celery worker runs at once
    pg_port: int = 55432
    api_port: int = 28080
    redis_port: int = 56379
    log_ports: tuple[int, int] = (28793, 28794)

    @classmethod
    def from_env(cls, executor: str | None = None) -> Stack:
        env = os.environ
        root = Path(env.get("WFM_STACK", PROJECT_DIR / ".stack")).resolve()
        return cls(
            root=root,
            executor=(executor or env.get("EXECUTOR") or "local").lower(),
            workers=int(env.get("WFM_STACK_WORKERS", "2")),
            concurrency=int(env.get("WFM_STACK_WORKER_CONCURRENCY", "2")),
            pg_port=int(env.get("WFM_STACK_PG_PORT", "55432")),
            api_port=int(env.get("WFM_STACK_API_PORT", "28080")),
            redis_port=int(env.get("WFM_STACK_REDIS_PORT", "56379")),
        )

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def postgres(self) -> PostgresCluster:
        return PostgresCluster(self.root / "postgres", self.pg_port)

    @property
    def redis(self) -> Redis:
        return Redis(self.root / "redis", self.redis_port)

    def secrets(self) -> dict[str, str]:
        """Generated on the first `make up` and kept (private): the stack's passwords and keys stay the same
        from one `make up` to the next, and so do the pseudonyms (the HMAC key)."""
        path = self.root / "secrets.json"
        if path.exists():
            return json.loads(path.read_text())
        from cryptography.fernet import Fernet

        made = {
            "db_password": secrets.token_urlsafe(18),
            "fernet_key": Fernet.generate_key().decode(),
            "jwt_secret": secrets.token_urlsafe(32),
            "api_secret_key": secrets.token_urlsafe(32),
            "admin_password": secrets.token_urlsafe(12),
            "hmac_key": os.environ.get("WFM_HMAC_KEY") or secrets.token_urlsafe(32),
        }
        _private(path, json.dumps(made, indent=1))
        return made

    def airflow_env(self, home: Home) -> dict[str, str]:
        """What every Airflow process of the stack (and an operator's `airflow` command) runs with."""
        s = self.secrets()
        db = f"airflow:{s['db_password']}@127.0.0.1:{self.pg_port}/airflow"
        env = {
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{db}",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if self.executor == "celery" else "LocalExecutor",
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": s["fernet_key"],
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.root / "passwords.json"),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": s["api_secret_key"],
            "AIRFLOW__API_AUTH__JWT_SECRET": s["jwt_secret"],
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_ports[0]),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.log_ports[1]),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "WFM_HOME": str(home.root),
            "WFM_PROJECT_DIR": str(PROJECT_DIR),
            "DO_NOT_TRACK": "1",
            "SCARF_ANALYTICS": "false",
            "NO_PROXY": "127.0.0.1,localhost",
            # at a task's exit, multiprocessing's resource tracker reports the semaphores dbt's threads left,
            # on stderr, which the task log shows as errors
            "PYTHONWARNINGS": "ignore:resource_tracker:UserWarning",
        }
        if self.executor == "celery":
            env["AIRFLOW__CELERY__BROKER_URL"] = self.redis.url
            env["AIRFLOW__CELERY__RESULT_BACKEND"] = f"db+postgresql+psycopg2://{db}"
            env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] = str(self.concurrency)
        # the settings of the pipeline given to `make up` (WFM_SETTLE_SECONDS, WFM_UMASK ...) go to the tasks too;
        # the HMAC key goes to the Airflow connection instead (`_connection`)
        env.update({k: v for k, v in os.environ.items() if k.startswith("WFM_") and k not in env | _NOT_PASSED})
        # and an operator's own Airflow settings (AIRFLOW__SECTION__KEY) override the stack's
        env.update({k: v for k, v in os.environ.items() if k.startswith("AIRFLOW__")})
        return env


_NOT_PASSED = {"WFM_HMAC_KEY": "", "WFM_STACK": ""}


def _private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def _airflow(stack: Stack, env: dict[str, str], *args: str) -> None:
    airflow = str(Path(sys.executable).with_name("airflow"))
    with (stack.logs / "airflow-cli.log").open("a") as log:
        log.write(f"\n$ airflow {' '.join(args)}\n")
        log.flush()
        done = subprocess.run([airflow, *args], env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        raise SystemExit(f"airflow {' '.join(args[:2])} failed; see {stack.logs / 'airflow-cli.log'}")


def _connection(stack: Stack, env: dict[str, str]) -> None:
    """The pseudonymisation key as the Airflow connection the tasks read it from (its password), imported from
    a private file rather than given on a command line, where every user of the machine could read it."""
    spec = stack.root / "connection.json"
    key = os.environ.get("WFM_HMAC_KEY") or stack.secrets()["hmac_key"]  # the operator's, else the stack's own
    _private(spec, json.dumps({AIRFLOW_CONNECTION: {"conn_type": "generic", "password": key}}))
    try:
        _airflow(stack, env, "connections", "import", "--overwrite", str(spec))
    finally:
        spec.unlink()


def _process_env(env: dict[str, str]) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "WFM_HMAC_KEY"))}
    full.update(env)
    full["PATH"] = f"{Path(sys.executable).parent}:{full.get('PATH', '')}"
    return full


def commands(stack: Stack) -> dict[str, list[str]]:
    """Each long-running process of the stack and how it is started."""
    airflow = str(Path(sys.executable).with_name("airflow"))
    cmds = {
        "api-server": [airflow, "api-server", "--host", "127.0.0.1", "--port", str(stack.api_port)],
        "scheduler": [airflow, "scheduler", "--skip-serve-logs"],
        "dag-processor": [airflow, "dag-processor"],
        "triggerer": [airflow, "triggerer", "--skip-serve-logs"],
    }
    if stack.executor == "celery":
        for i in range(1, stack.workers + 1):
            name, pid = f"wfm-worker-{i}", str(stack.airflow_home / f"worker-{i}.pid")
            cmds[f"worker-{i}"] = [airflow, "celery", "worker", "--skip-serve-logs", "-H", f"{name}@%h", "--pid", pid]
    return cmds


def up(stack: Stack) -> int:
    home = Home.resolve().ensure()
    stack.logs.mkdir(parents=True, exist_ok=True)
    os.chmod(stack.root, 0o711)  # PostgreSQL's own user must reach its folder inside
    env = stack.airflow_env(home)
    full = _process_env(env)
    was_up = _executor_running(stack)
    if was_up and was_up != stack.executor:
        raise SystemExit(f"the stack runs with the {was_up} executor: `make down` first")
    _private(stack.root / "executor", stack.executor)
    print(f"[1/4] PostgreSQL 15 on 127.0.0.1:{stack.pg_port} ({stack.postgres.data})")
    stack.postgres.start(stack.secrets()["db_password"])
    if stack.executor == "celery":
        print(f"[1/4] Redis on 127.0.0.1:{stack.redis_port}")
        if not processes.alive(stack.pids, "redis"):
            processes.start("redis", stack.redis.argv(), full, stack.pids, stack.logs)
        stack.redis.wait()
    print("[2/4] Airflow metadata DB, the writer pool, the pseudonymisation key")
    stack.airflow_home.mkdir(parents=True, exist_ok=True)
    passwords = stack.root / "passwords.json"
    if not passwords.exists():
        _private(passwords, json.dumps({"admin": stack.secrets()["admin_password"]}))
    _airflow(stack, full, "db", "migrate")
    _airflow(stack, full, "pools", "set", *POOL)
    _connection(stack, full)
    _write_env(stack, env)
    wanted = commands(stack)
    # workers beyond WFM_STACK_WORKERS, from an earlier `make up` with more
    extra = processes.stop(stack.pids, [n for n in processes.running(stack.pids) if is_worker(n) and n not in wanted])
    logged = {name: _log_size(stack, name) for name in wanted if is_worker(name)}
    started = [
        name
        for name, argv in wanted.items()
        if not processes.alive(stack.pids, name) and processes.start(name, argv, full, stack.pids, stack.logs)
    ]
    stopped = f"; stopped: {', '.join(extra)}" if extra else ""
    print(f"[3/4] started: {', '.join(started) or 'nothing (all running)'}{stopped}; waiting until healthy")
    _wait_healthy(stack)
    _wait_ready(stack, {name: logged[name] for name in started if name in logged})
    _unpause(stack)
    workers = ""
    if stack.executor == "celery":
        workers = (
            f"; Celery workers: {stack.workers}, tasks at once in each: {env['AIRFLOW__CELERY__WORKER_CONCURRENCY']}"
        )
    print(f"""[4/4] the stack is up ({env["AIRFLOW__CORE__EXECUTOR"]}{workers})

  Airflow UI and REST API: {stack.url}   login: admin / {stack.secrets()["admin_password"]}
  warehouse home (WFM_HOME): {home.root}
  process logs: {stack.logs}   task logs: {stack.airflow_home / "logs"}
  the `airflow` CLI against the stack:   . {stack.root / "env"}   (then e.g. `airflow dags list`)
  stop everything it started:            make down""")
    return 0


def _executor_running(stack: Stack) -> str | None:
    marker = stack.root / "executor"
    if processes.running(stack.pids) and marker.exists():
        return marker.read_text().strip()
    return None


def _write_env(stack: Stack, env: dict[str, str]) -> None:
    venv = Path(sys.executable).parent
    lines = [f"export {k}={_quoted(v)}" for k, v in env.items()]
    lines.append(f"export PATH={_quoted(str(venv))}:$PATH")
    _private(
        stack.root / "env",
        "# generated by `make up`: the stack's settings and secrets (private)\n" + "\n".join(lines) + "\n",
    )


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _wait_healthy(stack: Stack, timeout: float = 240.0) -> None:
    """Until the API answers that the metadata DB, scheduler, triggerer and DAG processor are healthy, and the
    nightly DAG has been parsed; a process that died meanwhile ends the wait with its log's last lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name in commands(stack):
            if not processes.alive(stack.pids, name):
                tail = (stack.logs / f"{name}.log").read_text(errors="replace").splitlines()[-15:]
                raise SystemExit("\n".join(tail) + f"\nAirflow's {name} stopped; full log: {stack.logs / name}.log")
        if stack_api.healthy(stack):
            try:
                stack_api.call(stack, f"/api/v2/dags/{DAG_ID}")
                return
            except urllib.error.HTTPError:  # not parsed yet
                pass
        time.sleep(2)
    raise SystemExit(f"the stack did not become healthy in {timeout:.0f} s; logs in {stack.logs}")


def is_worker(name: str) -> bool:
    """Whether a process of the stack is a Celery worker (`worker-<n>`)."""
    return name.startswith("worker-")


def _log_size(stack: Stack, name: str) -> int:
    log = stack.logs / f"{name}.log"
    return log.stat().st_size if log.exists() else 0


def _wait_ready(stack: Stack, since: dict[str, int], timeout: float = 240.0) -> None:
    """Until each Celery worker just started has logged Celery's `<name> ready.` (it consumes from the broker) in
    its log after `since[name]` bytes: a night triggered sooner would find only the workers that were quicker."""
    deadline = time.monotonic() + timeout
    waiting = dict(since)
    while waiting and time.monotonic() < deadline:
        for name, offset in list(waiting.items()):
            with (stack.logs / f"{name}.log").open("rb") as log:
                log.seek(offset)
                if b" ready." in log.read():
                    del waiting[name]
            if name in waiting and not processes.alive(stack.pids, name):
                raise SystemExit(f"Airflow's {name} stopped; full log: {stack.logs / name}.log")
        time.sleep(1)
    if waiting:
        raise SystemExit(f"{', '.join(waiting)} not ready in {timeout:.0f} s; logs in {stack.logs}")


def _unpause(stack: Stack) -> None:
    """The nightly schedule is the DAG's default: the stack runs it (a new DAG is paused at creation). With no
    run yet, Airflow starts the latest scheduled night at once (catchup=False), then one every night."""
    stack_api.call(stack, f"/api/v2/dags/{DAG_ID}", {"is_paused": False}, method="PATCH")


def down(stack: Stack) -> int:
    stopped = processes.stop(stack.pids, [n for n in processes.running(stack.pids) if n != "redis"])
    stopped += processes.stop(stack.pids)  # Redis last: the workers leave it cleanly
    if stack.postgres.stop():
        stopped.append("postgres")
    print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wfm_tools.stack", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--executor", choices=["local", "celery"], default=None)
    args = parser.parse_args(argv)
    stack = Stack.from_env(args.executor)
    if shutil.which("pg_ctl", path=str(PostgresCluster.BIN)) is None:
        raise SystemExit(f"PostgreSQL 15 is missing ({PostgresCluster.BIN}): apt-get install postgresql-15")
    return up(stack) if args.command == "up" else down(stack)


if __name__ == "__main__":
    sys.exit(main())
