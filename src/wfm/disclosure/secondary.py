"""Secondary (complementary) suppression that meets every protection level over the whole linked system.

For each sensitive figure and each side (up by its upper protection, down by its lower one) one linear
program looks for the cheapest *deviation*: a change y of the system's variables that keeps every relation,
moves the figure by exactly the protection, keeps every variable non-negative (y ≥ −value), and touches no
published figure unless its row is suppressed. Each row r has a cost c_r (1 for a published cell, more for a
national total, almost nothing for a row already suppressed) and a variable s_r ≥ 0 with |figure_r · y| ≤
U · s_r for each of its figures (U the protection), the objective Σ c_r s_r. Rows with s_r > 0 are suppressed.
This is the LP heuristic in the spirit of τ-Argus's network and optimal methods (Fischetti–Salazar's
attacker subproblem turned around): it is not the MILP optimum, but it is safe by construction, since once those
rows are suppressed the attacker's feasible set contains value + y, so the interval reaches the protection
whatever else is suppressed later. Sensitive figures are taken largest first; suppressions accumulate, so
later ones reuse earlier ones at no cost. The audit (wfm.disclosure.audit) checks the result independently.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from wfm.disclosure.audit import Requirement
from wfm.disclosure.system import System

#: What suppressing a cell costs: a published cell, a national total (the headline figures), a cell already
#: suppressed (a little, so that the program does not spread a deviation over suppressed cells for nothing).
COST_CELL = 1.0
COST_NATIONAL = 10.0
COST_SUPPRESSED = 1e-3
#: s_r above this (relative) means the deviation runs through row r.
USED = 1e-7


def secondary_pattern(
    system: System,
    hidden: np.ndarray,
    national: np.ndarray,
    requirements: list[Requirement],
    exposed: np.ndarray | None = None,
    preferred: np.ndarray | None = None,
) -> np.ndarray:
    """Which rows to suppress (a bool per row) besides those `hidden` already, so that every requirement is met.
    `national`: a bool per row, the national totals (costlier); `exposed`: rows whose true figures readers
    have already seen (an earlier publication that still holds), which no suppression can take back;
    `preferred`: rows the last publication suppressed, as cheap as suppressed ones, so that a pattern stays
    the same from one build to the next unless the data change it."""
    hidden = hidden.copy()
    exposed = np.zeros(len(hidden), dtype=bool) if exposed is None else exposed
    preferred = np.zeros(len(hidden), dtype=bool) if preferred is None else preferred
    labels = system.components()
    truth = np.asarray(system.truth, dtype=float)
    rows_of: dict[int, list[tuple[int, list[tuple[int, float]]]]] = defaultdict(list)
    for (row, _part), terms in system.figures.items():
        rows_of[labels[terms[0][0]]].append((row, terms))
    ordered = sorted(requirements, key=lambda r: -abs(system.value(system.figures.get((r.row, r.part), [])) or 0.0))
    for req in ordered:
        terms = system.figures.get((req.row, req.part))
        if terms is None:
            continue
        label = labels[terms[0][0]]
        for side, amount in ((1.0, req.upper), (-1.0, req.lower)):
            if amount <= 0:
                continue
            cheap = hidden | preferred
            used = _deviation(
                system, labels, label, rows_of[label], truth, cheap, national, exposed, terms, side * amount
            )
            hidden[used] = True
    return hidden


def _deviation(system, labels, label, figures, truth, hidden, national, exposed, target, amount) -> list[int]:
    """The rows the cheapest protecting deviation of `target` by `amount` runs through (all the component's
    rows when none exists: then nothing published about it may stay, and the audit tells whether that is
    enough). An exposed row cannot take any deviation."""
    members = np.flatnonzero(labels == label)
    position = {v: k for k, v in enumerate(members)}
    n = len(members)
    rows = sorted({row for row, _ in figures})
    slot = {row: n * 2 + k for k, row in enumerate(rows)}
    width = 2 * n + len(rows)
    cost = np.zeros(width)
    for row in rows:
        cost[slot[row]] = COST_SUPPRESSED if hidden[row] else (COST_NATIONAL if national[row] else COST_CELL)
    eq_rows, eq_cols, eq_data, eq_rhs = [], [], [], []

    def signed(k: int, terms: list[tuple[int, float]], rows_, cols_, data_) -> None:
        for v, c in terms:
            rows_ += [k, k]
            cols_ += [position[v], n + position[v]]
            data_ += [c, -c]

    relations = [t for t in system.relations if labels[t[0][0]] == label]
    for k, terms in enumerate(relations):
        signed(k, terms, eq_rows, eq_cols, eq_data)
        eq_rhs.append(0.0)
    signed(len(relations), target, eq_rows, eq_cols, eq_data)
    eq_rhs.append(amount)
    ub_rows, ub_cols, ub_data = [], [], []
    scale = abs(amount)
    k = 0
    for row, terms in figures:
        for sign in (1.0, -1.0):
            signed(k, [(v, sign * c) for v, c in terms], ub_rows, ub_cols, ub_data)
            ub_rows.append(k)
            ub_cols.append(slot[row])
            ub_data.append(-scale)
            k += 1
    a_eq = coo_matrix((eq_data, (eq_rows, eq_cols)), shape=(len(eq_rhs), width)).tocsr()
    a_ub = coo_matrix((ub_data, (ub_rows, ub_cols)), shape=(k, width)).tocsr()
    bounds = [(0, None)] * n + [(0, float(truth[v])) for v in members]
    bounds += [(0, 0) if exposed[row] else (0, None) for row in rows]
    result = linprog(cost, A_ub=a_ub, b_ub=np.zeros(k), A_eq=a_eq, b_eq=eq_rhs, bounds=bounds, method="highs")
    if result.status != 0:
        return rows
    s = result.x[2 * n :]
    return [row for row, value in zip(rows, s, strict=True) if value > USED]
