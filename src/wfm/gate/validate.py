"""validate_batch and validate_marts: profiles in DuckDB, expectations in GX, one audit row per expectation."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
from great_expectations.core.expectation_validation_result import ExpectationValidationResult

from wfm.config import Home
from wfm.contract import RAW_TABLE, Source
from wfm.errors import WfmError
from wfm.gate.config import GateConfig
from wfm.gate.context import session
from wfm.gate.profiles import checked_identifier, run_profiles, stack
from wfm.gate.suites import LABEL, PROFILE, ExpectationSpec, SuiteName, SuiteSpec, frame_column, load_suite
from wfm.warehouse import ensure_schema

SUITE_OF_SOURCE: dict[str, SuiteName] = {"survey": "survey_batch", "enterprise": "enterprise_batch"}
#: audit.validation_results.file_sha256 for a marts validation, which has no file
MARTS_KEY = "marts"
#: observed_value is a note for a person reading the audit table, not a dump
OBSERVED_MAX = 400
SHOWN_ROWS = 3


@dataclass(frozen=True)
class Outcome:
    """One expectation's verdict, as written to audit.validation_results."""

    name: str
    severity: Literal["critical", "warning"]
    success: bool
    observed: str


@dataclass(frozen=True)
class GateResult:
    suite: str
    #: False when any critical expectation failed: the batch must not be promoted (the marts not published)
    success: bool
    failed_critical: list[str]
    #: failed expectations of severity warning: recorded, not blocking
    warnings: list[str]
    docs_index: Path
    outcomes: list[Outcome] = field(default_factory=list)


def validate_batch(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    table: str,
    batch_id: str,
    run_id: str,
    home: Home,
    config: GateConfig | None = None,
    docs: bool = True,
    raw: str | None = None,
) -> GateResult:
    """Gate one staged batch (`table` holds its rows, with the raw table's columns) before it is promoted.

    Runs inside the caller's transaction if there is one; never commits or closes `con`. `docs=False` leaves
    the Data Docs for the caller to rebuild once after several batches (`build_docs`). `raw`: what the suite
    reads as the warehouse's rows before the batch (default the source's raw table), for a caller that put the
    batch's rows in raw already.
    """
    if source not in SUITE_OF_SOURCE:
        raise WfmError(f"unknown source {source!r}", rule="gate")
    config = config or GateConfig.load()
    suite = load_suite(SUITE_OF_SOURCE[source])
    placeholders = {
        "batch": checked_identifier(table, "batch table"),
        "raw": checked_identifier(raw, "raw table") if raw else RAW_TABLE[source],
    }
    parameters = {"batch_id": batch_id, **config.query_parameters()}
    return _validate(
        con,
        suite,
        placeholders,
        parameters,
        config,
        key=batch_id,
        run_id=run_id,
        home=home,
        run_name=f"{run_id}__{batch_id[:12]}",
        docs=docs,
    )


def validate_marts(
    con: duckdb.DuckDBPyConnection,
    schema: str = "main",
    *,
    run_id: str,
    home: Home,
    config: GateConfig | None = None,
    docs: bool = True,
) -> GateResult:
    """Gate the marts dbt built in `schema` (indicator_values, indicator_registry) before they are published."""
    config = config or GateConfig.load()
    suite = load_suite("marts")
    placeholders = {"schema": checked_identifier(schema, "marts schema")}
    return _validate(
        con,
        suite,
        placeholders,
        config.query_parameters(),
        config,
        key=MARTS_KEY,
        run_id=run_id,
        home=home,
        run_name=f"{run_id}__{MARTS_KEY}",
        docs=docs,
    )


def _validate(
    con: duckdb.DuckDBPyConnection,
    suite: SuiteSpec,
    placeholders: dict[str, str],
    parameters: dict[str, Any],
    config: GateConfig,
    *,
    key: str,
    run_id: str,
    home: Home,
    run_name: str,
    docs: bool,
) -> GateResult:
    frame = stack(run_profiles(con, suite, placeholders, parameters))
    gx_session = session(home.gx)
    validation = gx_session.validate(
        suite, frame, config.expectation_parameters(), run_name, config.docs_history, docs=docs
    )
    specs = suite.by_name()
    by_profile = dict(tuple(frame.groupby(PROFILE, sort=False))) if not frame.empty else {}
    outcomes: list[Outcome] = []
    for result in validation.results:
        spec = specs[result.expectation_config.meta["name"]]
        rows = by_profile.get(spec.profile, frame.iloc[0:0])
        outcomes.append(Outcome(spec.name, spec.severity, bool(result.success), observed(spec, result, rows)))
    missing = set(specs) - {o.name for o in outcomes}
    if missing:  # GX dropped an expectation: treat as failed rather than as passed
        outcomes += [Outcome(n, specs[n].severity, False, "not evaluated by GX") for n in sorted(missing)]
    _record(con, suite.name, key, run_id, outcomes)
    failed_critical = [o.name for o in outcomes if not o.success and o.severity == "critical"]
    return GateResult(
        suite=suite.name,
        success=not failed_critical,
        failed_critical=failed_critical,
        warnings=[o.name for o in outcomes if not o.success and o.severity == "warning"],
        docs_index=gx_session.docs_index,
        outcomes=outcomes,
    )


