"""The one place that imports Great Expectations: the gate's engine (`wfm.gate.validate`, `wfm.gate.context`).

Great Expectations takes seconds to import. Inside `loading_in_background` that import runs on a background
thread while the caller does DuckDB work (reading and checking the first file releases the interpreter), and
it is over when the block ends; `engine` returns the imported engine, waiting for a background import under
way or importing it itself. Both take one lock, so the package is never imported by two threads at once
(Python's import locks do not make that safe for a package whose modules import each other in cycles, as Great
Expectations' do). `wfm.gate` resolves its engine names through `engine` (`from wfm.gate import validate_batch`
just works): no other module imports the engine or Great Expectations.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
import threading
from collections.abc import Iterator
from types import ModuleType

ENGINE = "wfm.gate.validate"
#: imported whole by Great Expectations, used only by expectations the gate does not run: loaded on first use
DEFERRED = ("scipy.stats",)

_lock = threading.Lock()
_prefetch: threading.Thread | None = None


@contextlib.contextmanager
def loading_in_background() -> Iterator[None]:
    """Import the engine on a thread of its own while the block runs (nothing when it is imported already);
    leaving the block waits for that import, so none outlives it."""
    global _prefetch
    with _lock:
        thread = None
        if _prefetch is None and ENGINE not in sys.modules:
            thread = _prefetch = threading.Thread(target=_import, args=(True,), name="wfm-gx-import", daemon=True)
            thread.start()
    try:
        yield
    finally:
        if thread is not None:
            thread.join()
            _prefetch = None


def engine() -> ModuleType:
    """The gate's engine module, imported once per process (waiting for a prefetch under way)."""
    thread = _prefetch
    if thread is not None and thread is not threading.current_thread():
        thread.join()
    if ENGINE not in sys.modules:
        _import(background=False)
    return sys.modules[ENGINE]


def _import(background: bool) -> None:
    with _lock:
        if ENGINE in sys.modules:
            return
        _deferred(DEFERRED)
        if background:  # a failed import is tried again, and reported, by `engine`
            with contextlib.suppress(Exception):
                importlib.import_module(ENGINE)
        else:
            importlib.import_module(ENGINE)


def _deferred(modules: tuple[str, ...]) -> None:
    """Make each of `modules` load on first use (`importlib.util.LazyLoader`). Python 3.11's lazy loader is not
    safe for two threads reading a module first at once; nothing the gate runs reads these."""
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
