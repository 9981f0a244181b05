"""`python -m wfm_tools.stack_bench`: the nightly DAG under Airflow's real scheduler (`make up`), side by side
with `wfm run` on the same files.

Each round runs both on fresh homes holding the same generated files: `wfm run` in a process of its own, then a
run of `wfm_nightly` triggered through the REST API on the stack (its home emptied and the files put in its
inbox), timed from the trigger until the API reports the run ended. Figures are medians over the rounds (the
ratio: the median of each round's own ratio); each stage's span is read from the run's task instances. The
section "The night under Airflow's scheduler (<scale> scale)" of docs/benchmarks.md is replaced; the stack is
started if it is not up, and stopped at the end only if this command started it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from wfm.config import PROJECT_DIR, Home
from wfm_tools import processes, stack_api
from wfm_tools.stack import Stack

SECTION = "## The night under Airflow's scheduler ({scale} scale)"
STAGES = ["list_new_files", "prepare", "promote", "build", "publish"]


def _files(generated: Path) -> list[tuple[str, Path]]:
    return [
        (source, path)
        for source in ("survey", "enterprise")
        for folder in (generated / source, generated / "refused" / source)
        for path in (sorted(folder.iterdir()) if folder.is_dir() else [])
    ]


def _fresh(home: Home, files: list[tuple[str, Path]]) -> None:
    """Empty the home (its files, not the folder: the stack's processes keep its path) and fill the inbox."""
    for entry in home.root.iterdir() if home.root.exists() else []:
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    home.ensure()
    for source, path in files:
        try:  # a link where it can be: the night moves the inbox's entry, never changes its bytes
            os.link(path, home.inbox(source) / path.name)
        except OSError:
            shutil.copy2(path, home.inbox(source) / path.name)


def _stack_home(stack: Stack) -> Home:
    """The home the running stack's tasks use (`.stack/env`, written by `make up`)."""
    for line in (stack.root / "env").read_text().splitlines():
        if line.startswith("export WFM_HOME="):
            return Home(Path(line.split("=", 1)[1].strip("'")))
    raise SystemExit(f"no WFM_HOME in {stack.root / 'env'}")


def _time(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def wfm_run(home: Home, files: list[tuple[str, Path]], key: str) -> float:
    _fresh(home, files)
    env = {**os.environ, "WFM_HOME": str(home.root), "WFM_SETTLE_SECONDS": "0", "WFM_HMAC_KEY": key}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "wfm.cli", "run"], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def scheduled_night(stack: Stack, home: Home, files: list[tuple[str, Path]]) -> tuple[float, dict[str, float]]:
    """The wall time from the trigger to the run's end as the API reports it, and each stage's span."""
    stack_api.wait_idle(stack)
    _fresh(home, files)
    started = time.perf_counter()
    run_id = stack_api.trigger(stack, note="stack_bench")
    ended = stack_api.wait(stack, run_id, timeout=3600, poll=0.25)
    wall = time.perf_counter() - started
    if ended["state"] != "success":
        raise SystemExit(f"the night {run_id} failed; see the stack's task logs")
    spans = {}
    tasks = stack_api.task_instances(stack, run_id)
    for stage in STAGES:
        mine = [t for t in tasks if t["task_id"] == stage and t["start_date"] and t["end_date"]]
        if mine:
            begin, end = min(_time(t["start_date"]) for t in mine), max(_time(t["end_date"]) for t in mine)
            spans[stage] = (end - begin).total_seconds()
    return wall, spans


def render(scale: str, executor: str, files: int, rounds: list[tuple[float, float, dict]], command: str) -> str:
    cli = statistics.median(r[0] for r in rounds)
    night = statistics.median(r[1] for r in rounds)
    ratio = statistics.median(r[1] / r[0] for r in rounds)
    lines = [
        SECTION.format(scale=scale),
        "",
        f"Measured by `{command}` ({scale} scale, {files} files; {executor} executor; {len(rounds)} rounds, medians).",
        "The scheduled night: `wfm_nightly` triggered through the REST API on the stack `make up` starts",
        "(PostgreSQL, scheduler, api-server, dag-processor, triggerer), from the trigger until the API reports the",
        "run ended; `wfm run` on the same files in one process, on a fresh home, in the same round.",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| `wfm run` | {cli:.1f} s |",
        f"| the night under the scheduler | {night:.1f} s |",
        f"| ratio scheduled / `wfm run` | {ratio:.2f} × |",
        "",
        "| round | `wfm run` | scheduled | ratio | " + " | ".join(STAGES) + " |",
        "| --- | --- | --- | --- | " + " | ".join("---" for _ in STAGES) + " |",
    ]
    for i, (c, n, spans) in enumerate(rounds, 1):
        stages = " | ".join(f"{spans.get(s, 0):.1f} s" for s in STAGES)
        lines.append(f"| {i} | {c:.1f} s | {n:.1f} s | {n / c:.2f} × | {stages} |")
    lines += [
        "",
        "A stage's span: from its first task's start to its last task's end (the mapped `prepare`: all files).",
    ]
    return "\n".join(lines) + "\n"


def write_section(out: Path, section: str) -> None:
    """Replace the section of the same heading in `out` (or add it at the end)."""
    text = out.read_text(encoding="utf-8") if out.exists() else "# Benchmarks\n"
    start = text.find("\n" + section.split("\n", 1)[0] + "\n")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + (text[end:] if end >= 0 else "")
    out.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wfm_tools.stack_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=["demo", "national"], default="demo")
    parser.add_argument("--executor", choices=["local", "celery"], default="local")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default=str(PROJECT_DIR / "bench"), help="work folder (default ./bench)")
    parser.add_argument("--out", default=str(PROJECT_DIR / "docs" / "benchmarks.md"))
    args = parser.parse_args(argv)
    work = Path(args.dir).resolve()
    generated = work / args.scale
    if not (generated / "ground_truth.json").exists():
        from wfm_synthetic import generate

        formats = ("csv",) if args.scale == "national" else ("csv", "xlsx", "parquet")
        generate(generated, scale=args.scale, formats=formats)
    files = _files(generated)
    stack = Stack.from_env(args.executor)
    home = Home(work / "stack-home")
    env = {**os.environ, "WFM_HOME": str(home.root), "WFM_SETTLE_SECONDS": "0", "WFM_STACK": str(stack.root)}
    ours = not processes.running(stack.pids)
    if ours:
        subprocess.run(["make", "up", f"EXECUTOR={args.executor}"], cwd=PROJECT_DIR, env=env, check=True)
    home = _stack_home(stack)
    try:
        key = json.loads((stack.root / "secrets.json").read_text())["hmac_key"]
        stack_api.wait_idle(stack, at_least=1)
        rounds = []
        for number in range(1, args.rounds + 1):
            cli = wfm_run(Home(work / "cli-home"), files, key)
            night, spans = scheduled_night(stack, home, files)
            print(f"round {number}: wfm run {cli:.1f} s, scheduled night {night:.1f} s, stages {spans}", flush=True)
            rounds.append((cli, night, spans))
    finally:
        if ours:
            subprocess.run(["make", "down"], cwd=PROJECT_DIR, env=env, check=False)
    command = f"python -m wfm_tools.stack_bench --scale {args.scale} --executor {args.executor} --rounds {args.rounds}"
    section = render(args.scale, args.executor, len(files), rounds, command)
    print(section)
    write_section(Path(args.out), section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
