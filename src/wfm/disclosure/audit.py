"""The attacker's audit: how closely everything published pins down each confidential magnitude.

Given a `System` (wfm.disclosure.system), the published figures (the rows whose numerator and denominator are
shown) and the non-negativity of every magnitude, the feasibility interval of a suppressed figure is
[min, max] of its signed sum of variables subject to: every relation, every published figure equal to its
value, every variable ≥ 0. Two linear programs per figure, solved by HiGHS (scipy.optimize.linprog), one
connected component of the system at a time (variables linked by relations or composite figures), so each
program is small. Integrality is relaxed: the interval is at least as wide as the integer one, never narrower,
which is what the attacker can claim without further knowledge of the units.

A figure is protected when the interval reaches its true value − lower protection and + upper protection
(`levels`): the confidential value is then not recoverable, exactly or within that margin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from wfm.disclosure.system import PARTS, System

#: Slack on a protection requirement, relative to the value: LP round-off is no disclosure.
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Requirement:
    row: int
    part: str
    lower: float  # the interval must reach value − lower
    upper: float  # and value + upper
    value: float = float("nan")


def levels(
    cells: pd.DataFrame, protection_pct: float, dominance_n: int, dominance_k: float, threshold: float
) -> list[Requirement]:
    """The protection required of each sensitive figure of the primary confidential cells (column `primary` =
    'C'), those with a positive value. Which figures are sensitive: both, for a survey cell (too few
    respondents) and an enterprise cell with fewer than `threshold` enterprises (column `n_enterprises`); for
    an enterprise cell confidential by the dominance rule alone, the magnitude(s) its `dominance_n` largest
    contributions dominate (column `<part>_top` over dominance_k % of `<part>_magnitude`). Either side,
    protection_pct % of the value; above a dominated magnitude, at least the upper protection the (n, k) rule
    implies, 100/k · top − total: how much the total must be able to grow before its largest contributions
    no longer dominate it. A zero magnitude needs no protection (as τ-Argus by default)."""
    out = []
    pct = protection_pct / 100.0
    positions = np.flatnonzero(cells["primary"].to_numpy(dtype=object) == "C")
    for i, row in zip(positions, cells.iloc[positions].itertuples(index=False), strict=True):
        i = int(i)
        few = getattr(row, "n_enterprises", None)
        by_threshold = few is None or pd.isna(few) or few < threshold
        for part in PARTS:
            value = getattr(row, part)
            if pd.isna(value) or value <= 0:
                continue
            top = getattr(row, f"{part}_top", None)
            magnitude = getattr(row, f"{part}_magnitude", None)
            magnitude = value if magnitude is None or pd.isna(magnitude) else magnitude
            dominated = top is not None and not pd.isna(top) and top > dominance_k / 100.0 * magnitude
            if not (by_threshold or dominated):
                continue
            upper = pct * value
            if dominated:
                upper = max(upper, 100.0 / dominance_k * top - value)
            out.append(Requirement(i, part, pct * value, upper, float(value)))
    return out


@dataclass(frozen=True)
class Interval:
    row: int
    part: str
    value: float
    low: float
    high: float
    required_lower: float
    required_upper: float

    @property
    def protected(self) -> bool:
        slack = TOLERANCE * max(1.0, abs(self.value))
        return (
            self.low <= self.value - self.required_lower + slack
            and self.high >= self.value + self.required_upper - slack
        )

    @property
    def exact(self) -> bool:
        return self.high - self.low <= TOLERANCE * max(1.0, abs(self.value))


def feasibility_intervals(system: System, published: np.ndarray, requirements: list[Requirement]) -> list[Interval]:
    """The attacker's interval of every required figure, given the rows `published` (a bool per cell row)."""
    if not requirements:
        return []
    labels = system.components()
    truth = np.asarray(system.truth, dtype=float)
    out = []
    by_component: dict[int, list[Requirement]] = {}
    for req in requirements:
        terms = system.figures.get((req.row, req.part))
        if terms is None:  # a figure the seed does not name: nothing links it, so only itself could show it
            out.append(Interval(req.row, req.part, req.value, 0.0, float("inf"), req.lower, req.upper))
            continue
        by_component.setdefault(labels[terms[0][0]], []).append(req)
    for label, reqs in by_component.items():
        members = np.flatnonzero(labels == label)
        position = {v: k for k, v in enumerate(members)}
        constraints = [(t, 0.0) for t in system.relations if labels[t[0][0]] == label]
        constraints += [
            (terms, system.value(terms))
            for (row, _part), terms in system.figures.items()
            if published[row] and labels[terms[0][0]] == label
        ]
        matrix, rhs = equations(constraints, position)
        for req in reqs:
            terms = system.figures[(req.row, req.part)]
            objective = np.zeros(len(members))
            for v, c in terms:
                objective[position[v]] += c
            value = float(objective @ truth[members])
            low = _optimum(objective, matrix, rhs)
            high = -_optimum(-objective, matrix, rhs)
            out.append(Interval(req.row, req.part, value, low, high, req.lower, req.upper))
    return out


def equations(constraints: list[tuple[list[tuple[int, float]], float]], position: dict[int, int]):
    """The sparse matrix and right-hand side of `constraints` (terms, value) over the variables `position`."""
    rows, cols, data = [], [], []
    for k, (terms, _) in enumerate(constraints):
        for v, c in terms:
            rows.append(k)
            cols.append(position[v])
            data.append(c)
    matrix = coo_matrix((data, (rows, cols)), shape=(len(constraints), len(position))).tocsr()
    return matrix, [value for _, value in constraints]


def _optimum(objective: np.ndarray, matrix, rhs: list[float]) -> float:
    result = linprog(
        objective,
        A_eq=matrix if matrix.shape[0] else None,
        b_eq=rhs if matrix.shape[0] else None,
        bounds=(0, None),
        method="highs",
    )
    if result.status == 3:  # unbounded: the figure can grow (or, negated, shrink) without limit
        return -np.inf
    if result.status != 0:
        raise RuntimeError(f"disclosure audit: the attacker's program failed ({result.message})")
    return float(result.fun)
