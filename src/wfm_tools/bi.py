"""`make bi` / `make bi-down`: Apache Superset over the published snapshot, with the project's dashboards.

`up` initialises Superset (its own environment `.bi/venv`, metadata in SQLite under `.bi/`), imports the assets
kept in `bi/assets/` (the snapshot's database, read-only; datasets; charts; an overview and one dashboard per
theme of the marts), starts the web server on 127.0.0.1:28088 in the background and writes the address and the
login to `.bi/env` (SUPERSET_URL, SUPERSET_USER, SUPERSET_PASSWORD). The database points at
`$WFM_HOME/published/marts.duckdb`, the link through `current`: each query opens it again (no pool), so a new
publication shows on the next refresh. `down` stops the server.

The datasets' columns are read from the snapshot when importing, so the assets stay valid when the registry
adds an indicator (a theme mart's columns) and `make bi` is run again.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

import duckdb
import yaml

from wfm.config import PROJECT_DIR, Home

#: Superset's state (metadata DB, secrets, log, pid, env); WFM_BI_DIR moves it (the browser tests use their own)
BI_DIR = Path(os.environ.get("WFM_BI_DIR", PROJECT_DIR / ".bi"))
ASSETS = PROJECT_DIR / "bi" / "assets"
PORT = int(os.environ.get("WFM_BI_PORT", "28088"))
URL = f"http://127.0.0.1:{PORT}"
USER = "admin"
SUPERSET = PROJECT_DIR / ".bi" / "venv" / "bin" / "superset"  # built by make bi from bi/requirements.lock
PID = BI_DIR / "superset.pid"


def _secret(name: str) -> str:
    path = BI_DIR / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32) + "\n", encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "WFM_BI_DIR": str(BI_DIR),
            "SUPERSET_CONFIG_PATH": str(PROJECT_DIR / "bi" / "superset_config.py"),
            "SUPERSET_HOME": str(BI_DIR / "home"),
            "FLASK_APP": "superset",
            "SCARF_ANALYTICS": "false",
            "DO_NOT_TRACK": "1",
        }
    )
    return env


def superset(*args: str, log: Path, check: bool = True) -> subprocess.CompletedProcess:
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"\n$ superset {' '.join(args)}\n")
        fh.flush()
        done = subprocess.run([str(SUPERSET), *args], env=environment(), stdout=fh, stderr=subprocess.STDOUT)
    if check and done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
        raise SystemExit("\n".join(tail) + f"\nsuperset {args[0]} failed; full log: {log}")
    return done


def columns(con: duckdb.DuckDBPyConnection, table: str, sql: str | None) -> list[dict]:
    """The dataset's columns as Superset's import format has them, read from the snapshot."""
    described = con.execute(f"DESCRIBE ({sql})" if sql else f'DESCRIBE "{table}"').fetchall()
    return [
        {
            "column_name": name,
            "verbose_name": None,
            "is_dttm": False,
            "is_active": True,
            "type": kind,
            "groupby": True,
            "filterable": True,
            "expression": None,
            "description": None,
            "python_date_format": None,
            "extra": {},
        }  # fmt: skip
        for name, kind, *_ in described
    ]


def bundle(snapshot: Path, out: Path) -> Path:
    """The assets as the ZIP `superset import-dashboards` takes: the snapshot's address filled in, every
    dataset's columns read from it."""
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        with zipfile.ZipFile(out, "w") as archive:
            for path in sorted(ASSETS.rglob("*.yaml")):
                text = path.read_text(encoding="utf-8").replace("{{ SNAPSHOT }}", str(snapshot))
                if path.parent.parent.name == "datasets":
                    data = yaml.safe_load(text)
                    data["columns"] = columns(con, data["table_name"], data["sql"])
                    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
                archive.writestr(f"bi_assets/{path.relative_to(ASSETS)}", text)
    finally:
        con.close()
    return out


