"""The workforce survey's design: stratified two-stage sampling of the synthetic population.

Second room of the generator, between the population (`frames.py`, `workers.py`) and the survey rows (`survey.py`).

- **Strata**: province × industry section for enterprise workers (code `44-C`), and one stratum of platform
  workers per province (`PLAT-44`).
- **PSUs**: enterprises (platform strata: prefecture-level areas), drawn with probability proportional to their
  number of workers by randomised systematic sampling, which gives every unit exactly its inclusion probability
  `π_i = n_h · M_i / M_h`; units whose `π` would exceed 1 are taken with certainty and `π` is recomputed for the
  rest. Every stratum gets at least two PSUs.
- **Workers**: a fixed number per PSU (all of them in a smaller unit), by systematic sampling from the unit's
  worker list. The list is in random order (workers of a unit are generated independently of each other), so
  this is a simple random sample with `π_{k|i} = m_i / M_i` exactly.
- **Weights**: `design_weight = 1 / (π_i · π_{k|i}) = M_i / (π_i · m_i)`; summed over the sample they give the
  population size of every stratum exactly (before defective rows drop out).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Selection:
    """The PSUs drawn from one frame and how many workers are drawn in each."""

    unit: np.ndarray  # index of the PSU in its frame
    stratum: np.ndarray  # stratum index of the PSU
    pi: np.ndarray  # inclusion probability of the PSU
    size: np.ndarray  # workers in the PSU, M_i
    take: np.ndarray  # workers drawn in the PSU, m_i
    start: np.ndarray  # random start of the systematic draw within the PSU, in 0..M_i−1

    @property
    def weight(self) -> np.ndarray:
        """Design weight of every worker drawn in each PSU."""
        return self.size / (self.pi * self.take)

    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        """(unit, position in the unit) of every drawn worker: positions (r + j·M) // m for j < m."""
        unit = np.repeat(self.unit, self.take)
        j = np.arange(unit.size) - np.repeat(np.cumsum(self.take) - self.take, self.take)
        pos = (np.repeat(self.start, self.take) + j * np.repeat(self.size, self.take)) // np.repeat(
            self.take, self.take
        )
        return unit, pos


def inclusion_probabilities(stratum: np.ndarray, size: np.ndarray, n_h: np.ndarray) -> np.ndarray:
    """π_i = n_h · M_i / M_h, with units of π ≥ 1 taken with certainty and π recomputed for the others."""
    n_strata = n_h.size
    certain = np.zeros(size.size, dtype=bool)
    while True:
        rest_n = n_h - np.bincount(stratum[certain], minlength=n_strata)
        rest_m = np.bincount(stratum[~certain], weights=size[~certain], minlength=n_strata)
        share = np.divide(size, rest_m[stratum], out=np.zeros(size.size), where=rest_m[stratum] > 0)
        pi = np.where(certain, 1.0, rest_n[stratum] * share)
        new = ~certain & (pi >= 1.0)
        if not new.any():
            return pi
        certain |= new


