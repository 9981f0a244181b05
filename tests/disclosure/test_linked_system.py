"""The linked system, the attacker's audit and the secondary suppression on tables small enough to check by hand.

The intervals are checked against what elementary algebra gives for each table (the independent oracle here);
the secondary suppression against the audit and against the old rule it replaces ("the free member with the
fewest enterprises"), which leaves a primary cell almost exact when that member is small.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wfm.disclosure.audit import Requirement, feasibility_intervals, levels
from wfm.disclosure.control import audit, suppress
from wfm.disclosure.secondary import secondary_pattern
from wfm.disclosure.system import build_system

RULES = {"protection_pct": 10, "dominance_n": 2, "dominance_k": 85, "threshold_min_enterprises": 3}


def links(*rows: tuple[str, str, str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["indicator_code", "statistic", "part", "magnitude", "coefficient"])


def cells(rows: list[tuple]) -> pd.DataFrame:
    """(indicator, statistic, breakdown, member, num, den, n_enterprises, primary) per cell, one period."""
    frame = pd.DataFrame(
        rows, columns=["indicator_code", "statistic", "breakdown", "member", "num", "den", "n_enterprises", "primary"]
    )
    return frame.assign(period="2025", scope="industrial")


LAB02 = links(("LAB02", "", "num", "dispatched", 1), ("LAB02", "", "den", "employees", 1))


def province_table(small: float) -> pd.DataFrame:
    """LAB02 by province: 11 has two enterprises (threshold → C); 31 is the member with the fewest enterprises,
    its dispatched workers `small`."""
    return cells(
        [
            ("LAB02", "", "national", "CN", 300 + small, 3000, 40, "F"),
            ("LAB02", "", "province", "11", 100, 1000, 2, "C"),
            ("LAB02", "", "province", "31", small, 1000, 5, "F"),
            ("LAB02", "", "province", "44", 100, 500, 15, "F"),
            ("LAB02", "", "province", "51", 100, 500, 18, "F"),
        ]
    )


def test_members_add_up_to_the_total_and_shared_magnitudes_are_one_variable():
    table = cells(
        [
            ("LAB02", "", "national", "CN", 30, 300, 9, "F"),
            ("LAB02", "", "province", "11", 10, 100, 4, "F"),
            ("LAB02", "", "province", "31", 20, 200, 5, "F"),
            ("LAB03", "", "national", "CN", 60, 300, 9, "F"),
            ("LAB03", "", "province", "11", 25, 100, 4, "F"),
            ("LAB03", "", "province", "31", 35, 200, 5, "F"),
        ]
    )
    spec = pd.concat([LAB02, links(("LAB03", "", "num", "covered", 1), ("LAB03", "", "den", "employees", 1))])
    system = build_system(table, spec)
    assert sorted({name for name, _, _ in system.names}) == ["covered", "dispatched", "employees"]
    assert len(system.names) == 9  # employees appears once per member although two indicators publish it
    assert len(system.relations) == 3 and system.dropped == []
    assert system.figures[(0, "den")] == system.figures[(3, "den")]


def test_a_declared_identity_the_data_contradict_is_not_assumed():
    # LAB03's denominator differs from LAB02's in province 31 (an item missing for one enterprise there)
    table = cells(
        [
            ("LAB02", "", "national", "CN", 30, 300, 9, "F"),
            ("LAB02", "", "province", "31", 20, 200, 5, "F"),
            ("LAB02", "", "province", "11", 10, 100, 4, "F"),
            ("LAB03", "", "province", "31", 35, 190, 4, "F"),
        ]
    )
    spec = pd.concat([LAB02, links(("LAB03", "", "num", "covered", 1), ("LAB03", "", "den", "employees", 1))])
    system = build_system(table, spec)
    assert system.dropped == ["LAB03::den province 31"]
    assert system.figures[(3, "den")] != system.figures[(1, "den")]


def test_the_fewest_enterprises_complement_leaves_the_primary_cell_nearly_exact():
    """The old rule's choice, 31, holds only 3 dispatched workers: the attacker knows province 11's 100 to ±3."""
    table = province_table(small=3)
    system = build_system(table, LAB02)
    old = np.array([True, False, False, True, True])  # published: national, 44, 51 (11 C, 31 D)
    required = levels(table, 10, 2, 85, 3)
    found = {(i.row, i.part): i for i in feasibility_intervals(system, old, required)}
    num = found[(1, "num")]
    # 11 + 31 = 103 from the total, each ≥ 0: 11 ∈ [0, 103]
    assert (num.low, num.high) == pytest.approx((0, 103))
    den = found[(1, "den")]
    # the employees: 11 + 31 = 2000, so 11 ∈ [0, 2000]; protected
    assert (den.low, den.high) == pytest.approx((0, 2000)) and den.protected
    assert num.high - num.value == pytest.approx(3) and not num.protected  # 10 % of 100 is 10, only 3 of room


def test_secondary_suppression_meets_the_protection_the_old_rule_missed():
    table = province_table(small=3)
    hidden = suppress(table, LAB02, RULES, table["primary"] == "C")
    # 31 (3 dispatched) cannot cover 10 of province 11's 100; one of the larger members can, alone
    assert hidden[1] and not hidden[2] and hidden.sum() == 2
    result = audit(table, LAB02, RULES, ~hidden)
    assert result["protected"].all() and not result["exact"].any()


def test_linked_indicators_skl01_levels_and_skl02_numerator():
    """The issue's example: SKL02's numerator is SKL01's levels L3–L7 summed, so a suppressed L6 is SKL02's
    numerator minus the published levels (943 − 612 − 231 − 84 − 4 = 12), unless SKL02 is suppressed too."""
    spec = links(
        *[("SKL01", f"L{k}", "num", f"skill_l{k}", 1) for k in range(3, 8)],
        *[("SKL02", "", "num", f"skill_l{k}", 1) for k in range(3, 8)],
    )
    levels_ = {3: 612, 4: 231, 5: 84, 6: 12, 7: 4}
    table = cells(
        [
            ("SKL01", f"L{k}", "province", "11", v, np.nan, 2 if k == 6 else 9, "C" if k == 6 else "F")
            for k, v in levels_.items()
        ]
        + [("SKL02", "", "province", "11", 943, np.nan, 9, "F")]
    )
    published = table["primary"] != "C"
    exposed = audit(table, spec, RULES, published)
    assert exposed["exact"].all() and exposed.value.tolist() == [12]
    hidden = suppress(table, spec, RULES, ~published)
    # one more cell suffices: a level that can give up 10 % of 12 (here even L7's 4 can), or SKL02
    assert hidden[3] and hidden.sum() == 2
    assert audit(table, spec, RULES, ~hidden)["protected"].all()


def test_dominance_requires_the_upper_protection_of_the_n_k_rule():
    table = cells([("LAB02", "", "province", "11", 100, 1000, 5, "C")]).assign(
        num_top=95.0, den_top=300.0, num_magnitude=100.0, den_magnitude=1000.0
    )
    (required,) = levels(table, 10, 2, 85, 3)  # 5 enterprises: only the dominated numerator is sensitive
    assert required == Requirement(0, "num", pytest.approx(10.0), pytest.approx(100 / 85 * 95 - 100), 100.0)


def test_a_deviation_never_takes_a_magnitude_below_zero():
    # the only other member holds 4: the total cannot move, so 11 can go down by at most 4 — not enough
    table = cells(
        [
            ("LAB02", "", "national", "CN", 104, 104, 9, "F"),
            ("LAB02", "", "province", "11", 100, 100, 2, "C"),
            ("LAB02", "", "province", "31", 4, 4, 7, "F"),
        ]
    )
    system = build_system(table, LAB02)
    required = levels(table, 10, 2, 85, 3)
    hidden = secondary_pattern(system, (table["primary"] == "C").to_numpy(), np.array([True, False, False]), required)
    assert hidden.all()  # only hiding the national total protects 11
    assert audit(table, LAB02, RULES, pd.Series(~hidden))["protected"].all()


def test_a_restricted_magnitude_links_its_national_total_to_the_other_magnitudes_member():
    """STB01's denominator is employees_avg of section C: published nationally, it gives TRN03's section-C
    denominator away, and the other way round."""
    spec = links(("TRN03", "", "den", "employees_avg", 1), ("STB01", "", "den", "section_c_employees_avg", 1))
    table = cells(
        [
            ("TRN03", "", "national", "CN", 50, 1000, 30, "F"),
            ("TRN03", "", "industry_section", "B", 10, 300, 10, "F"),
            ("TRN03", "", "industry_section", "C", 40, 700, 2, "C"),
            ("STB01", "", "national", "CN", 7, 700, 5, "F"),
        ]
    )
    restricted = [("section_c_employees_avg", "employees_avg", "industry_section", "C")]
    published = pd.Series([True, False, False, True])  # TRN03 section B hidden as its complement, STB01 shown
    linked = audit(table, spec, RULES, published, restricted=restricted)
    den = linked[(linked.indicator_code == "TRN03") & (linked.part == "den")].iloc[0]
    assert den.exact and den.value == 700  # STB01's national denominator is TRN03's section C one
    assert audit(table, spec, RULES, published)["protected"].all()  # without the relation, nothing tells
