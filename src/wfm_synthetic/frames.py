"""The units of the synthetic population: the enterprise frame (sections B–E) and the platform-area frame.

First room of the generator. Everything else is drawn from what is made here: the enterprise returns are a
census of these enterprises (`returns.py`), the survey samples them as its PSUs (`sample.py`), and their
workers are generated unit by unit (`workers.py`). Orders of magnitude follow published figures (cited where
used): enterprise sizes are log-normal with a Pareto tail, and state firms are larger.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from wfm_synthetic import codes

N_PROV = len(codes.PROVINCE_CODES)

_SECTION_FIRM_WEIGHT = np.array([0.04, 0.78, 0.03, 0.15])  # share of enterprises by section B, C, D, E
_SECTION_MEDIAN_SIZE = np.array([22.0, 11.0, 18.0, 20.0])  # median employees (mining and building are larger)
_SECTION_STATE = np.array([0.25, 0.04, 0.50, 0.10])  # share state-controlled (utilities and mines mostly are)
_SECTION_WAGE = np.array([1.15, 1.00, 1.30, 1.08])  # relative wage level of the section
_SECTION_PRODUCTIVITY = np.array([110.0, 75.0, 260.0, 55.0])  # median revenue per worker, 万元 a year


def text(values: np.ndarray | str, n: int | None = None) -> pd.Series:
    """A text column as plain Python strings (object dtype): pandas would otherwise store it as Arrow strings and
    convert back and forth at every take and comparison, which costs seconds at a million rows."""
    if isinstance(values, str):
        values = np.full(n or 0, values, dtype=object)
    return pd.Series(np.asarray(values, dtype=object), dtype=object)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _choice(rng: np.random.Generator, n: int, weights: np.ndarray) -> np.ndarray:
    cum = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(weights) - 1)


def _region_codes(prov_idx: np.ndarray, rng: np.random.Generator, city_level: bool = False) -> np.ndarray:
    """Real-looking GB/T 2260 codes: province + prefecture (01 the capital, most often) + county or 00."""
    n = prov_idx.shape[0]
    city = np.where(rng.random(n) < 0.35, 1, rng.integers(1, 10, n))
    county = np.zeros(n, dtype=np.int64) if city_level else rng.integers(1, 13, n)
    prov = np.array(codes.PROVINCE_CODES).astype(np.int64)[prov_idx]
    return np.char.zfill((prov * 10000 + city * 100 + county).astype(str), 6)


# --- enterprises -----------------------------------------------------------------------------------------------

_BRANDS = np.array(list("华恒兴宏达鑫盛泰隆昌瑞丰源润新远中金博凯嘉顺永利安德信诚天宇星辰海峰明光"))
_SUFFIX = np.array(["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"])


def _province_section_weights() -> np.ndarray:
    """Joint weight of (province, section) among enterprises: mines sit where the coal and ore are."""
    prov_w = np.array([codes.PROVINCE_WEIGHT[p] for p in codes.PROVINCE_CODES])
    w = prov_w[:, None] * _SECTION_FIRM_WEIGHT[None, :]
    adjust = {
        "B": {
            "14": 6,
            "15": 5,
            "61": 4,
            "65": 4,
            "23": 3,
            "52": 3,
            "62": 2,
            "64": 3,
            "63": 3,
            "31": 0.2,
            "11": 0.3,
            "12": 0.5,
            "44": 0.3,
            "33": 0.3,
            "32": 0.3,
            "35": 0.5,
            "46": 0.5,
        },
        "D": {"54": 3, "63": 3, "65": 2, "52": 2, "53": 2, "15": 2, "64": 2},
        "E": {"11": 1.5, "50": 1.5, "51": 1.4, "54": 2, "63": 1.5},
    }
    for s, table in adjust.items():
        si = codes.SECTIONS.index(s)
        for p, f in table.items():
            w[codes.PROVINCE_CODES.index(p), si] *= f
    return w


def make_enterprises(n: int, rng: np.random.Generator, size_cap: int) -> pd.DataFrame:
    """The enterprise frame: one row per enterprise, the same in every period (sizes move per period).

    Every province × section cell gets at least three enterprises, so every survey stratum has enough units for
    its two or more PSUs and no cell is confidential by construction alone.
    """
    w = _province_section_weights()
    n_cells = w.size
    forced = np.repeat(np.arange(n_cells), 3)
    cell = np.concatenate([forced, _choice(rng, max(n - forced.size, 0), w.ravel())])[:n]
    cell = cell[rng.permutation(cell.size)]
    prov_idx, sec_idx = np.divmod(cell, len(codes.SECTIONS))

    # division within its section, then a real class of the division (uniform)
    division = np.empty(n, dtype="U2")
    industry_class = np.empty(n, dtype="U4")
    for si, s in enumerate(codes.SECTIONS):
        divs = [d for d in codes.DIVISIONS if codes.section_of_division(d) == s]
        mask = sec_idx == si
        dpick = _choice(rng, int(mask.sum()), np.array([codes.DIVISION_WEIGHT[d] for d in divs]))
        division[mask] = np.array(divs)[dpick]
    for d in codes.DIVISIONS:
        mask = division == d
        classes = np.array(codes.INDUSTRY_CLASSES[d])
        industry_class[mask] = classes[rng.integers(0, classes.size, int(mask.sum()))]

    state = rng.random(n) < _SECTION_STATE[sec_idx]
    # size: log-normal body with a Pareto tail (2.5 % of firms), state firms larger (the big SOEs)
    body = np.exp(np.log(_SECTION_MEDIAN_SIZE[sec_idx]) + 1.15 * rng.standard_normal(n)) * np.where(state, 2.5, 1)
    tail = 100.0 * (1.0 - rng.random(n)) ** (-1 / 1.2)
    size = np.where(rng.random(n) < 0.025, np.maximum(body, tail), body)
    size = np.clip(np.round(size), 1, size_cap).astype(np.int64)
    log_size = np.log10(size)

    quality = rng.standard_normal(n) + 0.5 * state + 0.3 * log_size  # how formal the firm's management is
    has_union = rng.random(n) < sigmoid(-1.6 + 1.0 * log_size + 2.0 * state + 0.5 * quality)
    prov_wage = np.array([codes.PROVINCE_WAGE[p] for p in codes.PROVINCE_CODES])[prov_idx]
    wage_factor = (
        prov_wage
        * _SECTION_WAGE[sec_idx]
        * np.where(state, 1.08, 1.0)
        * size**0.04
        * np.exp(0.12 * rng.standard_normal(n))
    )
    productivity = (
        _SECTION_PRODUCTIVITY[sec_idx] * np.where(state, 1.3, 1.0) * size**0.08 * np.exp(0.6 * rng.standard_normal(n))
    )

    reg_state = np.array(list(codes.REGISTRATION_STATE))
    reg_other = np.array(list(codes.REGISTRATION_OTHER))
    registration = np.where(
        state,
        reg_state[_choice(rng, n, np.array(list(codes.REGISTRATION_STATE.values())))],
        reg_other[_choice(rng, n, np.array(list(codes.REGISTRATION_OTHER.values())))],
    )

    region = _region_codes(prov_idx, rng)
    # The USCC carries the region of registration, which is not always where the firm produces (contract: the
    # return's region_code is where it produces); 5 % are registered in their provincial capital instead.
    capital = np.char.add(np.array(codes.PROVINCE_CODES)[prov_idx], "0100")
    registered = np.where(rng.random(n) < 0.05, capital, region)
    uscc = codes.make_usccs(registered, np.arange(n), rng)

    names = _enterprise_names(prov_idx, division, registration, size, rng)
    return pd.DataFrame(
        {
            "prov": prov_idx.astype(np.int8),
            "sec": sec_idx.astype(np.int8),
            "division": text(division),
            "industry_class": text(industry_class),
            "state": state,
            "base_size": size,
            "quality": quality,
            "has_union": has_union,
            "wage_factor": wage_factor,
            "productivity": productivity,
            "registration_type": registration.astype(np.int64),
            "region_code": text(region),
            "uscc": text(uscc),
            "enterprise_name": text(names),
        }
    )


def _enterprise_names(
    prov_idx: np.ndarray, division: np.ndarray, registration: np.ndarray, size: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Fake names: province + two brand characters + a word for the trade + a legal-form suffix."""
    n = prov_idx.shape[0]
    prov_name = np.array(list(codes.PROVINCES.values()))[prov_idx]
    brand = np.char.add(_BRANDS[rng.integers(0, _BRANDS.size, n)], _BRANDS[rng.integers(0, _BRANDS.size, n)])
    word = np.array([codes.DIVISION_WORD[d] for d in codes.DIVISIONS])[
        np.searchsorted(np.array(codes.DIVISIONS), division)
    ]
    suffix = np.where(np.isin(registration, [160, 174]), 2, np.where(size >= 1000, 3, rng.integers(0, 2, n)))
    names = np.char.add(np.char.add(np.char.add(prov_name, brand), word), _SUFFIX[suffix])
    # a few names hold a comma (the CSV must quote them); NFKC folds a full-width comma to this one anyway
    return np.where(rng.random(n) < 0.005, np.char.add(names, "(一分厂,二分厂)"), names).astype(object)


