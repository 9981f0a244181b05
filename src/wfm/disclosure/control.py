"""Disclosure control of one source's cells, period by period and scope by scope: the secondary suppression the
build applies (`suppress`) and the audit publication runs (`audit`).

`cells` has one row per published cell: period, scope, indicator_code, statistic, breakdown, member (without the
statistic), the true `num` and `den`, `primary` ('C' for a primary confidential cell), for enterprise cells
`n_enterprises` and the dominance rule's `num_top`/`den_top` and `num_magnitude`/`den_magnitude`; `links` the
seed published_magnitudes of the source; `rules` the publication_rules as a mapping (protection_pct,
dominance_n, dominance_k, threshold_min_enterprises).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from wfm.disclosure.audit import feasibility_intervals, levels
from wfm.disclosure.secondary import secondary_pattern
from wfm.disclosure.system import CELL, NATIONAL, build_system

GROUP = ["period", "scope"]
AUDIT_COLUMNS = [
    "period",
    "scope",
    "indicator_code",
    "statistic",
    "breakdown",
    "member",
    "part",
    "value",
    "feasible_low",
    "feasible_high",
    "required_lower",
    "required_upper",
    "exact",
    "protected",
]


def _requirements(cells: pd.DataFrame, rules: Mapping[str, float]):
    return levels(
        cells,
        float(rules["protection_pct"]),
        int(rules["dominance_n"]),
        float(rules["dominance_k"]),
        float(rules["threshold_min_enterprises"]),
    )


def _groups(cells: pd.DataFrame):
    """Each period and scope, its cells in a fixed order: the suppression chosen must not depend on the order
    in which a query returned the rows."""
    if cells.empty:
        return
    for _, part in cells.groupby(GROUP, sort=True):
        yield part.sort_values(CELL, kind="stable")


def suppress(
    cells: pd.DataFrame,
    links: pd.DataFrame,
    rules: Mapping[str, float],
    hidden: pd.Series,
    exposed: pd.Series | None = None,
    additive: frozenset[str] | None = None,
    preferred: pd.Series | None = None,
    restricted: list[tuple[str, str, str, str]] | None = None,
) -> pd.Series:
    """A bool per cell: suppressed after secondary suppression (`hidden`: suppressed or withheld before it;
    `exposed`: cells an earlier publication showed with the figures they still have; `additive`: the breakdowns
    whose members add up to the national total, None for all; `preferred`: cells the last publication
    suppressed, reused first; `restricted`: see wfm.disclosure.system.build_system)."""
    out = hidden.astype(bool).copy()
    exposed = pd.Series(False, index=cells.index) if exposed is None else exposed.astype(bool)
    preferred = pd.Series(False, index=cells.index) if preferred is None else preferred.astype(bool)
    for part in _groups(cells):
        part = part.reset_index()
        system = build_system(part, links, additive, restricted)
        pattern = secondary_pattern(
            system,
            hidden.loc[part["index"]].to_numpy(dtype=bool),
            (part["breakdown"] == NATIONAL).to_numpy(),
            _requirements(part, rules),
            exposed.loc[part["index"]].to_numpy(dtype=bool),
            preferred.loc[part["index"]].to_numpy(dtype=bool),
        )
        out.loc[part["index"]] = pattern
    return out


def audit(
    cells: pd.DataFrame,
    links: pd.DataFrame,
    rules: Mapping[str, float],
    published: pd.Series,
    additive: frozenset[str] | None = None,
    restricted: list[tuple[str, str, str, str]] | None = None,
) -> pd.DataFrame:
    """The attacker's interval of every sensitive figure given the cells `published` (a bool per cell), the
    breakdowns `additive` adding up (None: all): one row per figure, AUDIT_COLUMNS."""
    rows = []
    for part in _groups(cells):
        part = part.reset_index(drop=False)
        system = build_system(part, links, additive, restricted)
        shown = published.loc[part["index"]].to_numpy(dtype=bool)
        for interval in feasibility_intervals(system, shown, _requirements(part, rules)):
            cell = part.iloc[interval.row]
            rows.append(
                [
                    cell.period,
                    cell.scope,
                    cell.indicator_code,
                    cell.statistic,
                    cell.breakdown,
                    cell.member,
                    interval.part,
                    interval.value,
                    interval.low,
                    interval.high,
                    interval.required_lower,
                    interval.required_upper,
                    interval.exact,
                    interval.protected,
                ]
            )
    frame = pd.DataFrame(rows, columns=AUDIT_COLUMNS)
    return frame.astype({"exact": bool, "protected": bool})


def rules_mapping(frame: pd.DataFrame) -> dict[str, float]:
    """publication_rules (rule, value) as a mapping."""
    return {str(r): float(v) for r, v in zip(frame["rule"], frame["value"], strict=True)}


def additive_breakdowns(frame: pd.DataFrame, source: str) -> frozenset[str]:
    """The seed additive_breakdowns' breakdowns of one source."""
    return frozenset(frame.loc[frame["source"] == source, "breakdown"].astype(str))


def restricted_magnitudes(frame: pd.DataFrame, source: str) -> list[tuple[str, str, str, str]]:
    """The seed restricted_magnitudes' rows of one source: (magnitude, of_magnitude, breakdown, member)."""
    chosen = frame[frame["source"] == source]
    columns = ["magnitude", "of_magnitude", "breakdown", "member"]
    return [tuple(str(v) for v in row) for row in chosen[columns].itertuples(index=False)]


def source_links(links: pd.DataFrame, source: str) -> pd.DataFrame:
    """The seed's rows of one source, statistics as text ('' for none)."""
    chosen = links[links["source"] == source].copy()
    chosen["statistic"] = chosen["statistic"].fillna("").astype(str)
    return chosen


__all__ = [
    "AUDIT_COLUMNS",
    "additive_breakdowns",
    "audit",
    "restricted_magnitudes",
    "rules_mapping",
    "source_links",
    "suppress",
]
