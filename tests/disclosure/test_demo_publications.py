"""Disclosure control on the generator's demo data of several seeds, through whole nights (generate → ingest → gate
→ dbt → audit → publish).

Each publication's audit (audit.disclosure_audit) must find every confidential magnitude protected: not known
exactly, not within ±10 % (the protection level), not below the dominance rule's upper protection. The linked
system the audit assumes is checked here independently on the published figures: every relation the seed
published_magnitudes declares holds on the free cells. And breaking the protection on purpose (publishing the
cells secondary suppression hid) makes the next publication refuse, naming the cells.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import generated_night

from wfm.config import Home
from wfm.errors import WfmError
from wfm.publish import publish

pytestmark = pytest.mark.slow

SEEDS = (11, 12, 13)
SEEDS_DIR = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Home]:
    root = tmp_path_factory.mktemp("disclosure_demo")
    return {seed: generated_night(seed, root)[0] for seed in SEEDS}


def read(home: Home, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def last_audit(home: Home) -> pd.DataFrame:
    return read(
        home,
        "SELECT * FROM audit.disclosure_audit WHERE version = (SELECT max(version) FROM audit.disclosure_audit)",
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_no_confidential_magnitude_is_recoverable(nights, seed):
    audit = last_audit(nights[seed])
    assert set(audit.source) == {"E", "W"}  # both sources have confidential cells to protect on demo data
    assert audit.protected.all() and not audit.exact.any()
    # the same, from the intervals themselves: every sensitive value can be 10 % lower and 10 % higher
    assert (audit.feasible_low <= 0.9 * audit.value + 1e-6 * audit.value).all()
    assert (audit.feasible_high >= 1.1 * audit.value - 1e-6 * audit.value).all()
    assert (audit.feasible_high >= audit.value + audit.required_upper - 1e-6 * audit.value).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_every_declared_relation_holds_on_the_free_cells(nights, seed):
    """Independently of wfm.disclosure: the published numerators and denominators of free cells, read as the seed
    published_magnitudes says, give every magnitude of a member one value, composite figures are the sums the
    seed declares, and the members of each breakdown in additive_breakdowns add up to the national total."""
    values = read(
        nights[seed],
        "SELECT source, period, scope, indicator_code, breakdown, member, numerator, denominator "
        "FROM marts.indicator_values WHERE conf_status = 'F' AND numerator IS NOT NULL",
    )
    values["statistic"] = values.member.str.split("|").str[1].fillna("")
    values["member"] = values.member.str.split("|").str[0]
    seed_rows = pd.read_csv(SEEDS_DIR / "published_magnitudes.csv", dtype={"statistic": str}, keep_default_na=False)
    additive = set(pd.read_csv(SEEDS_DIR / "additive_breakdowns.csv")[["source", "breakdown"]].itertuples(index=False))
    terms = defaultdict(list)
    for r in seed_rows.itertuples():
        terms[(r.source, r.indicator_code, r.statistic, r.part)].append((r.magnitude, r.coefficient))
    single: dict[tuple, list[float]] = defaultdict(list)
    composite = []
    for row in values.itertuples():
        for part, figure in (("num", row.numerator), ("den", row.denominator)):
            spec = terms.get((row.source, row.indicator_code, row.statistic, part))
            if not spec or pd.isna(figure):
                continue
            cell = (row.source, row.period, row.scope, row.breakdown, row.member)
            if len(spec) == 1:
                single[(*cell, spec[0][0])].append(figure)
            else:
                composite.append((cell, spec, figure))
    checked = 0
    for key, figures in single.items():
        assert max(figures) - min(figures) <= 1e-9 * max(1.0, abs(max(figures))), key
        checked += len(figures) > 1
    assert checked > 50  # shared magnitudes do occur (one employee total, many series)
    known = {key: figures[0] for key, figures in single.items()}
    linked = 0
    for cell, spec, figure in composite:
        parts = [known.get((*cell, magnitude)) for magnitude, _ in spec]
        if all(p is not None for p in parts):
            assert sum(c * p for (_, c), p in zip(spec, parts, strict=True)) == pytest.approx(figure, rel=1e-9)
            linked += 1
    assert linked > 0  # e.g. SKL02's numerator is SKL01's L3–L7, LAB01's denominator LAB02's den − num
    by_breakdown = defaultdict(dict)
    for (source, period, scope, breakdown, member, magnitude), figure in known.items():
        by_breakdown[(source, period, scope, magnitude, breakdown)][member] = figure
    members_of = read(
        nights[seed],
        "SELECT source, period, scope, breakdown, count(DISTINCT split_part(member, '|', 1)) AS n "
        "FROM marts.indicator_values GROUP BY ALL",
    ).set_index(["source", "period", "scope", "breakdown"])["n"]
    totals = 0
    for (source, period, scope, magnitude, breakdown), figures in by_breakdown.items():
        national = by_breakdown.get((source, period, scope, magnitude, "national"), {}).get("CN")
        complete = len(figures) == members_of.get((source, period, scope, breakdown), -1)
        if (source, breakdown) in additive and national is not None and complete:
            assert sum(figures.values()) == pytest.approx(national, rel=1e-9), (magnitude, breakdown)
            totals += 1
    assert {(source, breakdown) for source, _, _, _, breakdown in by_breakdown} >= additive
    assert totals > 10


@pytest.mark.parametrize("seed", SEEDS)
def test_no_confidential_survey_cell_is_alone_against_a_published_total(nights, seed):
    """Subtraction, the simplest attack, checked without the audit: in no survey breakdown (nor among SKL01's
    levels, which add up to 100 %) is exactly one cell without a figure while the total is published."""
    cells = read(
        nights[seed],
        "SELECT period, scope, indicator_code, breakdown, split_part(member, '|', 1) AS member, "
        "split_part(member, '|', 2) AS statistic, numerator IS NULL AS hidden, conf_status "
        "FROM marts.indicator_values WHERE source = 'W' AND indicator_code <> 'WAG01' AND indicator_code <> 'WAG02'",
    )
    assert (cells.conf_status == "C").any()
    national = cells[cells.breakdown == "national"].set_index(["period", "scope", "indicator_code", "statistic"])
    for key, group in cells[cells.breakdown != "national"].groupby(
        ["period", "scope", "indicator_code", "statistic", "breakdown"]
    ):
        total_hidden = national.loc[key[:4], "hidden"]
        hidden = group[group.hidden]
        if not total_hidden and len(group) > 1:
            assert not (len(hidden) == 1 and hidden.conf_status.iloc[0] == "C"), key
    levels = cells[cells.indicator_code == "SKL01"]
    for key, group in levels.groupby(["period", "scope", "breakdown", "member"]):
        hidden = group[group.hidden]
        assert not (len(hidden) == 1 and hidden.conf_status.iloc[0] == "C"), key


def test_publication_refused_when_protection_is_broken_on_purpose(nights):
    """Publish every enterprise cell secondary suppression hid (their true figures written back into the marts):
    the audit must find confidential magnitudes recoverable, refuse, name them, and leave the last version."""
    home = nights[SEEDS[0]]
    current = (home.published / "current").resolve()
    con = duckdb.connect(str(home.warehouse))
    try:
        restored = con.execute("""
            UPDATE marts.indicator_values AS v
            SET conf_status = 'F', numerator = s.num_sum, denominator = s.den_sum
            FROM intermediate.int_enterprise__suppression AS s
            WHERE v.source = 'E' AND s.conf_status = 'D' AND v.period = s.period AND v.scope = s.scope
              AND v.indicator_code = s.indicator_code AND v.breakdown = s.breakdown
              AND v.member = CASE WHEN s.statistic = '' THEN s.member ELSE s.member || '|' || s.statistic END
        """).fetchall()[0][0]
    finally:
        con.close()
    assert restored > 0
    printed = []
    with pytest.raises(WfmError, match="refusing to publish: [0-9]+ confidential figure") as refused:
        publish(home, echo=printed.append)
    assert refused.value.rule == "disclosure_audit"
    audit = last_audit(home)
    broken = audit[~audit.protected]
    assert len(broken) > 0 and broken.source.eq("E").all()
    first = broken.iloc[0]
    assert f"{first.indicator_code}" in str(refused.value) and f"{first.breakdown}={first.member}" in str(refused.value)
    assert "below protection" in printed[0]
    assert (home.published / "current").resolve() == current  # nothing switched in


def test_suppression_is_reproducible(nights):
    """The same data give the same pattern: a second full build (which sees the first one's publication) changes
    no status."""
    home = nights[SEEDS[1]]
    before = read(home, "SELECT * FROM intermediate.int_enterprise__suppression ORDER BY ALL")
    from wfm.build import build

    build(home.warehouse, full_refresh=True)
    after = read(home, "SELECT * FROM intermediate.int_enterprise__suppression ORDER BY ALL")
    pd.testing.assert_frame_equal(before, after)


def test_the_audit_solves_again_only_the_systems_that_changed(nights, tmp_path, monkeypatch):
    """Each source, period and scope is a system of its own: a publication whose system is as the last audit saw
    it keeps that audit's rows, one that changed is solved again, and the result equals an audit from scratch."""
    from wfm.disclosure import publication

    home = nights[SEEDS[2]]
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(home.warehouse.read_bytes())
    solved = []
    audit = publication.audit

    def recording(cells, *args, **kwargs):
        solved.extend(sorted(set(zip(cells["period"], cells["scope"], strict=True))))
        return audit(cells, *args, **kwargs)

    monkeypatch.setattr(publication, "audit", recording)
    con = duckdb.connect(str(warehouse))
    try:
        unchanged = publication.audit_warehouse(con)
        assert solved == []  # as the night's own audit left it
        stored = last_audit(home).loc[:, unchanged.columns]
        pd.testing.assert_frame_equal(in_order(unchanged), in_order(stored), check_dtype=False)
        period, scope = con.execute(
            "SELECT period, scope FROM intermediate.int_enterprise__suppression WHERE conf_status = 'C' LIMIT 1"
        ).fetchone()
        # readers are shown one more free cell of that system: its audit must be solved again, and only it
        con.execute(
            "UPDATE marts.indicator_values SET numerator = numerator + 1 WHERE source = 'E' AND period = ? "
            "AND scope = ? AND conf_status = 'F' AND numerator IS NOT NULL AND breakdown = 'national'",
            [period, scope],
        )
        changed = publication.audit_warehouse(con)
        assert set(solved) == {(period, scope)}
        con.execute("DROP TABLE audit.disclosure_audit_systems")
        pd.testing.assert_frame_equal(in_order(changed), in_order(publication.audit_warehouse(con)), check_dtype=False)
    finally:
        con.close()


def in_order(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)
