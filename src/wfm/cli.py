"""`wfm`: the command line of `interface.md` — generate, ingest, build, publish, run.

Every command reads its home folder from `--home DIR` or `WFM_HOME` (default `./data`). Exit status 0 when the
command did its job, including when it refused bad files or rows (reported on stdout and in the audit tables);
1 when it could not do its job, with one line on stderr and no traceback. Tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import sys
from pathlib import Path
from typing import NoReturn

import duckdb

from wfm.config import Home
from wfm.errors import WfmError, shown
from wfm.lock import holding
from wfm.warehouse import storage_failure


def say(line: str) -> None:
    """One line of progress on stdout. When the reader has gone (`wfm run | head`), the rest goes to /dev/null
    and the command carries on: a night is not stopped by whoever watched it."""
    try:
        print(line, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _generate(args: argparse.Namespace) -> None:
    from wfm_synthetic import generate  # a tool for demos, tests and benchmarks, not part of the night

    out = Path(args.out) if args.out else Home.resolve(args.home).root / "generated"
    manifest = generate(
        out,
        scale=args.scale,
        seed=args.seed,
        periods=args.periods,
        quarterly=args.quarterly,
        formats=tuple(f.strip() for f in args.formats.split(",") if f.strip()),
        progress=True,
    )
    files = manifest.get("files", [])
    say(
        f"wrote {len(files)} files under {out} (scale {args.scale}, seed {args.seed}); "
        f"ground truth in {out / 'ground_truth.json'}"
    )


def _ingest(args: argparse.Namespace) -> None:
    from wfm.ingest import ingest_all

    home = Home.resolve(args.home).ensure()
    if args.files and not args.source:
        raise WfmError("name the files' source with --source survey|enterprise", rule="usage")
    files = [(args.source, Path(f)) for f in args.files] if args.files else None
    outcomes = ingest_all(home, files=files, echo=say)
    if not outcomes:
        say(f"nothing new in {home.inbox('survey')} or {home.inbox('enterprise')}")


def _build(args: argparse.Namespace) -> None:
    from wfm.night import build_and_check

    build_and_check(Home.resolve(args.home).ensure(), echo=say, full_refresh=args.full_refresh)


def _publish(args: argparse.Namespace) -> None:
    from wfm.publish import publish

    snapshot = publish(Home.resolve(args.home).ensure(), echo=say)
    say(f"published {snapshot}")


def _run(args: argparse.Namespace) -> None:
    from wfm.night import run_nightly

    run_nightly(Home.resolve(args.home).ensure(), echo=say)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="wfm", description=__doc__.split("\n")[0])
    top.add_argument("--home", help="home folder (default: $WFM_HOME or ./data)")
    sub = top.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write synthetic input files and their ground truth")
    gen.add_argument("--scale", choices=["demo", "national"], default="demo")
    gen.add_argument("--seed", type=int, default=20261124)
    gen.add_argument("--periods", type=int, default=1, help="annual survey waves, ending 2026")
    gen.add_argument("--quarterly", action="store_true", help="enterprise returns for every quarter of those years")
    gen.add_argument("--formats", default="csv,xlsx,parquet", help="comma-separated: csv,xlsx,parquet")
    gen.add_argument("--out", help="output folder (default: HOME/generated)")
    gen.set_defaults(func=_generate)

    ing = sub.add_parser("ingest", help="load files (default: every new file in the inbox) as batches")
    ing.add_argument("--source", choices=["survey", "enterprise"])
    ing.add_argument("files", nargs="*")
    ing.set_defaults(func=_ingest)

    build = sub.add_parser("build", help="build the indicator tables (dbt) and check them")
    build.add_argument(
        "--full-refresh",
        action="store_true",
        help="recompute every period (normally only the periods of batches promoted since the last build)",
    )
    build.set_defaults(func=_build)
    sub.add_parser("publish", help="refresh the readers' snapshot atomically").set_defaults(func=_publish)
    sub.add_parser("run", help="the nightly job: ingest, build, publish").set_defaults(func=_run)
    return top


#: The commands that write the home: each holds it alone while it runs (`wfm.lock`).
WRITERS = frozenset({"ingest", "build", "publish", "run"})


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command in WRITERS:
            with holding(Home.resolve(args.home).ensure(), f"wfm {args.command}"):
                args.func(args)
        else:
            args.func(args)
    except WfmError as exc:
        print(f"wfm {args.command}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, a read-only home, a permission: expected, and told in one line
        where = f" ({shown(os.fsdecode(exc.filename))})" if exc.filename else ""
        print(f"wfm {args.command}: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except duckdb.Error as exc:
        if not storage_failure(exc):  # anything else DuckDB refuses is a bug: its traceback is wanted
            raise
        print(f"wfm {args.command}: {shown(' '.join(str(exc).split()), 300)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"wfm {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


def command() -> NoReturn:
    """The `wfm` command (and `python -m wfm.cli`): `main`, then the exit handlers, and the process ends.

    A traceback (a bug) takes the ordinary way out; `main`, which tests call in a process that goes on, does not
    end the process.
    """
    code = main()
    # skips the interpreter's teardown, which frees GX's, pandas', pyarrow's and DuckDB's modules object by object
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    command()
