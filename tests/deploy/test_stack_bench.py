"""The pure parts of the stack's benchmark (`python -m wfm_tools.stack_bench`) and of `make up`'s Celery workers:
the worker counts asked for, the order they run in, the report comparing them, its place in docs/benchmarks.md."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from wfm.config import Home
from wfm_tools import processes
from wfm_tools.bench_report import kept_sections
from wfm_tools.stack import Stack, _wait_ready, commands
from wfm_tools.stack_bench import Night, render_workers, round_order, worker_counts, write_section


def test_worker_counts_are_two_or_more_distinct_positive_numbers() -> None:
    assert worker_counts("1,2") == [1, 2]
    assert worker_counts("2,1,4") == [2, 1, 4]
    for wrong in ("2", "1,1", "0,2", "1,x", "", "1,,2"):
        with pytest.raises(argparse.ArgumentTypeError):
            worker_counts(wrong)


def test_the_order_of_the_counts_alternates_from_round_to_round() -> None:
    assert [round_order([1, 2], n) for n in (1, 2, 3)] == [[1, 2], [2, 1], [1, 2]]


def _night(prepare: float, wall: float) -> Night:
    return Night(wall, {"list_new_files": 1.0, "prepare": prepare, "promote": 5.0}, 1.5)


def test_the_workers_report_gives_medians_and_the_median_of_each_rounds_ratio() -> None:
    rounds = [
        {1: _night(40.0, 100.0), 2: _night(20.0, 80.0)},
        {2: _night(30.0, 90.0), 1: _night(30.0, 120.0)},
        {1: _night(50.0, 110.0), 2: _night(40.0, 100.0)},
    ]
    text = render_workers("demo", 20, "1", [1, 2], rounds, "python -m wfm_tools.stack_bench …", "2 cores (x)")
    assert text.startswith("## Celery workers at demo scale\n")
    # medians: prepare 40 / 30 s, night 110 / 90 s; ratios per round 0.5, 1.0, 0.8 → 0.8; 0.8, 0.75, 0.909 → 0.8
    assert "| ingestion (`prepare`) | 40.0 s | 30.0 s | 0.80 × |" in text
    assert "| the whole night | 110.0 s | 90.0 s | 0.80 × |" in text
    assert "| 2 | 2, 1 | 30.0 s | 30.0 s | 120.0 s | 90.0 s | 1.5, 1.5 |" in text  # the round's own order
    assert "Every worker runs 1 task at once" in text and "on 2 cores (x)" in text


def test_the_workers_section_is_replaced_on_rerun_and_kept_by_make_bench(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## The night under Airflow's scheduler (demo scale)\n\nkept\n")
    out.write_text(out.read_text() + "\n## Celery workers at demo scale\n\nold\n\n## After\n\nlast\n")
    first = render_workers("demo", 20, "2", [1, 2], [{1: _night(40.0, 100.0), 2: _night(20.0, 80.0)}], "c", "m")
    assert "one round (single figures, not medians)" in first
    write_section(out, first)
    second = render_workers("demo", 20, "2", [1, 2], [{1: _night(10.0, 100.0), 2: _night(20.0, 80.0)}], "c", "m")
    write_section(out, second)
    text = out.read_text()
    assert text.count("## Celery workers at demo scale") == 1 and "| 10.0 s | 20.0 s | 2.00 × |" in text
    assert "kept\n" in text and "old" not in text
    # replaced where it stood, between the sections around it
    assert text.index("kept") < text.index("## Celery workers at demo scale") < text.index("## After")
    assert kept_sections(out).count("## ") == 2  # `make bench` carries both over


def test_each_celery_worker_runs_the_stacks_concurrency(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WFM_STACK", str(tmp_path / "stack"))
    monkeypatch.setenv("WFM_STACK_WORKERS", "3")
    monkeypatch.setenv("WFM_STACK_WORKER_CONCURRENCY", "1")
    monkeypatch.delenv("AIRFLOW__CELERY__WORKER_CONCURRENCY", raising=False)
    stack = Stack.from_env("celery")
    assert [n for n in commands(stack) if n.startswith("worker-")] == ["worker-1", "worker-2", "worker-3"]
    assert stack.airflow_env(Home(tmp_path / "home"))["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "1"


def test_make_up_waits_for_a_started_worker_to_be_ready_and_not_for_a_dead_one(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "stack", "celery")
    stack.logs.mkdir(parents=True)
    log = stack.logs / "worker-1.log"
    log.write_text("[..] wfm-worker-1@host ready.\n")  # an earlier start's
    since = log.stat().st_size
    with log.open("a") as out:
        out.write("[..] INFO/MainProcess wfm-worker-1@host ready.\n")
    _wait_ready(stack, {"worker-1": since}, timeout=5)  # returns: ready after the offset

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    (stack.pids).mkdir()
    (stack.pids / "worker-1.pid").write_text(f"{sleeper.pid} {processes._start_time(sleeper.pid)}\n")
    sleeper.kill()
    sleeper.wait()
    with pytest.raises(SystemExit, match="worker-1 stopped"):
        _wait_ready(stack, {"worker-1": log.stat().st_size}, timeout=5)