def systematic_pps(stratum: np.ndarray, pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomised systematic PPS: certainty units, and per stratum points u, u+1, … on the cumulated π of the
    other units in random order. Returns the selected mask; each unit is selected with probability π_i."""
    certain = pi >= 1.0
    rand = rng.random(pi.size)
    idx = np.flatnonzero(~certain & (pi > 0))
    order = idx[np.lexsort((rand[idx], stratum[idx]))]
    s, p = stratum[order], pi[order]
    cum = np.cumsum(p)
    first = np.r_[True, s[1:] != s[:-1]] if s.size else np.zeros(0, dtype=bool)
    offset = np.maximum.accumulate(np.where(first, cum - p, 0.0)) if s.size else cum
    c = cum - offset
    u = rng.random(int(stratum.max()) + 1 if stratum.size else 0)[s]
    hit = np.floor(c - u) - np.floor(c - p - u) >= 1
    selected = certain.copy()
    selected[order[hit]] = True
    return selected


def allocate(stratum: np.ndarray, size: np.ndarray, n_total: float, min_psu: int = 2) -> np.ndarray:
    """PSUs per stratum proportional to its workers, at least `min_psu`, at most the units it has."""
    n_strata = int(stratum.max()) + 1
    units = np.bincount(stratum, minlength=n_strata)
    workers = np.bincount(stratum, weights=size, minlength=n_strata)
    n_h = np.round(n_total * workers / workers.sum())
    return np.minimum(np.maximum(n_h, min_psu), units).astype(np.int64)


def design_enterprises(
    stratum: np.ndarray, size: np.ndarray, target_rows: int, take: int, rng: np.random.Generator
) -> Selection:
    """Draw enterprise PSUs so that the expected number of respondents is about `target_rows`."""
    m = np.minimum(size, take)

    def expected(n_total: float) -> float:
        pi = inclusion_probabilities(stratum, size, allocate(stratum, size, n_total))
        return float((pi * m).sum())

    # the expected sample grows with the number of PSUs: bisect for the total that gives the target
    lo, hi = 0.0, float(size.size)
    while hi - lo > 0.25:  # allocations only change at whole PSUs
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if expected(mid) < target_rows else (lo, mid)
    n_h = allocate(stratum, size, lo)
    pi = inclusion_probabilities(stratum, size, n_h)
    chosen = np.flatnonzero(systematic_pps(stratum, pi, rng))
    got = np.bincount(stratum[chosen], minlength=n_h.size)
    if not np.array_equal(got, n_h):  # the systematic draw gives exactly n_h; anything else is a bug
        raise AssertionError("systematic PPS did not draw the allocated number of PSUs")
    take_i = m[chosen]
    return Selection(
        unit=chosen,
        stratum=stratum[chosen],
        pi=pi[chosen],
        size=size[chosen],
        take=take_i,
        start=rng.integers(0, size[chosen]),
    )


def design_areas(stratum: np.ndarray, size: np.ndarray, target_rows: int, rng: np.random.Generator) -> Selection:
    """Platform strata: 2 areas per province (3 where it has more than 4), PPS; then `target_rows` workers
    spread over the strata in proportion to the square root of their size (small provinces still get enough
    respondents to publish), equally over a stratum's areas so that it is self-weighting."""
    n_strata = int(stratum.max()) + 1
    units = np.bincount(stratum, minlength=n_strata)
    n_h = np.where(units > 4, 3, 2).astype(np.int64)
    pi = inclusion_probabilities(stratum, size, n_h)
    chosen = np.flatnonzero(systematic_pps(stratum, pi, rng))
    s = stratum[chosen]
    root = np.sqrt(np.bincount(stratum, weights=size, minlength=n_strata))
    per_stratum = _largest_remainder(target_rows, root)
    take = np.zeros(chosen.size, dtype=np.int64)
    for h in range(n_strata):
        members = np.flatnonzero(s == h)
        take[members] = _largest_remainder(int(per_stratum[h]), np.ones(members.size))
    # an area smaller than its share gives all its workers; the rest goes to areas with room, in order
    cap = size[chosen]
    spill = int(np.maximum(take - cap, 0).sum())
    take = np.minimum(take, cap)
    for i in np.argsort(-(cap - take), kind="stable"):
        if spill == 0:
            break
        extra = min(spill, int(cap[i] - take[i]))
        take[i] += extra
        spill -= extra
    if spill:
        raise ValueError("the platform areas are too small for the requested number of respondents")
    return Selection(unit=chosen, stratum=s, pi=pi[chosen], size=cap, take=take, start=rng.integers(0, cap))


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to `weights` that sum to `total` exactly."""
    quota = total * weights / weights.sum()
    out = np.floor(quota).astype(np.int64)
    short = total - int(out.sum())
    out[np.argsort(-(quota - out), kind="stable")[:short]] += 1
    return out
