"""The stack's servers that are not Airflow: a project-local PostgreSQL 15 cluster (Airflow's metadata DB) and,
for CeleryExecutor, a Redis broker; both listen on 127.0.0.1 alone and keep their files in the stack folder.

PostgreSQL refuses to run as root: run by root (a CI machine), the cluster belongs to the `postgres` user that
Debian's package creates, and its commands run as that user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PostgresCluster:
    BIN = Path(os.environ.get("WFM_PG_BIN", "/usr/lib/postgresql/15/bin"))

    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        """The server's log, beside its data: in a folder its user owns."""
        return self.root / "server.log"

    def _run(self, tool: str, *args: str, env: dict[str, str] | None = None, check: bool = True) -> int:
        argv = [str(self.BIN / tool), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(
            argv, env={**os.environ, **(env or {})}, capture_output=True, text=True, cwd="/", check=False
        )
        if check and done.returncode:
            raise SystemExit(f"{tool} failed: {(done.stderr or done.stdout).strip()[-800:]}")
        return done.returncode

    def _own(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    def running(self) -> bool:
        return self.data.is_dir() and self._run("pg_ctl", "status", "-D", str(self.data), check=False) == 0

    def start(self, password: str) -> None:
        """Create the cluster (user `airflow`, password authentication, 127.0.0.1 only) the first time, start
        it unless it runs, and create the `airflow` database if it is missing."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._own(self.root)
        if not (self.data / "PG_VERSION").exists():
            self._initdb(password)
        if not self.running():
            self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60")
        env = {"PGPASSWORD": password}
        exists = subprocess.run(
            [
                str(self.BIN / "psql"),
                *self._conn(),
                "-d",
                "postgres",
                "-tAc",
                "SELECT 1 FROM pg_database WHERE datname = 'airflow'",
            ],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if exists != "1":
            subprocess.run(
                [str(self.BIN / "createdb"), *self._conn(), "airflow"], env={**os.environ, **env}, check=True
            )

    def _conn(self) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", "airflow"]

    def _initdb(self, password: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            pwfile = Path(tmp) / "pw"
            pwfile.write_text(password + "\n")
            if os.geteuid() == 0:
                os.chmod(tmp, 0o711)
                os.chmod(pwfile, 0o600)
                self._own(pwfile)
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "airflow",
                "--pwfile",
                str(pwfile),
                "-E",
                "UTF8",
                "--auth=scram-sha-256",
                "--no-instructions",
            )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\n# make up: this project's stack only\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                "unix_socket_directories = ''\nmax_connections = 200\n"
            )

    def stop(self) -> bool:
        """Stop the cluster if it runs (`pg_ctl` finds it by its own data folder); whether it ran."""
        if not self.running():
            return False
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "60")
        return True


@dataclass(frozen=True)
class Redis:
    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        server = shutil.which("redis-server")
        if server is None:
            raise SystemExit("Redis is missing: apt-get install redis-server (`make up EXECUTOR=celery` does, as root)")
        self.root.mkdir(parents=True, exist_ok=True)
        return [
            server, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.root),
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
        ]  # fmt: skip

    def wait(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"Redis did not answer on 127.0.0.1:{self.port}")
