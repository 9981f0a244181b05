"""The audit before every publication, on the warehouse as built: what an attacker gets from everything published.

`audit_warehouse` reads, per source, the true figures and primary statuses of the cells (the suppression models
int_enterprise__suppression and int_survey__suppression), which figures readers see (marts.indicator_values,
and the earlier vintages kept in marts.indicator_revisions where they still equal the truth), the seed
published_magnitudes and the publication rules, and computes every sensitive figure's feasibility interval
(wfm.disclosure.audit). `record` stores the result in `audit.disclosure_audit`; `refusal` is the message that
stops a publication when any figure lies inside its protection.

Each source, period and scope is a system of its own, and its audit a function of its cells (true figures,
statuses, what readers see), the seeds, the rules and this package's code alone. So a system whose fingerprint
of those equals the one `record` stored for the last audit keeps that audit's rows, and only the systems that
changed are solved again: with years of history, a night that brings one quarter audits that quarter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd

from wfm.disclosure.control import (
    AUDIT_COLUMNS,
    additive_breakdowns,
    audit,
    restricted_magnitudes,
    rules_mapping,
    source_links,
)
from wfm.warehouse import has_relation, transaction

#: Where dbt builds the models and seeds the audit reads (dbt_project.yml).
INTERMEDIATE, MARTS, REFERENCE = "intermediate", "marts", "reference"

#: Per source: the model with the cells' true figures (SQL giving period, scope, indicator_code, statistic,
#: breakdown, member, published_member, num, den, primary; for enterprise cells also the dominance rule's
#: figures and n_enterprises; the published conf_status and whether the cell is withheld, for studies).
CELLS = {
    "E": f"""
        SELECT period, scope, indicator_code, statistic, breakdown, member,
               CASE WHEN statistic = '' THEN member ELSE member || '|' || statistic END AS published_member,
               num_sum AS num, den_sum AS den, num_top, den_top, num_magnitude, den_magnitude, n_enterprises,
               primary_status AS "primary", conf_status, false AS withheld
        FROM {INTERMEDIATE}.int_enterprise__suppression""",
    "W": f"""
        SELECT period, scope, indicator_code, statistic, breakdown, member, published_member,
               num, den, primary_status AS "primary", conf_status, withheld
        FROM {INTERMEDIATE}.int_survey__suppression""",
}

#: A cell is published when its row shows a figure; an enterprise count also through its progress row; and any
#: cell through an earlier vintage that still equals the truth (indicator_revisions).
SHOWN = f"""
    WITH cells AS ({{cells}}),
    shown AS (
        SELECT period, scope, indicator_code, breakdown, member, numerator, denominator
        FROM {MARTS}.indicator_values WHERE source = ? AND numerator IS NOT NULL
        UNION ALL
        SELECT period, scope, indicator_code, breakdown, member, numerator, denominator
        FROM {MARTS}.indicator_revisions WHERE source = ? AND numerator IS NOT NULL
    )
    SELECT cells.*, EXISTS (
        SELECT 1 FROM shown
        WHERE shown.period = cells.period AND shown.scope = cells.scope
          AND shown.indicator_code = cells.indicator_code AND shown.breakdown = cells.breakdown
          AND (shown.member = cells.published_member
               OR (cells.statistic = '' AND shown.member = cells.member || '|progress'))
          AND abs(shown.numerator - coalesce(cells.num, 0)) <= 1e-9 * greatest(1, abs(coalesce(cells.num, 0)))
          AND (shown.denominator IS NULL OR cells.den IS NULL
               OR abs(shown.denominator - cells.den) <= 1e-9 * greatest(1, abs(cells.den)))
    ) AS published
    FROM cells