def prepare_marts(home: Home) -> None:
    """What `validate_marts` will need before the marts exist: its checkpoint, the Data Docs pages of the
    validations stored so far (`GxSession.prepare`). The night does it while dbt builds the marts."""
    session(home.gx).prepare(load_suite("marts"))


def build_docs(home: Home) -> Path:
    """Rebuild the Data Docs of `home` from every stored validation result; returns the site's index page."""
    return session(home.gx).build_docs()


def _record(con: duckdb.DuckDBPyConnection, suite: str, key: str, run_id: str, outcomes: list[Outcome]) -> None:
    ensure_schema(con)
    checked_at = datetime.now(UTC).replace(tzinfo=None)
    con.executemany(
        "INSERT INTO audit.validation_results (file_sha256, suite, expectation, severity, success, observed_value,"
        " run_id, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [[key, suite, o.name, o.severity, o.success, o.observed, run_id, checked_at] for o in outcomes],
    )


# --- observed_value: what a person reading the audit table needs to see, in one short line ---------------------


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "null"
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, numbers.Real):
        value = float(value)
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"
    return str(value)


def _domain(spec: ExpectationSpec, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of its profile the expectation looks at (its `where` filters, evaluated here in pandas)."""
    if rows.empty or not (spec.where or spec.where_not):
        return rows
    mask = pd.Series(True, index=rows.index)
    for col, value in spec.where.items():
        values = rows[frame_column(spec.profile, col)]
        mask &= values.isin(value) if isinstance(value, list) else values == value
    for col, excluded in spec.where_not.items():
        mask &= ~rows[frame_column(spec.profile, col)].isin(excluded)
    return rows[mask.fillna(False).astype(bool)]


def observed(spec: ExpectationSpec, result: ExpectationValidationResult, rows: pd.DataFrame) -> str:
    """A short note: the values checked when there are few, else how many and which rows were unexpected.

    `rows` are the stacked frame's rows of the expectation's profile. Built only from profile frames, which never
    hold personal data (see wfm.gate.profiles).
    """
    text = _observed(spec, result, rows)
    return text if len(text) <= OBSERVED_MAX else text[: OBSERVED_MAX - 1] + "…"


def _observed(spec: ExpectationSpec, result: ExpectationValidationResult, rows: pd.DataFrame) -> str:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        message = (info.get("exception_message") or "unknown error").splitlines()[0]
        return f"error: {message}"
    rows = _domain(spec, rows)
    column = spec.column
    if spec.column is None:  # a table expectation: GX observed a row count
        return f"{_fmt(result.result.get('observed_value'))} row(s) in profile {spec.profile}"
    column, name = spec.column, spec.kwargs["column"]
    checked = rows[rows[column].notna()] if column in rows else rows.iloc[0:0]
    if not result.success:
        unexpected = result.result.get("unexpected_count")
        values = result.result.get("partial_unexpected_list") or []
        # a column map expectation judges each row by its value alone, so the rows holding an unexpected value
        # are the unexpected rows: their labels come from the frame (GX's index lists cost more than the rest)
        bad = checked[checked[column].isin(values)] if values and column in checked else checked.iloc[0:0]
        items = [_item(label, name, v) for label, v in zip(bad[LABEL], bad[column], strict=True)][:SHOWN_ROWS]
        if not items:
            items = [_fmt(v) for v in values][:SHOWN_ROWS]
        more = " …" if unexpected and unexpected > len(items) else ""
        total = len(rows) if "_null" in spec.type else len(checked)
        return f"{_fmt(unexpected)} of {total} unexpected: " + "; ".join(items) + more
    if spec.type == "expect_column_values_to_be_null":
        return f"{name} empty in all {len(rows)} row(s)"
    if checked.empty:
        return f"no {name} values to check"
    if len(checked) <= SHOWN_ROWS:
        return "; ".join(_item(label, name, v) for label, v in zip(checked[LABEL], checked[column], strict=True))
    values = checked[column]
    span = f"; {name} {_fmt(values.min())} to {_fmt(values.max())}" if pd.api.types.is_numeric_dtype(values) else ""
    return f"all {len(checked)} as expected{span}"


def _item(label: Any, name: str, value: Any) -> str:
    shown = f"{name}={_fmt(value)}"
    return str(label) if label == shown else f"{label}: {shown}"
