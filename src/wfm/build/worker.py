"""The dbt worker: a process of its own that imports dbt and parses the project while the night ingests.

`wfm run` starts one with the night, so that dbt's import and parse, seconds of Python, run beside the
ingestion on the machine's other core; the build is then handed to it (`DbtWorker.invoke`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from wfm.build.dbt import VARS, Outcome, common_args, environment, first_line
from wfm.build.project import dbt_log, dbt_paths
from wfm.errors import WfmError

T = TypeVar("T")


class DbtWorker:
    """dbt in a process of its own for one build of `warehouse`, started before the build is due.

    The process imports dbt and parses the project (`dbt parse`: it reads the project's files and the partial
    parse in `target/`, never the warehouse) while its caller does other work, then waits; `invoke` hands it
    the build's arguments and it runs them with the project it parsed, releases the warehouse and answers, then
    writes dbt's artifacts (`target/run_results.json`, `manifest.json`) and ends (`close` waits for that).
    `wfm run` starts one with the night: dbt's import and parse, several seconds of Python, then run beside
    the ingestion instead of holding this process's interpreter, and `behind` it (`run_behind`): at a
    lower priority, so that the ingestion goes first. The caller must have closed its own connections to the
    warehouse before `invoke` (DuckDB lets one process write a file).

    A plain subprocess (`python -c`) talking pickles over two pipes of its own, not `multiprocessing`: its
    spawn start method runs the caller's main script again in the child, which fails in a script that calls
    `run_nightly` without the `if __name__ == "__main__"` guard.
    """

    def __init__(self, warehouse: Path, behind: bool = False) -> None:
        self.warehouse = Path(warehouse).resolve()
        requests_out, requests_in = os.pipe()
        answers_out, answers_in = os.pipe()
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WORKER_MAIN,
                str(requests_out),
                str(answers_in),
                str(self.warehouse),
                str(os.getpid()),
                "behind" if behind else "",
            ],
            pass_fds=(requests_out, answers_in),
            stdin=subprocess.DEVNULL,
        )
        os.close(requests_out)
        os.close(answers_in)
        self._requests = os.fdopen(requests_in, "wb")
        self._answers = os.fdopen(answers_out, "rb")

    def invoke(self, args: list[str], vintage: str) -> Outcome:
        """Run dbt with `args` (a build stamped `vintage`) in the worker and return its outcome, as soon as the
        worker has released the warehouse. dbt's artifacts are then still being written: call `close` before
        reading them."""
        try:
            pickle.dump((args, vintage), self._requests)
            self._requests.flush()
            outcome: Outcome = pickle.load(self._answers)
        except (EOFError, OSError, pickle.UnpicklingError):
            self.close()
            code = self._process.returncode
            raise WfmError(
                f"build failed: the dbt process ended without an answer (exit code {code}; "
                f"see {dbt_log(self.warehouse)})"
            ) from None
        return outcome

    def close(self) -> None:
        """End the worker: one still waiting for a request is told to stop, one that answered is waited for
        while it writes dbt's artifacts (idempotent)."""
        if self._process.poll() is None:
            with contextlib.suppress(OSError):
                pickle.dump(None, self._requests)
                self._requests.flush()
            try:
                self._process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for pipe in (self._requests, self._answers):
            with contextlib.suppress(OSError):
                pipe.close()


_WORKER_MAIN = (
    "import sys; from wfm.build.worker import _serve; "
    "_serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5] == 'behind')"
)


def _prepare(parsed: list[Any], warehouse: Path) -> None:
    """Import dbt and parse the project into `parsed`; a project that does not parse is parsed again, and its
    error reported, by the build."""
    try:
        from dbt.cli.main import dbtRunner

        # --no-write-json: the build writes target/manifest.json (and the run results) when it ends
        result = dbtRunner().invoke(["parse", *common_args(warehouse), *VARS, "--no-write-json"])
        if result.success:
            parsed.append(result.result)
    except Exception:  # noqa: BLE001 - the build then parses again and reports what is wrong in its own words
        pass


