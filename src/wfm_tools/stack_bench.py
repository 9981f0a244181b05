"""`python -m wfm_tools.stack_bench`: the nightly DAG under Airflow's real scheduler (`make up`), side by side
with `wfm run` on the same files.

Each round runs both on fresh homes holding the same generated files: `wfm run` in a process of its own, then a
run of `wfm_nightly` triggered through the REST API on the stack (its home emptied and the files put in its
inbox), timed from the trigger until the API reports the run ended. Figures are medians over the rounds (the
ratio: the median of each round's own ratio); each stage's span is read from the run's task instances. The
section "The night under Airflow's scheduler (<scale> scale)" of docs/benchmarks.md is replaced; the stack is
started if it is not up, and stopped at the end only if this command started it.

With `--executor celery --workers 1,2`, each round runs the scheduled night once per worker count instead (no
`wfm run`): the Celery workers are stopped and that many started afresh (each running `--concurrency` tasks at
once), the home emptied and filled again, the night triggered and timed. The order of the counts alternates from
one round to the next. The section "Celery workers at <scale> scale" is replaced.
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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from wfm.config import PROJECT_DIR, Home
from wfm_tools import processes, stack_api
from wfm_tools.bench_report import machine
from wfm_tools.stack import Stack, is_worker

SECTION = "## The night under Airflow's scheduler ({scale} scale)"
WORKERS_SECTION = "## Celery workers at {scale} scale"
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


def _stack_setting(stack: Stack, name: str) -> str:
    """A setting the running stack's processes have (`.stack/env`, written by `make up`)."""
    for line in (stack.root / "env").read_text().splitlines():
        if line.startswith(f"export {name}="):
            return line.split("=", 1)[1].strip("'")
    raise SystemExit(f"no {name} in {stack.root / 'env'}")


def _stack_home(stack: Stack) -> Home:
    """The home the running stack's tasks use."""
    return Home(Path(_stack_setting(stack, "WFM_HOME")))


