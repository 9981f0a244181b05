"""The reviewed suite files of `expectations/` and their SQL profiles, read into Great Expectations objects: what
the gate (`wfm.gate`) runs on a batch before promotion and on the marts before publishing.

A suite file (`expectations/<suite>.yml`) lists expectations in GX's own vocabulary (`type`, `kwargs`) plus `meta`
(`name`, `rule`, `severity`, `protects`, `profile`) and optional `where` / `where_not` filters. Every profile an
expectation names is a query in `expectations/profiles/<suite>/<profile>.sql`.

The gate stacks all profile frames of a suite into one frame, so that one GX validation covers the batch: the rows
one under the other, each profile's columns renamed `<profile>__<column>` (null in the other profiles' rows), plus
the shared `label` and a `profile` column. A column expectation then sees its own profile's values only, because GX
skips nulls, without a row condition; GX evaluates row conditions with `DataFrame.query` once per metric, which
would make them the larger part of a run. Expectations that count nulls or rows (`expect_table_*`, `*_to_be_null`,
`*_not_be_null`, `*_non_null_*`) do get the row condition `profile == <their profile>`, and `where` filters become
row conditions too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import great_expectations as gx
import yaml
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from great_expectations.expectations.row_conditions import Column, Condition

from wfm.errors import WfmError
from wfm.gate.config import EXPECTATIONS_DIR

SuiteName = Literal["survey_batch", "enterprise_batch", "marts"]
SUITES: tuple[SuiteName, ...] = ("survey_batch", "enterprise_batch", "marts")
SEVERITIES = ("critical", "warning")
META_KEYS = ("name", "rule", "severity", "protects", "profile")
#: every profile query selects this column: a short, non-personal description of the row for audit messages
LABEL = "label"
#: the column the gate adds to say which profile a row of the stacked frame came from
PROFILE = "profile"


def frame_column(profile: str, column: str) -> str:
    """A profile's column as named in the stacked frame (the label is shared by all profiles)."""
    return column if column == LABEL else f"{profile}__{column}"


@dataclass(frozen=True)
class ExpectationSpec:
    name: str
    severity: Literal["critical", "warning"]
    profile: str
    type: str
    kwargs: dict[str, Any]
    meta: dict[str, Any]
    where: dict[str, Any]
    where_not: dict[str, list[Any]]

    @property
    def column(self) -> str | None:
        """The expectation's column in the stacked frame (`<profile>__<column>`), if it has one."""
        return frame_column(self.profile, self.kwargs["column"]) if "column" in self.kwargs else None

    def counts_nulls_or_rows(self) -> bool:
        return self.type.startswith("expect_table_") or "_null" in self.type

    def row_condition(self) -> Condition | None:
        """The GX row condition: the profile (where nulls or rows count) and the `where` / `where_not` filters."""
        parts: list[Condition] = [Column(PROFILE) == self.profile] if self.counts_nulls_or_rows() else []
        for col, value in self.where.items():
            target = Column(frame_column(self.profile, col))
            parts.append(target.is_in(value) if isinstance(value, list) else target == value)
        for col, values in self.where_not.items():
            parts.append(Column(frame_column(self.profile, col)).is_not_in(values))
        if not parts:
            return None
        condition = parts[0]
        for part in parts[1:]:
            condition = condition & part
        return condition

    def gx_kwargs(self) -> dict[str, Any]:
        kwargs = dict(self.kwargs)
        for key in ("column", "column_A", "column_B"):
            if key in kwargs:
                kwargs[key] = frame_column(self.profile, kwargs[key])
        if "column_list" in kwargs:
            kwargs["column_list"] = [frame_column(self.profile, c) for c in kwargs["column_list"]]
        if (condition := self.row_condition()) is not None:
            kwargs["row_condition"] = condition
        return kwargs

    def to_gx(self) -> gx.expectations.Expectation:
        notes = f"{self.meta['rule']}\n\nProtects: {self.meta['protects']}\n\nProfile: {self.profile}"
        config = ExpectationConfiguration(
            type=self.type,
            kwargs=self.gx_kwargs(),
            meta=self.meta,
            notes=notes,
            severity=self.severity,  # GX's own field, so Data Docs show it too
        )
        return config.to_domain_obj()


@dataclass(frozen=True)
class SuiteSpec:
    name: SuiteName
    description: str
    expectations: tuple[ExpectationSpec, ...]
    #: profile name → SQL text with `{batch}`, `{raw}` or `{schema}` placeholders and `$name` parameters
    profiles: dict[str, str]

    def to_gx(self) -> gx.ExpectationSuite:
        return gx.ExpectationSuite(
            name=self.name,
            expectations=[e.to_gx() for e in self.expectations],
            meta={"description": self.description},
        )

    def by_name(self) -> dict[str, ExpectationSpec]:
        return {e.name: e for e in self.expectations}


def _fail(path: Path, message: str) -> WfmError:
    return WfmError(message, file=str(path), rule="suite_file")


def _expectation(path: Path, raw: dict[str, Any], profiles: dict[str, str]) -> ExpectationSpec:
    meta = dict(raw.get("meta") or {})
    missing = [k for k in META_KEYS if not meta.get(k)]
    name = meta.get("name", "?")
    if missing:
        raise _fail(path, f"expectation {name} lacks meta {missing}")
    if meta["severity"] not in SEVERITIES:
        raise _fail(path, f"expectation {name}: severity must be one of {SEVERITIES}")
    if meta["profile"] not in profiles:
        raise _fail(path, f"expectation {name}: no profile query {meta['profile']}.sql")
    kwargs = dict(raw.get("kwargs") or {})
    if "row_condition" in kwargs:
        raise _fail(path, f"expectation {name}: use where / where_not, the gate builds the row condition")
    where_not = dict(raw.get("where_not") or {})
    if any(not isinstance(v, list) for v in where_not.values()):
        raise _fail(path, f"expectation {name}: where_not takes lists of values")
    return ExpectationSpec(
        name=name,
        severity=meta["severity"],
        profile=meta["profile"],
        type=raw["type"],
        kwargs=kwargs,
        meta=meta,
        where=dict(raw.get("where") or {}),
        where_not=where_not,
    )


@cache
def load_suite(name: SuiteName, directory: Path = EXPECTATIONS_DIR) -> SuiteSpec:
    """Read `<directory>/<name>.yml` and its profiles; refuse a file that breaks the conventions above."""
    path = directory / f"{name}.yml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise _fail(path, f"cannot read suite {name}: {exc}") from exc
    profiles = {p.stem: p.read_text(encoding="utf-8") for p in sorted((directory / "profiles" / name).glob("*.sql"))}
    specs = tuple(_expectation(path, raw, profiles) for raw in doc.get("expectations") or [])
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise _fail(path, f"duplicate expectation names {sorted({n for n in names if names.count(n) > 1})}")
    if bad := [n for n in names if not re.fullmatch(rf"{name.split('_')[0]}\.[a-z0-9_]+", n)]:
        raise _fail(path, f"expectation names must read '<source or layer>.<snake_case>': {bad}")
    unused = sorted(set(profiles) - {s.profile for s in specs})
    if unused:  # a query nobody checks costs a scan of the batch for nothing
        raise _fail(path, f"profiles without expectations: {unused}")
    return SuiteSpec(name=name, description=doc.get("description", ""), expectations=specs, profiles=profiles)