#: How much lower the priority of dbt's import and parse is than the night's (a nice increment). Higher, and
#: the build waits longer for a parse the ingestion starved; lower, and the parse slows the ingestion more.
PARSE_NICENESS = 10


def behind() -> None:
    """Lower the calling thread's priority by `PARSE_NICENESS` (threads it starts afterwards inherit it): dbt's
    import and parse ahead of the build then take what the night's ingestion, on the same cores meanwhile,
    leaves (docs/decisions.md, "dbt in a worker process"). Linux sets the priority of one thread through its
    thread id; elsewhere nothing changes."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            thread = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + PARSE_NICENESS)


def run_behind(work: Callable[[], T]) -> T:
    """`work` on a thread of its own whose priority is lower (`behind`), waited for: its result, or its exception
    raised here. Only that thread yields, so the caller keeps its priority: the worker's build runs on its main
    thread, and dbt's threads, made then, at the night's priority. Where nothing runs beside the parse that the
    build does not wait for too (the DAG's build task), the parse would only end later: such a worker is not
    started `behind`."""
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        behind()
        try:
            outcome.append((True, work()))
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            outcome.append((False, error))

    thread = threading.Thread(target=run, name="wfm-dbt-parse")
    thread.start()
    thread.join()
    done, value = outcome[0]
    if not done:
        raise value
    return value


def _die_with(parent: int) -> None:
    """End this process when `parent` ends, however it ends: a worker left building after its night was killed
    would hold the warehouse's write lock against the next night. Linux's parent-death signal, asked for here;
    it fires when the thread that started the worker ends, so `DbtWorker` is made on a thread that lives as
    long as the night (the main thread of `wfm run`). Elsewhere the worker still ends at its next read of the
    closed request pipe."""
    if sys.platform == "linux":
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent ended before the signal was asked for
        os._exit(1)


def _serve(requests_fd: int, answers_fd: int, warehouse: str, parent: int, behind: bool = False) -> None:
    """The worker process's body (see `DbtWorker`): parse (`behind`: at a lower priority), then answer one
    request read from `requests_fd`. dbt runs in the environment an in-process build gets (`environment`),
    which also releases the warehouse."""
    _die_with(parent)
    parsed: list[Any] = []
    with environment(Path(warehouse)):  # the profile names the warehouse
        if behind:
            run_behind(lambda: _prepare(parsed, Path(warehouse)))
        else:
            _prepare(parsed, Path(warehouse))
    manifest = parsed[0] if parsed else None
    with os.fdopen(requests_fd, "rb") as requests, os.fdopen(answers_fd, "wb") as answers:
        try:
            request = pickle.load(requests)
        except EOFError:  # the caller went away
            return
        if request is None:
            return
        args, vintage = request
        result = None
        try:
            from dbt.cli.main import dbtRunner

            # with a parsed project, its artifacts are written here after the answer (see _write_artifacts)
            later = ["--no-write-json"] if manifest is not None else []
            with environment(Path(warehouse), vintage=vintage):
                result = dbtRunner(manifest=manifest).invoke([*args, *later])
            outcome = Outcome.of(result, manifest)
        except BaseException as error:  # noqa: BLE001 - whatever happened is the build's failure, sent back
            outcome = Outcome(False, first_line(f"{type(error).__name__}: {error}"))
        pickle.dump(outcome, answers)
        answers.flush()
        if result is not None and manifest is not None:
            _write_artifacts(result, manifest, Path(warehouse))


def _write_artifacts(result: Any, manifest: Any, warehouse: Path) -> None:
    """What dbt writes at the end of an invocation without --no-write-json: the manifest (with the nodes the
    build compiled) and the run results, into the home's `dbt/target`. The worker writes them after its
    answer, while the night goes on with the marts' validation and publishing."""
    from dbt.artifacts.schemas.run import RunExecutionResult
    from dbt.parser.manifest import write_manifest

    target = dbt_paths(warehouse)[0]
    write_manifest(manifest, str(target))
    if isinstance(result.result, RunExecutionResult):  # a command that ran nodes (not parse, say)
        result.result.write(str(target / "run_results.json"))