def worker_counts(text: str) -> list[int]:
    """`--workers 1,2`: the worker counts to compare, the first the baseline; at least two, distinct, each ≥ 1."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if len(counts) < 2 or len(set(counts)) != len(counts) or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"two or more distinct worker counts, each at least 1: {text!r}")
    return counts


def round_order(counts: list[int], number: int) -> list[int]:
    """The counts in the given order in odd rounds, reversed in even ones: a drift of the machine's load over the
    run does not favour one count."""
    return counts if number % 2 else counts[::-1]


def _stack_command(command: str, env: dict[str, str], executor: str) -> None:
    # the stack's module itself rather than `make up`, whose `setup` would build a venv in a checkout without one
    subprocess.run([sys.executable, "-m", "wfm_tools.stack", command, "--executor", executor], env=env, check=True)


def restart_workers(stack: Stack, env: dict[str, str], count: int) -> None:
    """Stop every Celery worker of the stack and start `count` afresh (`make up` waits until each is ready)."""
    processes.stop(stack.pids, [name for name in processes.running(stack.pids) if is_worker(name)])
    _stack_command("up", {**env, "WFM_STACK_WORKERS": str(count)}, "celery")


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
        f"Measured by `{command}` on {machine()} ({scale} scale, {files} files; {executor} executor; "
        + (f"{len(rounds)} rounds, medians)." if len(rounds) > 1 else "one round, single figures)."),
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


@dataclass(frozen=True)
class Night:
    """One scheduled night with a given number of workers: its wall time, each stage's span, and the machine's
    load average over the last minute when it ended."""

    wall: float
    spans: dict[str, float]
    load: float

    @property
    def prepare(self) -> float:
        return self.spans.get("prepare", 0.0)


def render_workers(
    scale: str, files: int, concurrency: str, counts: list[int], rounds: list[dict[int, Night]], command: str, host: str
) -> str:
    """The section comparing worker counts: medians per count, and each count against the first (the median of
    each round's own ratio), then every round."""
    base = counts[0]

    def median(figure, count: int) -> float:
        return statistics.median(figure(r[count]) for r in rounds)

    def ratio(figure, count: int) -> float:
        return statistics.median(figure(r[count]) / figure(r[base]) for r in rounds)

    def workers(count: int) -> str:
        return f"{count} worker{'s' if count > 1 else ''}"

    prepare, whole = (lambda n: n.prepare), (lambda n: n.wall)
    head = " | ".join(workers(c) for c in counts)
    against = " | ".join(f"{workers(c)} / {base}" for c in counts[1:])
    lines = [
        WORKERS_SECTION.format(scale=scale),
        "",
        f"Measured by `{command}` on {host}: {scale} scale, {files} files, CeleryExecutor, "
        + (
            f"{len(rounds)} rounds (medians; the ratios are the median of each round's own ratio)."
            if len(rounds) > 1
            else "one round (single figures, not medians)."
        ),
        f"Every worker runs {concurrency} task{'s' if concurrency != '1' else ''} at once (`--concurrency`), so "
        f"{workers(counts[-1])} can run {counts[-1]} × as many of the night's tasks at once as {workers(base)}.",
        "Before each night the Celery workers are stopped and that many started afresh (each ready before the",
        "trigger), the stack's home emptied and filled with the same files; the order of the counts alternates",
        "from round to round. The ingestion stage is `prepare`: each file read, typed, its row rules applied and",
        "pseudonymised in a mapped task on any worker, from the first file's start to the last one's end.",
        "",
        f"| figure | {head} | {against} |",
        "| --- | " + " | ".join("---" for _ in counts) + " | " + " | ".join("---" for _ in counts[1:]) + " |",
    ]
    for name, figure in (("ingestion (`prepare`)", prepare), ("the whole night", whole)):
        values = " | ".join(f"{median(figure, c):.1f} s" for c in counts)
        ratios = " | ".join(f"{ratio(figure, c):.2f} ×" for c in counts[1:])
        lines.append(f"| {name} | {values} | {ratios} |")
    lines += [
        "",
        "| round | order | "
        + " | ".join(f"`prepare`, {workers(c)}" for c in counts)
        + " | "
        + " | ".join(f"night, {workers(c)}" for c in counts)
        + " | load average (1 min) at each night's end |",
        "| --- | --- | " + " | ".join("---" for _ in counts * 2) + " | --- |",
    ]
    for i, r in enumerate(rounds, 1):
        order = ", ".join(str(c) for c in r)
        spans = " | ".join(f"{r[c].prepare:.1f} s" for c in counts)
        walls = " | ".join(f"{r[c].wall:.1f} s" for c in counts)
        loads = ", ".join(f"{r[c].load:.1f}" for c in r)
        lines.append(f"| {i} | {order} | {spans} | {walls} | {loads} |")
    cores = os.cpu_count() or 1
    lines += [
        "",
        f"All the workers run on this one machine of {cores} cores, beside the scheduler, the API server and",
        "PostgreSQL: more workers here add task slots, not cores, so they can shorten the ingestion only as far",
        "as one worker leaves cores idle (each task's DuckDB also uses every core while it reads a file). On",
        "hosts of their own, each worker brings its own cores. The load average counts the stack's own",
        "processes with any others of the machine's.",
    ]
    return "\n".join(lines) + "\n"


def compare_workers(
    stack: Stack, env: dict[str, str], home: Home, files: list[tuple[str, Path]], counts: list[int], rounds: int
) -> list[dict[int, Night]]:
    measured = []
    for number in range(1, rounds + 1):
        nights = {}
        for count in round_order(counts, number):
            restart_workers(stack, env, count)
            wall, spans = scheduled_night(stack, home, files)
            nights[count] = Night(wall, spans, os.getloadavg()[0])
            print(f"round {number}, {count} worker(s): night {wall:.1f} s, stages {spans}", flush=True)
        measured.append(nights)
    return measured


def write_section(out: Path, section: str) -> None:
    """Replace the section of the same heading in `out` where it stands (or add it at the end)."""
    text = out.read_text(encoding="utf-8") if out.exists() else "# Benchmarks\n"
    start = text.find("\n" + section.split("\n", 1)[0] + "\n")
    if start < 0:
        out.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")
        return
    end = text.find("\n## ", start + 1)
    after = "\n" + text[end:] if end >= 0 else ""
    out.write_text(text[:start].rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n" + after, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wfm_tools.stack_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=["demo", "national"], default="demo")
    parser.add_argument("--executor", choices=["local", "celery"], default="local")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--workers", type=worker_counts, help="compare these Celery worker counts (e.g. 1,2) instead of `wfm run`"
    )
    parser.add_argument(
        "--concurrency", type=int, default=1, help="tasks each Celery worker runs at once, with --workers"
    )
    parser.add_argument("--dir", default=str(PROJECT_DIR / "bench"), help="work folder (default ./bench)")
    parser.add_argument("--out", default=str(PROJECT_DIR / "docs" / "benchmarks.md"))
    args = parser.parse_args(argv)
    if args.workers and args.executor != "celery":
        parser.error("--workers needs --executor celery")
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
    if args.workers:
        env["WFM_STACK_WORKERS"], env["WFM_STACK_WORKER_CONCURRENCY"] = str(args.workers[0]), str(args.concurrency)
    ours = not processes.running(stack.pids)
    if ours:
        _stack_command("up", env, args.executor)
    try:
        home = _stack_home(stack)
        stack_api.wait_idle(stack, at_least=1)
        if args.workers:
            measured = compare_workers(stack, env, home, files, args.workers, args.rounds)
            concurrency = _stack_setting(stack, "AIRFLOW__CELERY__WORKER_CONCURRENCY")
        else:
            key = json.loads((stack.root / "secrets.json").read_text())["hmac_key"]
            rounds = []
            for number in range(1, args.rounds + 1):
                cli = wfm_run(Home(work / "cli-home"), files, key)
                night, spans = scheduled_night(stack, home, files)
                print(f"round {number}: wfm run {cli:.1f} s, scheduled night {night:.1f} s, stages {spans}", flush=True)
                rounds.append((cli, night, spans))
    finally:
        if ours:
            _stack_command("down", env, args.executor)
    command = f"python -m wfm_tools.stack_bench --scale {args.scale} --executor {args.executor} --rounds {args.rounds}"
    if args.workers:
        command += f" --workers {','.join(map(str, args.workers))} --concurrency {args.concurrency}"
        section = render_workers(args.scale, len(files), concurrency, args.workers, measured, command, machine())
    else:
        section = render(args.scale, args.executor, len(files), rounds, command)
    print(section)
    write_section(Path(args.out), section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
