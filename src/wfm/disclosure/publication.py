"""The audit before every publication, on the warehouse as built: what an attacker gets from everything published.

`audit_warehouse` reads, per source, the true figures and primary statuses of the cells (the suppression models
int_enterprise__suppression and int_survey__suppression), which figures readers see (marts.indicator_values,
and the earlier vintages kept in marts.indicator_revisions where they still equal the truth), the seed
published_magnitudes and the publication rules, and computes every sensitive figure's feasibility interval
(wfm.disclosure.audit). `record` stores the result in `audit.disclosure_audit`; `refusal` is the message that
stops a publication when any figure lies inside its protection.
"""

from __future__ import annotations

import datetime as dt

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


def _present(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


def shown(con: duckdb.DuckDBPyConnection, cells_sql: str, source: str) -> pd.DataFrame:
    """The cells of `cells_sql` with `published`: readers see their figures (SHOWN)."""
    return con.execute(SHOWN.format(cells=cells_sql), [source, source]).df()


def previous(con: duckdb.DuckDBPyConnection, cells: pd.DataFrame, source: str) -> tuple[pd.Series, pd.Series]:
    """For the build, two bools per row of `cells` (CELLS' columns), from the marts as the previous build left
    them: `exposed`, readers have already seen its present figures (revisions included); `suppressed`, the
    last build suppressed it (C or D). All False before the first build."""
    none = pd.Series(False, index=cells.index)
    if not (_present(con, MARTS, "indicator_values") and _present(con, MARTS, "indicator_revisions")):
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
    has no suppression models yet."""
    needed = [(INTERMEDIATE, "int_enterprise__suppression"), (INTERMEDIATE, "int_survey__suppression")]
    needed += [(MARTS, "indicator_values"), (MARTS, "indicator_revisions")]
    needed += [(REFERENCE, "published_magnitudes"), (REFERENCE, "additive_breakdowns")]
    needed += [(REFERENCE, "restricted_magnitudes")]
    if not all(_present(con, schema, table) for schema, table in needed):
        return pd.DataFrame(columns=["source", *AUDIT_COLUMNS])
    links = con.execute(f"SELECT * FROM {REFERENCE}.published_magnitudes").df()
    additive = con.execute(f"SELECT * FROM {REFERENCE}.additive_breakdowns").df()
    restricted = con.execute(f"SELECT * FROM {REFERENCE}.restricted_magnitudes").df()
    rules = rules_mapping(con.execute(f"SELECT rule, value FROM {REFERENCE}.publication_rules").df())
    frames = []
    for source, cells_sql in CELLS.items():
        cells = shown(con, cells_sql, source)
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
    return pd.concat(frames, ignore_index=True)[["source", *AUDIT_COLUMNS]]


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
    frame = result.assign(version=version, audited_at=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    con.register("disclosure_audit_frame", frame)
    try:
        con.execute("INSERT INTO audit.disclosure_audit BY NAME SELECT * FROM disclosure_audit_frame")
    finally:
        con.unregister("disclosure_audit_frame")


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
