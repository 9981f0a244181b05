"""The published figures of one source, period and scope as one linked system of additive magnitudes.

Every published cell (indicator × statistic × breakdown member) shows a numerator and a denominator. The seed
`published_magnitudes` (dbt_project/seeds) says which *magnitude* each of them is: a sum over the cell's
enterprises (or, for the survey, a weighted sum over its respondents) of one named quantity, or a signed sum of
several (LAB01's denominator is employees_total − dispatched_workers; SKL02's numerator is SKL01's levels
L3–L7). A magnitude of one breakdown member is one variable; two figures naming the same magnitude in the same
member are the same variable (one employee total is the denominator of many series). Between variables the
breakdowns the seed `additive_breakdowns` names add up: a magnitude's members sum to its national total; and a
magnitude the seed `restricted_magnitudes` declares another one restricted to a breakdown member (STB01's
employees of section C) has, nationally and in that member, that member's value of the other.

`build_system` turns a frame of cells with their true figures into that system: variables (with their true
values), figure rows (each a signed sum of variables) and relations (each a sum of variables that is 0). A
declared identity that the true figures contradict (a shared magnitude that differs, because an item is missing
for some units) is not assumed: that figure gets a variable of its own, and a breakdown whose members do not add
up to its total gets no relation, so the system never claims more than holds. `System.dropped` lists what was
not assumed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: The columns identifying a cell within one source, period and scope.
CELL = ["indicator_code", "statistic", "breakdown", "member"]
PARTS = ("num", "den")
NATIONAL = "national"


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-7 * max(1.0, abs(a), abs(b))


@dataclass
class System:
    """Variables `names` (magnitude, breakdown, member) with true values `truth`; `figures` maps (row index,
    part) to its terms [(variable, coefficient)]; `relations` are lists of terms summing to 0."""

    names: list[tuple[str, str, str]] = field(default_factory=list)
    truth: list[float] = field(default_factory=list)
    figures: dict[tuple[int, str], list[tuple[int, float]]] = field(default_factory=dict)
    relations: list[list[tuple[int, float]]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    _index: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def variable(self, key: tuple[str, str, str], value: float) -> int | None:
        """The variable `key`, created with `value`; None when it exists with another value."""
        if key in self._index:
            i = self._index[key]
            return i if _close(self.truth[i], value) else None
        self._index[key] = len(self.names)
        self.names.append(key)
        self.truth.append(value)
        return self._index[key]

    def value(self, terms: list[tuple[int, float]]) -> float:
        return float(sum(c * self.truth[v] for v, c in terms))

    def components(self) -> np.ndarray:
        """A component label per variable: variables linked by a relation or a figure of several terms."""
        parent = list(range(len(self.names)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for terms in [*self.relations, *self.figures.values()]:
            first = find(terms[0][0])
            for v, _ in terms[1:]:
                parent[find(v)] = first
        return np.array([find(i) for i in range(len(self.names))], dtype=int)


def magnitude_terms(links: pd.DataFrame) -> dict[tuple[str, str, str], list[tuple[str, float]]]:
    """(indicator, statistic, part) → [(magnitude, coefficient)] from the seed's rows of one source."""
    terms: dict[tuple[str, str, str], list[tuple[str, float]]] = defaultdict(list)
    for row in links.itertuples(index=False):
        statistic = "" if pd.isna(row.statistic) else str(row.statistic)
        terms[(row.indicator_code, statistic, row.part)].append((row.magnitude, float(row.coefficient)))
    return dict(terms)


def build_system(
    cells: pd.DataFrame,
    links: pd.DataFrame,
    additive: frozenset[str] | None = None,
    restricted: list[tuple[str, str, str, str]] | None = None,
) -> System:
    """The linked system of `cells` (one source, period and scope; columns CELL, num, den: true figures, null
    read as 0) under the seed rows `links` of that source, the breakdowns `additive` adding up to the national
    total (None: every breakdown), `restricted` (magnitude, of_magnitude, breakdown, member) the magnitudes that
    are another restricted to one member. Figures the seed does not name are left out."""
    terms = magnitude_terms(links)
    system = System()
    pending = []
    # single-magnitude figures first, so that the composite ones are checked against them
    # plain Python objects: iterating Arrow-backed text column by column is much slower
    rows = cells[CELL + list(PARTS)].astype(object).itertuples(index=False)
    for i, row in enumerate(rows):
        for part in PARTS:
            spec = terms.get((row.indicator_code, row.statistic, part))
            if not spec:
                continue
            raw = getattr(row, part)
            value = 0.0 if pd.isna(raw) else float(raw)
            pending.append((len(spec), i, part, row, spec, value))
    pending.sort(key=lambda p: p[0])
    for _, i, part, row, spec, value in pending:
        if len(spec) == 1 and spec[0][1] == 1.0:
            v = system.variable((spec[0][0], row.breakdown, row.member), value)
            if v is not None:
                system.figures[(i, part)] = [(v, 1.0)]
                continue
        else:
            found = [(system._index.get((m, row.breakdown, row.member)), c) for m, c in spec]
            if all(v is not None for v, _ in found) and _close(system.value(found), value):
                system.figures[(i, part)] = found
                continue
        # the declared identity does not hold for this cell: a magnitude of its own
        own = f"{row.indicator_code}:{row.statistic}:{part}"
        system.dropped.append(f"{own} {row.breakdown} {row.member}")
        system.figures[(i, part)] = [(system.variable((own, row.breakdown, row.member), value), 1.0)]
    _add_breakdown_relations(system, additive)
    for magnitude, of, breakdown, member in restricted or []:
        whole = system._index.get((of, breakdown, member))
        for where in ((NATIONAL, "CN"), (breakdown, member)):
            part = system._index.get((magnitude, *where))
            if whole is not None and part is not None:
                relation = [(part, 1.0), (whole, -1.0)]
                if _close(system.truth[part], system.truth[whole]):
                    system.relations.append(relation)
                else:
                    system.dropped.append(f"{magnitude} {where[0]} ≠ {of} {breakdown} {member}")
    return system


def _add_breakdown_relations(system: System, additive: frozenset[str] | None) -> None:
    """Members of each breakdown sum to the national total, per magnitude, where the true values agree."""
    members: dict[tuple[str, str], list[int]] = defaultdict(list)
    national: dict[str, int] = {}
    for i, (magnitude, breakdown, _) in enumerate(system.names):
        if breakdown == NATIONAL:
            national[magnitude] = i
        else:
            members[(magnitude, breakdown)].append(i)
    for (magnitude, breakdown), variables in sorted(members.items()):
        if magnitude not in national or (additive is not None and breakdown not in additive):
            continue
        relation = [(v, 1.0) for v in variables] + [(national[magnitude], -1.0)]
        if _close(system.value(relation) + system.truth[national[magnitude]], system.truth[national[magnitude]]):
            system.relations.append(relation)
        else:
            system.dropped.append(f"{magnitude} {breakdown} members ≠ national")