def period_sizes(base_size: np.ndarray, year: int, rng: np.random.Generator, size_cap: int) -> np.ndarray:
    """Employees at the end of `year`: the firm's base size with a little growth and noise per period."""
    drift = np.exp(0.06 * rng.standard_normal(base_size.shape[0]) + 0.01 * (year - 2026))
    return np.clip(np.round(base_size * drift), 1, size_cap).astype(np.int64)


# --- platform work ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformFrame:
    """Areas (prefecture-level cities) where platform workers are counted: the PSUs of the platform strata."""

    prov: np.ndarray  # province index of each area
    region_code: np.ndarray  # 6-digit code of the area (prefecture level, county part 00)
    size: np.ndarray  # platform workers in the area


def make_platform_frame(total: int, rng: np.random.Generator, min_size: int) -> PlatformFrame:
    """Spread `total` platform workers over 3–8 areas per province (more areas where there is more work)."""
    prov_w = np.array([codes.PROVINCE_WEIGHT[p] for p in codes.PROVINCE_CODES]) ** 0.7  # platforms are urban
    n_area = 3 + np.round(5 * prov_w / prov_w.max()).astype(int)
    prov = np.repeat(np.arange(N_PROV), n_area)
    share = np.repeat(prov_w / prov_w.sum() / n_area, n_area) * rng.gamma(4.0, 0.25, prov.size)
    size = np.maximum(np.round(total * share / share.sum()), min_size).astype(np.int64)
    # one area per prefecture: the capital (01) first, then other prefectures
    city = np.concatenate([np.arange(1, k + 1) for k in n_area])
    prov_code = np.array(codes.PROVINCE_CODES).astype(np.int64)[prov]
    region = np.char.zfill((prov_code * 10000 + city * 100).astype(str), 6)
    return PlatformFrame(prov=prov, region_code=region, size=size)
