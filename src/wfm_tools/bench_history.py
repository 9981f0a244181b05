"""`make bench-history`: does a night cost more when the warehouse holds years of history?

For each history length (one year, then `--years`, ten by default), on the generator's data (`--scale`, national
by default; CSV; annual survey waves and quarterly enterprise returns ending 2026Q4):

(a) the full night: `wfm run` on a fresh home with every file but the returns of 2026Q4;
(b) the incremental night: the returns of 2026Q4 arrive, `wfm run` again.

Each night runs in its own process while `wfm_tools.bench.measure` samples the process tree's peak memory and CPU
time. The incremental night with the long history is set against the same night with one year behind it (goal
≤ 1.5 ×, wall and CPU), and the dbt nodes of the two incremental nights are listed side by side, slowest first,
so that what grows with the history shows. The report replaces the section "History at scale" of
`docs/benchmarks.md`. On a shared machine the run is refused when other processes used more than
`--max-foreign` of the CPU during a night.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from wfm.config import PROJECT_DIR
from wfm_tools.bench import Phase, _timings, measure, workspace
from wfm_tools.bench_report import machine

HEADING = "## History at scale"
HELD_BACK = "returns_2026Q4_"  # the quarter the incremental night brings


def generate(work: Path, scale: str, years: int, env: dict[str, str], log: Path) -> tuple[Path, Phase | None]:
    out = work / f"{scale}-{years}y"
    if (out / "ground_truth.json").exists():
        return out, None
    print(f"generating {years} year(s) at {scale} scale …", flush=True)
    cmd = [sys.executable, "-m", "wfm.cli", "generate", "--scale", scale, "--periods", str(years), "--quarterly"]
    phase, _ = measure(f"generate {years} y", [*cmd, "--formats", "csv", "--out", str(out)], env, log)
    return out, phase


def nights(work: Path, data: Path, years: int, env: dict[str, str], log: Path) -> tuple[Phase, Phase, dict]:
    """The full night without 2026Q4's returns, then the incremental night that brings them; the incremental
    night's dbt node timings."""
    home = work / f"home-{years}y"
    shutil.rmtree(home, ignore_errors=True)
    held: list[Path] = []
    for source in ("survey", "enterprise"):
        (home / "inbox" / source).mkdir(parents=True)
        for path in sorted((data / source).glob("*.csv")):
            if path.name.startswith(HELD_BACK):
                held.append(path)
            else:
                os.link(path, home / "inbox" / source / path.name)
    if not held:
        raise SystemExit(f"no {HELD_BACK}* files in {data}: generate with --quarterly")
    wfm = [sys.executable, "-m", "wfm.cli", "--home", str(home), "run"]
    print(f"(a) full night, {years} year(s) of history …", flush=True)
    full, out = measure(f"full night, {years} y", wfm, env, log)
    full.detail = _timings(out)
    for path in held:
        os.link(path, home / "inbox" / "enterprise" / path.name)
    print(f"(b) incremental night (2026Q4's returns), {years} year(s) behind it …", flush=True)
    incremental, out = measure(f"incremental night, {years} y", wfm, env, log)
    incremental.detail = _timings(out)
    results = json.loads((home / "dbt" / "target" / "run_results.json").read_text(encoding="utf-8"))
    node_times = {r["unique_id"].split(".", 2)[-1]: r["execution_time"] for r in results["results"]}
    return full, incremental, node_times


def render(
    scale: str, years: int, short: tuple[Phase, Phase, dict], long: tuple[Phase, Phase, dict], foreign: float
) -> str:
    gib = 1024**3
    wall_ratio = long[1].wall / short[1].wall
    cpu_ratio = long[1].own_cpu / short[1].own_cpu
    peak = max(p.peak_rss for p in (*short[:2], *long[:2]))
    lines = [
        HEADING,
        "",
        f"Measured by `make bench-history` (`python -m wfm_tools.bench_history --scale {scale} --years {years}`) on "
        f"{machine()}. {scale.capitalize()} scale, CSV, annual survey waves and quarterly enterprise returns "
        "ending 2026Q4; the full night takes everything but 2026Q4's returns, the incremental night brings them. "
        f"Other processes used up to {foreign:.0%} of the CPU during a night.",
        "",
        "| figure | 1 year of history | " + f"{years} years of history | ratio |",
        "| --- | --- | --- | --- |",
    ]
    for label, i in (("full night", 0), ("incremental night", 1)):
        a, b = short[i], long[i]
        lines.append(f"| {label}, wall | {a.wall:.1f} s | {b.wall:.1f} s | {b.wall / a.wall:.2f} × |")
        lines.append(f"| {label}, CPU | {a.own_cpu:.1f} s | {b.own_cpu:.1f} s | {b.own_cpu / a.own_cpu:.2f} × |")
        lines.append(
            f"| {label}, peak memory | {a.peak_rss / gib:.2f} GiB | {b.peak_rss / gib:.2f} GiB | "
            f"{b.peak_rss / max(a.peak_rss, 1):.2f} × |"
        )
    lines += [
        "",
        f"Incremental night with {years} years against one year: {wall_ratio:.2f} × wall, {cpu_ratio:.2f} × CPU "
        f"(goal ≤ 1.5 ×); peak memory {peak / gib:.2f} GiB (goal < 8 GB).",
        "",
        "Stages of the incremental night (`stage timings:` of `wfm run`):",
        "",
        "| stage | 1 year | " + f"{years} years |",
        "| --- | --- | --- |",
    ]
    for stage in short[1].detail:
        lines.append(f"| {stage} | {short[1].detail[stage]:.1f} s | {long[1].detail.get(stage, 0.0):.1f} s |")
    lines += [
        "",
        "dbt nodes of the incremental night, slowest with the long history first (run_results.json):",
        "",
        "| node | 1 year | " + f"{years} years |",
        "| --- | --- | --- |",
    ]
    for node, seconds in sorted(long[2].items(), key=lambda kv: -kv[1])[:12]:
        lines.append(f"| `{node}` | {short[2].get(node, 0.0):.2f} s | {seconds:.2f} s |")
    return "\n".join(lines) + "\n"


def replace_section(out: Path, section: str) -> None:
    text = out.read_text(encoding="utf-8") if out.exists() else "# Benchmarks\n"
    start = text.find("\n" + HEADING + "\n")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + ("" if end < 0 else text[end:])
    out.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wfm_tools.bench_history", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="national", choices=("demo", "national"))
    parser.add_argument("--years", type=int, default=10, help="the long history, in years (default 10)")
    parser.add_argument("--dir", default=str(PROJECT_DIR / "bench"), help="work folder (default ./bench)")
    parser.add_argument("--max-foreign", type=float, default=0.15)
    parser.add_argument("--out", default=str(PROJECT_DIR / "docs" / "benchmarks.md"))
    args = parser.parse_args(argv)
    work, log, env = workspace(args.dir, "bench-history.log")
    measured: list[tuple[Phase, Phase, dict]] = []
    phases: list[Phase] = []
    for years in (1, args.years):
        data, generated = generate(work, args.scale, years, env, log)
        phases += [generated] if generated else []
        measured.append(nights(work, data, years, env, log))
        phases += list(measured[-1][:2])
    foreign = max(p.foreign_share for p in phases)
    section = render(args.scale, args.years, measured[0], measured[1], foreign)
    print(section)
    if foreign > args.max_foreign:
        print(
            f"REFUSED: other processes used up to {foreign:.0%} of the CPU during a night "
            f"(limit {args.max_foreign:.0%}); nothing written. Run again on a quiet machine."
        )
        return 2
    replace_section(Path(args.out), section)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