"""


def shown(con: duckdb.DuckDBPyConnection, cells_sql: str, source: str) -> pd.DataFrame:
    """The cells of `cells_sql` with `published`: readers see their figures (SHOWN)."""
    return con.execute(SHOWN.format(cells=cells_sql), [source, source]).df()


def previous(con: duckdb.DuckDBPyConnection, cells: pd.DataFrame, source: str) -> tuple[pd.Series, pd.Series]:
    """For the build, two bools per row of `cells` (CELLS' columns), from the marts as the previous build left
    them: `exposed`, readers have already seen its present figures (revisions included); `suppressed`, the
    last build suppressed it (C or D). All False before the first build."""
    none = pd.Series(False, index=cells.index)
    if not (has_relation(con, MARTS, "indicator_values") and has_relation(con, MARTS, "indicator_revisions")):
        return none, none
    frame = cells[["period", "scope", "indicator_code", "statistic", "breakdown", "member", "published_member"]]
    frame = frame.assign(num=cells["num"], den=cells["den"], row_id=range(len(cells)))
    con.register("disclosure_cells", frame)
    try:
        result = shown(con, "SELECT * FROM disclosure_cells", source).sort_values("row_id")
        suppressed = con.execute(
            f"""
            SELECT EXISTS (
                SELECT 1 FROM {MARTS}.indicator_values AS v
                WHERE v.source = ? AND v.conf_status <> 'F' AND v.period = c.period AND v.scope = c.scope
                  AND v.indicator_code = c.indicator_code AND v.breakdown = c.breakdown
                  AND v.member = c.published_member
            ) AS suppressed
            FROM disclosure_cells AS c ORDER BY row_id""",
            [source],
        ).df()
    finally:
        con.unregister("disclosure_cells")
    return (
        pd.Series(result["published"].to_numpy(dtype=bool), index=cells.index),
        pd.Series(suppressed["suppressed"].to_numpy(dtype=bool), index=cells.index),
    )


def audit_warehouse(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per sensitive figure of either source (AUDIT_COLUMNS and `source`); empty when the warehouse
    has no suppression models yet. The systems unchanged since the last audit keep its rows (module docstring);
    the fingerprint of every system is in `result.attrs["systems"]` for `record`."""
    needed = [(INTERMEDIATE, "int_enterprise__suppression"), (INTERMEDIATE, "int_survey__suppression")]
    needed += [(MARTS, "indicator_values"), (MARTS, "indicator_revisions")]
    needed += [(REFERENCE, "published_magnitudes"), (REFERENCE, "additive_breakdowns")]
    needed += [(REFERENCE, "restricted_magnitudes")]
    if not all(has_relation(con, schema, table) for schema, table in needed):
        return pd.DataFrame(columns=["source", *AUDIT_COLUMNS])
    links = con.execute(f"SELECT * FROM {REFERENCE}.published_magnitudes").df()
    additive = con.execute(f"SELECT * FROM {REFERENCE}.additive_breakdowns").df()
    restricted = con.execute(f"SELECT * FROM {REFERENCE}.restricted_magnitudes").df()
    rules_frame = con.execute(f"SELECT rule, value FROM {REFERENCE}.publication_rules ORDER BY rule").df()
    rules = rules_mapping(rules_frame)
    known = _last_systems(con)
    frames, systems = [], []
    for source, cells_sql in CELLS.items():
        cells = shown(con, cells_sql, source)
        inputs = _fingerprint(_code(), links, additive, restricted, rules_frame, source)
        prints = {
            key: _fingerprint(inputs, group.sort_values(list(group.columns)).reset_index(drop=True))
            for key, group in cells.groupby(SYSTEM, sort=True)
        }
        systems += [(source, *key, value) for key, value in prints.items()]
        kept = [key for key, value in prints.items() if known.get((source, *key), (None,))[0] == value]
        changed = ~cells.set_index(SYSTEM).index.isin(kept)
        cells = cells[changed].reset_index(drop=True)
        published = cells["published"].astype(bool)
        result = audit(
            cells,
            source_links(links, source),
            rules,
            published,
            additive_breakdowns(additive, source),
            restricted_magnitudes(restricted, source),
        )
        frames.append(result.assign(source=source))
        if kept:
            frames.append(_kept_rows(con, source, [known[(source, *key)][1] for key in kept], kept))
    result = pd.concat(frames, ignore_index=True)[["source", *AUDIT_COLUMNS]]
    result = result.sort_values(["source", *SYSTEM], kind="stable", ignore_index=True)
    result.attrs["systems"] = pd.DataFrame(systems, columns=["source", *SYSTEM, "fingerprint"])
    return result


#: One system of the audit (with the source).
SYSTEM = ["period", "scope"]


@cache
def _code() -> bytes:
    """The code that computes an audit: a change of it changes every fingerprint."""
    return b"".join(path.read_bytes() for path in sorted(Path(__file__).parent.glob("*.py")))


def _fingerprint(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, pd.DataFrame):
            digest.update(repr(list(part.columns)).encode())
            digest.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
        else:
            digest.update(repr(part).encode() if not isinstance(part, bytes) else part)
    return digest.hexdigest()


def _last_systems(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(source, period, scope) → (fingerprint, version) of the last audit's systems; empty before the first."""
    if not has_relation(con, "audit", "disclosure_audit_systems"):
        return {}
    rows = con.execute("""
        SELECT source, period, scope, fingerprint, version FROM audit.disclosure_audit_systems
        WHERE version = (SELECT version FROM audit.disclosure_audit_systems ORDER BY audited_at DESC LIMIT 1)
    """).fetchall()
    return {(source, period, scope): (value, version) for source, period, scope, value, version in rows}


def _kept_rows(
    con: duckdb.DuckDBPyConnection, source: str, versions: list[str], kept: list[tuple[str, str]]
) -> pd.DataFrame:
    """The rows the last audit stored for the systems `kept` of `source`."""
    keys = pd.DataFrame(kept, columns=SYSTEM).assign(version=versions)
    con.register("disclosure_kept", keys)
    try:
        return con.execute(
            f"""SELECT a.source, {", ".join(f"a.{c}" for c in AUDIT_COLUMNS)} FROM audit.disclosure_audit AS a
                JOIN disclosure_kept AS k USING (version, period, scope) WHERE a.source = ?""",
            [source],
        ).df()
    finally:
        con.unregister("disclosure_kept")


def record(con: duckdb.DuckDBPyConnection, result: pd.DataFrame, version: str) -> None:
    """Append the audit of publication `version` to audit.disclosure_audit."""
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute("""
        CREATE TABLE IF NOT EXISTS audit.disclosure_audit (
          version VARCHAR NOT NULL,          -- the publication audited (published/versions/<version>)
          audited_at TIMESTAMP NOT NULL,
          source VARCHAR NOT NULL,           -- E enterprise, W survey
          period VARCHAR, scope VARCHAR, indicator_code VARCHAR, statistic VARCHAR, breakdown VARCHAR,
          member VARCHAR,
          part VARCHAR,                      -- num or den: the figure of the confidential cell
          value DOUBLE,                      -- its true value
          feasible_low DOUBLE,               -- what an attacker can tell from everything published
          feasible_high DOUBLE,
          required_lower DOUBLE,             -- the protection it needs below and above its value
          required_upper DOUBLE,
          exact BOOLEAN,
          protected BOOLEAN
        )""")
    con.execute("""
        CREATE TABLE IF NOT EXISTS audit.disclosure_audit_systems (
          version VARCHAR NOT NULL,          -- the publication audited
          audited_at TIMESTAMP NOT NULL,
          source VARCHAR NOT NULL, period VARCHAR, scope VARCHAR,
          fingerprint VARCHAR NOT NULL       -- of what the system's audit is computed from
        )""")
    audited_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    frame = result.assign(version=version, audited_at=audited_at)
    systems = result.attrs.get("systems")
    systems = systems if systems is not None else pd.DataFrame(columns=["source", *SYSTEM, "fingerprint"])
    systems = systems.assign(version=version, audited_at=audited_at)
    con.register("disclosure_audit_frame", frame)
    con.register("disclosure_audit_systems_frame", systems)
    try:
        with transaction(con):
            con.execute("INSERT INTO audit.disclosure_audit BY NAME SELECT * FROM disclosure_audit_frame")
            con.execute(
                "INSERT INTO audit.disclosure_audit_systems BY NAME SELECT * FROM disclosure_audit_systems_frame"
            )
    finally:
        con.unregister("disclosure_audit_frame")
        con.unregister("disclosure_audit_systems_frame")


def summary(result: pd.DataFrame) -> str:
    """One line for what `wfm publish` prints."""
    if result.empty:
        return "disclosure audit: no confidential figure to protect"
    broken = int((~result["protected"]).sum())
    exact = int(result["exact"].sum())
    text = f"disclosure audit: {len(result)} confidential figures, {broken} below protection, {exact} exactly known"
    finite = result[result["protected"]]
    if not finite.empty:
        ratio = (finite["feasible_high"] - finite["value"]) / finite["value"]
        text += f"; the least margin above a value {100 * ratio.min():.0f} %"
    return text


def refusal(result: pd.DataFrame, shown: int = 10) -> str | None:
    """Why the publication is refused (the cells below protection, the first `shown` named), or None."""
    broken = result[~result["protected"]]
    if broken.empty:
        return None
    cells = [
        f"{r.source} {r.indicator_code}{'|' + r.statistic if r.statistic else ''} {r.period} {r.breakdown}={r.member} "
        f"{r.part} in [{r.feasible_low:.6g}, {r.feasible_high:.6g}]"
        for r in broken.head(shown).itertuples()
    ]
    more = f" and {len(broken) - shown} more" if len(broken) > shown else ""
    return (
        f"refusing to publish: {len(broken)} confidential figure(s) recoverable within their protection level "
        f"({'; '.join(cells)}{more}); see audit.disclosure_audit"
    )
