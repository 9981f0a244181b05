"""Profiles: the SQL half of the gate. Each query reduces the batch (or the marts) to a small frame inside DuckDB.

The frames are what Great Expectations sees, so the rule that no personal data reaches an audit row or Data Docs
is enforced here: a profile that selects a personal column is a bug and stops the gate.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb
import pandas as pd

from wfm.errors import WfmError
from wfm.gate.suites import LABEL, PROFILE, SuiteSpec, frame_column

#: columns that must never leave the warehouse in a profile frame (personal data, or names)
FORBIDDEN_COLUMNS = frozenset({"id_number", "person_key", "contact_person", "contact_phone", "enterprise_name"})
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


def checked_identifier(name: str, what: str) -> str:
    """A table or schema name is pasted into SQL, so it must be a plain (optionally qualified) identifier."""
    if not _IDENTIFIER.fullmatch(name):
        raise WfmError(f"{what} {name!r} is not a plain SQL identifier", rule="gate")
    return name


def render(sql: str, placeholders: dict[str, str]) -> str:
    """Fill `{batch}`, `{raw}`, `{schema}`; an unknown placeholder is a typo in a profile, not a table name."""

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in placeholders:
            raise WfmError(f"profile uses unknown placeholder {{{match.group(1)}}}", rule="gate_profile")
        return placeholders[match.group(1)]

    return _PLACEHOLDER.sub(fill, sql)


def run_profiles(
    con: duckdb.DuckDBPyConnection, suite: SuiteSpec, placeholders: dict[str, str], parameters: dict[str, Any]
) -> dict[str, pd.DataFrame]:
    """Every profile query of the suite, run on `con` (inside the caller's transaction, if any)."""
    frames: dict[str, pd.DataFrame] = {}
    for name, sql in suite.profiles.items():
        text = render(sql, placeholders)
        # DuckDB refuses parameters a statement does not use: pass each query only its own
        used = {k: v for k, v in parameters.items() if re.search(rf"\${k}\b", text)}
        try:
            frame = con.execute(text, used).df()
        except duckdb.Error as exc:
            raise WfmError(f"profile query {suite.name}/{name} failed: {exc}", rule="gate_profile") from exc
        if LABEL not in frame.columns:
            raise WfmError(f"profile {suite.name}/{name} must select a '{LABEL}' column", rule="gate_profile")
        if leaked := FORBIDDEN_COLUMNS & set(frame.columns):
            raise WfmError(
                f"profile {suite.name}/{name} selects personal columns {sorted(leaked)}", rule="gate_profile"
            )
        # in label order: a query's row order varies with DuckDB's threads, and the notes list rows in frame order
        frames[name] = frame.sort_values(LABEL, kind="stable", na_position="last", ignore_index=True)
    return frames


def stack(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One frame for one GX validation: the profiles' rows one under the other (see `wfm.gate.suites`).

    Each profile's columns become `<profile>__<column>`, null in the other profiles' rows; `label` is shared and
    `profile` says where a row came from. An empty profile still contributes its columns, so an expectation on it
    checks zero rows instead of failing on a missing column.
    """
    renamed = {
        name: frame.rename(columns=lambda c, name=name: frame_column(name, c)).assign(**{PROFILE: name})
        for name, frame in frames.items()
    }
    columns = [PROFILE, LABEL]
    for frame in renamed.values():
        columns += [c for c in frame.columns if c not in columns]
    parts = [frame for frame in renamed.values() if len(frame)]
    stacked = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return stacked.reindex(columns=columns)
