"""The report `make bench` writes to docs/benchmarks.md: the figures of one run, rendered as Markdown, and the
sections measured by hand that a new report carries over."""

from __future__ import annotations

import platform
import statistics
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from wfm_tools.bench import Phase, Round


def machine() -> str:
    model = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    return (
        f"{psutil.cpu_count()} cores ({model}), {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


#: sections of the report measured by hand, not by this driver: carried over when the report is written again
KEPT_SECTIONS = (
    "## Start-up measures, side by side",
    # written by `python -m wfm_tools.stack_bench`
    "## The night under Airflow's scheduler (demo scale)",
    "## The night under Airflow's scheduler (national scale)",
    # written by `python -m wfm_tools.stack_bench --executor celery --workers 1,2`
    "## Celery workers at demo scale",
    "## Celery workers at national scale",
    # written by `make bench-history`
    "## History at scale",
)


def kept_sections(out: Path) -> str:
    """The `KEPT_SECTIONS` of the report at `out` (each up to the next section), to append to a new report."""
    if not out.exists():
        return ""
    text = out.read_text(encoding="utf-8")
    kept = []
    for heading in KEPT_SECTIONS:
        start = text.find("\n" + heading + "\n")
        if start >= 0:
            end = text.find("\n## ", start + 1)
            kept.append(text[start : end if end >= 0 else len(text)].rstrip("\n") + "\n")
    return "".join(kept)


def render(
    phases: list[Phase],
    floor: Phase,
    nightly: Phase,
    incremental: Phase,
    n_survey: int,
    n_enterprise: int,
    rounds: list[Round],
    max_foreign: float = 0.15,
) -> str:
    f, n = floor.detail, nightly.detail
    ratio = statistics.median(r.ratio for r in rounds)
    share = statistics.median(r.incremental_share for r in rounds)
    round_rows = "\n".join(
        f"| {i} | {r.floor.wall:.2f} s | {r.nightly.wall:.2f} s | {r.ratio:.2f} × | {r.incremental.wall:.2f} s | "
        f"{r.incremental_share:.1%} |"
        for i, r in enumerate(rounds, 1)
    )
    # Only loading has a like-for-like part in the floor; the gate's own floor (the same checks run by DuckDB
    # directly) is measured by `python -m wfm_tools.gate_bench`.
    floors = {"ingest": ("load", f["load"]), "publish": ("checkpoint", f["checkpoint"])}
    rows = "\n".join(
        f"| {stage} | {n[stage]:.1f} s | {n[stage] / n['total']:.0%} | "
        + (
            f"{floors[stage][0]} {floors[stage][1]:.2f} s | {n[stage] / floors[stage][1]:.1f} × |"
            if stage in floors and floors[stage][1] > 0.05
            else "— | — |"
        )
        for stage in ("ingest", "gate", "build", "publish")
    )
    phase_rows = "\n".join(
        f"| {p.name} | {p.wall:.1f} s | {p.peak_rss / 2**30:.2f} GiB | {p.own_cpu:.0f} s | {p.foreign_share:.0%} |"
        for p in phases
    )
    floor_total = sum(f.values())
    return f"""# Benchmarks

Measured by `make bench` (`python -m wfm_tools.bench`) on {machine()}.
National scale: 1,000,000 survey respondents and 500,000 enterprise returns
(`wfm generate --scale national`, CSV, {n_survey} survey and {n_enterprise} enterprise files). {len(rounds)} rounds,
each running the floor, the nightly job and the incremental night side by side, every phase in its own process;
figures are medians over the rounds (ratios: the median of each round's own ratio), the rounds are listed below.

## The nightly job against the floor

| figure | value |
| --- | --- |
| (a) floor: DuckDB loads every file, sums by province, checkpoints | {floor.wall:.1f} s wall \
({floor_total:.1f} s inside DuckDB) |
| (b) nightly job `wfm run`, end to end | {nightly.wall:.1f} s |
| ratio (b) / (a) | {ratio:.2f} × (goal ≤ 5 ×, beyond it 3 ×) |
| incremental night (a quarter's enterprise returns) | {incremental.wall:.1f} s = \
{share:.1%} of the full run (goal ≤ 25 %) |
| peak memory of the nightly job | {nightly.peak_rss / 2**30:.2f} GiB (goal < 6 GB) |

## Rounds

| round | floor | nightly | ratio | incremental | share of the nightly |
| --- | --- | --- | --- | --- | --- |
{round_rows}

## Each stage against its own floor

From the median nightly run's own timings (`stage timings:` line of `wfm run`); build includes the marts suite.
The two sources are ingested side by side, so ingest and gate share the ingestion's wall time in the proportion
of the files' own load, promotion and validation times.

| stage | nightly job | share | floor part | ratio |
| --- | --- | --- | --- | --- |
{rows}

The gate against one plain SQL query doing the same checks: `python -m wfm_tools.gate_bench`.

Incremental night's stages: {", ".join(f"{k} {v:.1f} s" for k, v in incremental.detail.items())}.

## Phases

CPU is the measured process tree's user + system time; "others" is the share of the machine's CPU capacity
that processes outside the tree used during the phase (a run with more than {max_foreign:.0%} is refused).

| phase | wall | peak RSS | CPU | others |
| --- | --- | --- | --- | --- |
{phase_rows}
"""