def running() -> int | None:
    if not PID.exists():
        return None
    pid = int(PID.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        PID.unlink()
        return None
    return pid


def wait_healthy(timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{URL}/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"Superset did not answer on {URL} within {timeout:.0f} s; log: {BI_DIR / 'superset.log'}")


def up() -> int:
    home = Home.resolve()
    snapshot = home.published / "marts.duckdb"  # the link, not its target: each connection gets the current one
    if not snapshot.exists():
        raise SystemExit(f"no published snapshot at {snapshot}: run make demo (or wfm run) first")
    if not SUPERSET.exists():
        raise SystemExit(f"{SUPERSET} is missing: run make bi")
    BI_DIR.mkdir(exist_ok=True)
    _secret("secret_key")
    password = _secret("admin_password")
    log = BI_DIR / "init.log"
    if running():
        down()
    print(f"[1/3] Superset metadata in {BI_DIR / 'superset.db'} (log {log})")
    superset("db", "upgrade", log=log)
    superset("fab", "create-admin", "--username", USER, "--firstname", "wfm", "--lastname", "admin",
             "--email", "admin@localhost", "--password", password, log=log)  # fmt: skip
    superset("fab", "reset-password", "--username", USER, "--password", password, log=log)
    superset("init", log=log)
    with tempfile.TemporaryDirectory() as tmp:
        archive = bundle(snapshot, Path(tmp) / "bi_assets.zip")
        print(f"[2/3] importing {ASSETS} (database over {snapshot}, read-only)")
        superset("import-dashboards", "--path", str(archive), "--username", USER, log=log)
    print(f"[3/3] starting Superset on {URL}")
    server_log = (BI_DIR / "superset.log").open("a", encoding="utf-8")
    server = subprocess.Popen(
        [str(SUPERSET), "run", "--host", "127.0.0.1", "--port", str(PORT), "--with-threads"],
        env=environment(),
        stdout=server_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: `down` stops it and its children, nothing else
    )
    PID.write_text(str(server.pid))
    wait_healthy()
    (BI_DIR / "env").write_text(
        f"SUPERSET_URL={URL}\nSUPERSET_USER={USER}\nSUPERSET_PASSWORD={password}\n", encoding="utf-8"
    )
    (BI_DIR / "env").chmod(0o600)
    print(f"""
  Superset: {URL}/superset/dashboard/overview/   (one dashboard per theme as well)
  login:    {USER} / {password}
  written to {BI_DIR / "env"}; make bi-down stops it""")
    return 0


def down() -> int:
    pid = running()
    if pid is None:
        print("Superset is not running")
        return 0
    os.killpg(pid, signal.SIGTERM)
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(pid, signal.SIGKILL)
    PID.unlink(missing_ok=True)
    print(f"Superset (process group {pid}) stopped")
    return 0


def read_env(bi_dir: Path = BI_DIR) -> dict[str, str]:
    """What `up` wrote to .bi/env: SUPERSET_URL, SUPERSET_USER, SUPERSET_PASSWORD."""
    lines = (bi_dir / "env").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def login(page: object, env: dict[str, str], attempts: int = 3) -> None:
    """Sign in to Superset in a Playwright page, as a person would on its login form.

    The login page sends its event log while the form posts; when the answer to that anonymous request reaches the
    browser after the login's, its session cookie replaces the signed-in one and the welcome page sends the browser
    back to the form. A person signs in again; so does this, up to `attempts` times."""
    for _ in range(attempts):
        page.goto(f"{env['SUPERSET_URL']}/login/")
        page.wait_for_load_state("networkidle", timeout=120_000)  # the form is React's: filled once it is drawn
        page.locator("#username").wait_for(timeout=60_000)
        page.fill("#username", env["SUPERSET_USER"])
        page.fill("#password", env["SUPERSET_PASSWORD"])
        with page.expect_navigation(timeout=60_000):
            page.click("button[type=submit]")
        if "/superset/welcome" in page.url:
            return
    raise RuntimeError(f"Superset did not sign {env['SUPERSET_USER']} in after {attempts} attempts: at {page.url}")


def open_dashboard(page: object, env: dict[str, str], slug: str = "overview") -> None:
    page.goto(f"{env['SUPERSET_URL']}/superset/dashboard/{slug}/")
    page.wait_for_load_state("networkidle", timeout=120_000)
    page.locator(".dashboard-chart").first.wait_for(timeout=60_000)
    page.wait_for_function("document.querySelectorAll('.loading, [data-test=loading-indicator]').length === 0",
                           timeout=120_000)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["up"]:
        return up()
    if args == ["down"]:
        return down()
    raise SystemExit("usage: python -m wfm_tools.bi up|down")


if __name__ == "__main__":
    sys.exit(main())
