"""The validation gate: expectations a batch must meet before promotion, and the marts before publication.

Place in the flow: `wfm.ingest` reads and checks a file into a batch → `validate_batch` checks the batch
(gate) → `wfm.ingest` promotes it to `raw` only when no critical expectation failed; after the dbt build,
`validate_marts` does the same for the indicator tables before `wfm.publish`. Every expectation leaves one row
in `audit.validation_results`, the run lands in Great Expectations' validation store, and Data Docs under
`home.gx` show it to people.

How: heavy lifting inside DuckDB, Great Expectations on small frames (`docs/decisions.md`). Each suite comes
with named SQL profile queries (`expectations/profiles/<suite>/*.sql`, run by `profiles`) that reduce the batch,
inside DuckDB and inside the caller's transaction, to small frames; the profiles of a suite are stacked into one
frame with a `profile` column, and Great Expectations validates it through its pandas datasource with one
Checkpoint per suite (`context`). The reviewed suite files are `expectations/<suite>.yml` (`suites`).

    from wfm.gate import validate_batch, validate_marts, build_docs
    res = validate_batch(con, source="survey", table="landing.batch_xxx", batch_id=sha256, run_id=run_id,
                         home=home)
    res.success, res.failed_critical, res.warnings, res.docs_index
    res = validate_marts(con, schema="marts", run_id=run_id, home=home)
    build_docs(home)  # after validations run with docs=False

The names below come from the engine, which imports Great Expectations on first use (`wfm.gate.gx`).
"""

from typing import Any

from wfm.gate import gx
from wfm.gate.config import GateConfig

_ENGINE_NAMES = ("GateResult", "Outcome", "build_docs", "prepare_marts", "validate_batch", "validate_marts")

__all__ = ["GateConfig", "loading_in_background", *_ENGINE_NAMES]

loading_in_background = gx.loading_in_background


def __getattr__(name: str) -> Any:
    if name in _ENGINE_NAMES:
        return getattr(gx.engine(), name)
    raise AttributeError(f"module 'wfm.gate' has no attribute {name!r}")
