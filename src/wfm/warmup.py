"""Import slow libraries on a background thread while the night does other work.

Great Expectations takes about 1.5 s to import (2.7 s before SQLAlchemy was hidden from it and scipy.stats deferred:
`HIDDEN`, `DEFERRED`); the night imports it while the first file is read and checked, which is DuckDB's work and
releases the interpreter (dbt is imported in a process of its own, `wfm.build.DbtWorker`). The publication's
libraries (`PUBLICATION_MODULES`, for the exports) are imported while the dbt process builds and this one only waits
for it, instead of on the night's last, single-threaded stretch. Python's import locks do not make concurrent
imports of one package safe when its modules import each other in cycles (Great Expectations' do: the main thread
then sees a partially initialised module), so every place that imports a library of `MODULES` or
`PUBLICATION_MODULES` (or one that imports it) first calls `wait()`, which returns at once when nothing was started.
The imported libraries are then frozen out of the garbage collector's reach (see `start`) when the `wfm` command
runs: the night's later collections, and the exit's, no longer walk them.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import sys
import threading
from collections.abc import Iterator

MODULES = ("great_expectations",)
#: Optional dependencies of Great Expectations that the night never uses (its SQL datasources: the gate reads
#: DuckDB itself) and that it imports whenever they are installed (Airflow installs SQLAlchemy): hidden from
#: the import, which then takes ~0.4 s less of its ~2.7 s (`_hidden`).
HIDDEN = ("sqlalchemy",)
#: Modules Great Expectations imports whole but uses only inside functions the gate never calls (scipy.stats:
#: the KL-divergence and Kolmogorov-Smirnov expectations): loaded on first use instead (`_deferred`), ~0.8 s
#: of the import.
DEFERRED = ("scipy.stats",)
#: what `wfm.exports` imports when the night publishes (SDMX and Excel writers; pandas comes with GX)
PUBLICATION_MODULES = ("pysdmx.io", "pysdmx.io.pd", "pysdmx.model", "openpyxl", "openpyxl.styles")
#: seconds between the interpreter's switches of threads while the import runs (Python's default is 0.005)
SWITCH_INTERVAL = 0.001

_threads: list[threading.Thread] = []
_started: set[str] = set()
_lock = threading.Lock()
#: Freeze what is alive once the imports are done (see `start`; read when they begin). Set by the `wfm` command
#: before the night starts, since its process ends with the night; a process that goes on (tests, a scheduler)
#: keeps the collector's normal reach, or DuckDB's binding would report the objects kept out of it as leaks
#: when that process ends.
freeze_after_import = False


def start(modules: tuple[str, ...] = MODULES) -> None:
    """Begin importing `modules` on a daemon thread (each module once per process; a later call's thread
    begins when the earlier ones are done).

    While the import runs, the interpreter hands its lock between threads every millisecond instead of every
    5 ms (`sys.setswitchinterval`): the import holds the lock almost without pause, and the night's own thread,
    which needs it only between DuckDB calls, waited up to a full interval for each of them. Incremental nights
    side by side, 14 pairs alternated: 11 faster with it, by 0.35 s at the median of the differences (the
    machine's noise is of the same size, hence the many pairs). Restored when the import is done.
    """
    with _lock:
        todo = [name for name in modules if name not in _started]
        if not todo:
            return
        _started.update(todo)
        earlier = list(_threads)

        def work() -> None:
            for thread in earlier:  # one import thread at a time: each puts back the interval it found
                thread.join()
            interval = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_INTERVAL)
            # The cyclic collector would walk the growing module graph again and again while it is built
            # (about a fifth of the import time), and every full collection afterwards would walk it again
            # (the night's build and its exit triggered several, about 2 s of an incremental night when dbt
            # was imported here too): modules are not garbage, so the collector pauses while they load and
            # what is alive then goes to the permanent generation. (Collecting first made DuckDB's binding
            # report leaked objects at exit.)
            gx = "great_expectations" in todo
            try:
                with collector_paused(freeze=freeze_after_import), _hidden(HIDDEN if gx else ()):
                    _deferred(DEFERRED if gx else ())
                    for name in todo:
                        with contextlib.suppress(Exception):  # a failed import is simply tried again by its user
                            importlib.import_module(name)
            finally:
                sys.setswitchinterval(interval)

        thread = threading.Thread(target=work, name="wfm-warm-up", daemon=True)
        _threads.append(thread)
        thread.start()


@contextlib.contextmanager
def collector_paused(freeze: bool) -> Iterator[None]:
    """Pause the cyclic garbage collector while long-lived objects are built (modules, a parsed project); then,
    with `freeze`, move everything alive to the permanent generation, out of later collections' walks. Used
    here for the night's imports and by `wfm.build.DbtWorker` for dbt's import and parse."""
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        gc.enable()


@contextlib.contextmanager
def _hidden(modules: tuple[str, ...]) -> Iterator[None]:
    """Make `modules` look uninstalled (their import raises ImportError) for the duration, unless this process
    imported them already or may need them meanwhile: the pseudonymisation key can come from Airflow
    (`wfm.pseudonym.airflow_configured`), whose import needs SQLAlchemy and may happen on the night's thread
    while this one imports. Importable again afterwards; Great Expectations keeps its "not installed"
    placeholders for them, which only its SQL datasources would read."""
    from wfm.pseudonym import airflow_configured

    hidden = [] if airflow_configured() else [name for name in modules if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # Python's documented way to make an import fail
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def _deferred(modules: tuple[str, ...]) -> None:
    """Make each of `modules` load on first use: the standard library's lazy import
    (`importlib.util.LazyLoader`), the module executing when one of its attributes is first read. Not for a
    module imported already or not installed. (Python 3.11's lazy loader is not safe for two threads reading
    the module first at once; nothing in the night reads these.)"""
    for name in modules:
        if name in sys.modules:
            continue
        try:
            spec = importlib.util.find_spec(name)  # imports the parent package, which is light
        except ImportError:
            continue
        if spec is None or spec.loader is None:
            continue
        spec.loader = importlib.util.LazyLoader(spec.loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)


def wait() -> None:
    """Block until the background imports are done, if any were started."""
    with _lock:
        threads = list(_threads)
    for thread in threads:
        thread.join()
