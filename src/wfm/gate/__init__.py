"""The validation gate: expectations a batch must meet before promotion, and the marts before publication.

Place in the flow: `ingest` stages a file as `landing.batch_<id>` (load) → `validate_batch` checks it (gate) →
`ingest.promote` moves it to `raw` only when no critical expectation failed (promote); after `dbt build`,
`validate_marts` does the same for the indicator tables before `publish`. Every expectation leaves one row in
`audit.validation_results`, the run lands in Great Expectations' validation store, and Data Docs under
`home.gx` show it to people.

How: heavy lifting inside DuckDB, GX on small frames. GX 1.x's SQL path does not work on DuckDB (upstream
issue great_expectations#11579: metric results are fetched after the pooled connection has closed, so every
expectation comes back empty), it would need duckdb_engine, which this environment does not ship, and the
pandas path would mean copying a 5-million-row batch into pandas (13 s, 4.8 GB). So each suite comes with named
SQL profile queries (`expectations/profiles/<suite>/*.sql`) that reduce the batch, inside DuckDB and inside the
caller's transaction, to small frames: one row per stratum with its PSU count, one per question with its item
non-response, one per wave with its weight total against the previous wave's … GX then validates those frames
through its pandas datasource (a dataframe asset, a whole-dataframe batch definition) with its own expectations,
run by a Checkpoint; the Data Docs are rebuilt after each validation, or once after several (`docs=False`, then
`build_docs(home)`: rendering the site costs more than a validation). The profiles of a suite are stacked
into one frame with a `profile` column and every expectation carries the row condition `profile == <its
profile>`, so one GX validation covers the batch. The reviewed suite files are `expectations/<suite>.yml`;
`expectations/README.md` explains the format, the rules and the decisions.

    from wfm.gate import validate_batch, validate_marts, GateResult
    res = validate_batch(con, source="survey", table="landing.batch_xxx", batch_id=sha256, run_id=run_id,
                         home=home)
    res.success, res.failed_critical, res.warnings, res.docs_index
    res = validate_marts(con, schema="main", run_id=run_id, home=home)
    build_docs(home)  # after validations run with docs=False
"""

from wfm.gate.config import GateConfig
from wfm.gate.core import GateResult, Outcome, build_docs, prepare_marts, validate_batch, validate_marts

__all__ = ["GateConfig", "GateResult", "Outcome", "build_docs", "prepare_marts", "validate_batch", "validate_marts"]
