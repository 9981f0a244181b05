"""The synthetic population: enterprises of sections B–E, their workers, and platform workers.

First room of the generator. Everything else is drawn from what is made here: the enterprise returns are a
census of these enterprises (`returns.py`), the survey is a sample of these workers (`sample.py`), and the
survey's ground truth is computed on all of them (`truth.py`). Workers are never held all at once at national
scale: they are generated enterprise block by enterprise block (`blocks`, then `run.py`), each block from its own
random stream, so the result does not depend on how the blocks are processed.

Orders of magnitude follow published figures (cited where used): enterprise sizes are log-normal with a Pareto
tail, wages are log-normal around the NBS 农民工监测调查报告 level, hours around its ~49 hours a week. Attributes
are drawn from latent scores that depend on one another (education on age and hukou, skill on education and
experience, wage on skill, province, industry and ownership …) rather than as independent coin flips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from wfm_synthetic import codes

N_PROV = len(codes.PROVINCE_CODES)
NONE_SKILL = 8  # skill index of "no skill level" (L0..L7 are 0..7)
NO_SECTION = 4  # section index of a platform worker without an industry code

_SECTION_FIRM_WEIGHT = np.array([0.04, 0.78, 0.03, 0.15])  # share of enterprises by section B, C, D, E
_SECTION_MEDIAN_SIZE = np.array([22.0, 11.0, 18.0, 20.0])  # median employees (mining and building are larger)
_SECTION_STATE = np.array([0.25, 0.04, 0.50, 0.10])  # share state-controlled (utilities and mines mostly are)
_SECTION_WAGE = np.array([1.15, 1.00, 1.30, 1.08])  # relative wage level of the section
_SECTION_PRODUCTIVITY = np.array([110.0, 75.0, 260.0, 55.0])  # median revenue per worker, 万元 a year
_SECTION_MALE = np.array([0.85, 0.62, 0.74, 0.88], dtype=np.float32)
# agricultural hukou share (construction is mostly 农民工)
_SECTION_MIGRANT = np.array([0.45, 0.55, 0.20, 0.75], dtype=np.float32)
# mean weekly hours beyond 40 in a private firm: with the terms below, agricultural-hukou workers average about
# 49 hours a week, the order of the NBS 农民工监测调查报告 (about 25 days a month of 8.7 hours)
_SECTION_EXTRA_HOURS = np.array([5.0, 8.0, 2.0, 11.0], dtype=np.float32)

# log wage premium of skill levels L0..L7 and none, and of education 1..5 (index 0 unused)
_SKILL_PREMIUM = np.array([-0.18, 0.0, 0.08, 0.20, 0.35, 0.50, 0.68, 0.85, -0.05], dtype=np.float32)
_EDU_PREMIUM = np.array([0.0, 0.0, 0.06, 0.18, 0.35, 0.55], dtype=np.float32)
# thresholds on the latent skill score: below the first, no level; then L1 … L7 (L0 is carved out for the young)
_SKILL_CUTS = np.array([0.76, 1.29, 1.88, 2.52, 3.11, 3.90, 4.52], dtype=np.float32)
_EDU_CUTS = np.array([0.47, 1.24, 1.90, 3.04], dtype=np.float32)  # junior high | senior | 大专 | 本科 | 研究生
_EDU_CUTS_PLATFORM = np.array([-0.1, 0.9, 1.7, 2.6], dtype=np.float32)
# NBS 2024年农民工监测调查报告: migrant workers' average monthly income 4,961 yuan. The base below is tuned so
# that agricultural-hukou workers of the synthetic population average close to 5,000 yuan a month.
_WAGE_BASE = 2820.0


def text(values: np.ndarray | str, n: int | None = None) -> pd.Series:
    """A text column as plain Python strings (object dtype): pandas would otherwise store it as Arrow strings and
    convert back and forth at every take and comparison, which costs seconds at a million rows."""
    if isinstance(values, str):
        values = np.full(n or 0, values, dtype=object)
    return pd.Series(np.asarray(values, dtype=object), dtype=object)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.log(p / (1.0 - p))


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
    has_union = rng.random(n) < _sigmoid(-1.6 + 1.0 * log_size + 2.0 * state + 0.5 * quality)
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


# --- workers ---------------------------------------------------------------------------------------------------

Workers = dict[str, np.ndarray]


@dataclass(frozen=True)
class Block:
    """A block of units (enterprises or platform areas) whose workers are generated together."""

    platform: bool
    first: int  # index of the block's first unit in its frame
    sizes: np.ndarray  # workers per unit of the block


def blocks(sizes: np.ndarray, platform: bool, target_workers: int) -> list[Block]:
    """Cut a frame into consecutive blocks of about `target_workers` workers (a fixed, seed-free cut)."""
    cum = np.cumsum(sizes)
    cut = np.searchsorted(cum, np.arange(target_workers, cum[-1], target_workers), side="left") + 1
    edges = np.unique(np.concatenate([[0], cut, [sizes.size]]))
    return [Block(platform, int(a), sizes[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _u(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniforms in single precision: half the memory traffic of doubles, and plenty for drawing attributes."""
    return rng.random(n, dtype=np.float32)


def _z(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n, dtype=np.float32)


def _f(x: np.ndarray) -> np.ndarray:
    """As float32 (booleans and integers would otherwise promote arithmetic to float64)."""
    return x.astype(np.float32)


def enterprise_workers(block: Block, ent: pd.DataFrame, rng: np.random.Generator) -> Workers:
    """Every worker of the block's enterprises, as column arrays (one element per worker)."""
    local = np.repeat(np.arange(block.sizes.size), block.sizes)
    n = local.size
    e = ent.iloc[block.first : block.first + block.sizes.size]
    sec = e["sec"].to_numpy()[local]
    state_b = e["state"].to_numpy()[local]
    state = _f(state_b)
    quality = _f(e["quality"].to_numpy())[local]
    log_size = _f(np.log10(block.sizes))[local]
    is_building, is_utility = _f(sec == 3), _f(sec == 2)

    male = _u(rng, n) < _SECTION_MALE[sec]
    migrant = _u(rng, n) < np.clip(_SECTION_MIGRANT[sec] - 0.25 * state, 0.02, 0.98)
    # NBS 2024年农民工监测调查报告: migrant workers' average age 43.2; urban workers are younger on average
    z = _z(rng, n)
    age = np.clip(np.round(np.where(migrant, 42.5 + 11.0 * z, 37.0 + 10.0 * z)), 17, 64)
    old_builder = (sec == 3) & migrant & (_u(rng, n) < 0.04)  # older men still on building sites
    age = np.where(old_builder, rng.integers(60, 71, n), age).astype(np.int16)
    agef = _f(age)
    hukou = np.where(migrant, 1, np.where(_u(rng, n) < 0.3 + 0.4 * _f(age < 35), 3, 2)).astype(np.int8)

    edu_latent = _z(rng, n) + 0.6 * _f(~migrant) - 0.03 * (agef - 38) + 0.3 * state + 0.4 * is_utility + 0.1 * log_size
    education = (1 + np.searchsorted(_EDU_CUTS, edu_latent)).astype(np.int8)

    attrs = _common_attributes(
        rng, n, age=agef, migrant=migrant, education=education, state=state, log_size=log_size, platform=False
    )
    skill = attrs["skill"]
    graded = _f(skill < NONE_SKILL)

    # employment form: dispatch is commoner in SOEs and large factories (劳务派遣), flexible work on building sites
    u = _u(rng, n)
    p_dispatch = 0.04 + 0.05 * state + 0.03 * _f((sec == 1) & (log_size >= 2.5))
    p_flex = 0.03 + 0.17 * is_building + 0.04 * _f(log_size < 1.3)
    form = np.where(u < p_dispatch, 2, np.where(u < p_dispatch + p_flex, 4, 1)).astype(np.int8)
    flexible = _f(form == 4)
    contract = _contracts(rng, form, state, is_building, quality, agef, log_size)

    wage = _wages(rng, _f(e["wage_factor"].to_numpy())[local], skill, education, agef, male, form)
    extra = _SECTION_EXTRA_HOURS[sec] - 6.0 * state + 2.0 * _f(migrant) - 1.0 * quality + 5.0 * _z(rng, n)
    hours = np.clip(40 + np.round(np.maximum(extra, 0)), 30, 84).astype(np.int16)

    p_train = _sigmoid(-1.2 + 0.4 * quality + 0.6 * state + 0.25 * log_size + 0.3 * graded - 0.4 * flexible)
    has_union = e["has_union"].to_numpy()[local]
    union_p = np.where(has_union, np.where(state_b, 0.92, 0.78) * np.where(form == 1, 1.0, 0.6), 0.02)
    soc_p = _sigmoid(0.9 + 0.8 * quality + 1.5 * state + 0.3 * log_size - 0.9 * flexible - 0.4 * is_building)
    arrears_p = _sigmoid(-4.8 + 1.4 * is_building + 0.8 * flexible - 1.5 * state - 0.5 * quality)
    comp_p = _sigmoid(-2.7 + 0.8 * state + 0.35 * graded * _f(skill >= 2) + 0.2 * log_size)
    out = _finish(
        rng,
        n,
        attrs=attrs,
        age=age,
        male=male,
        hukou=hukou,
        education=education,
        wage=wage,
        hours=hours,
        form=form,
        contract=contract,
        p_train=p_train,
        union_p=union_p,
        soc_p=soc_p,
        arrears_p=arrears_p,
        comp_p=comp_p,
        state=state,
    )
    out.update(
        unit=(block.first + local).astype(np.int64),
        pos=_positions(block.sizes),
        sec=sec.astype(np.int8),
        prov=e["prov"].to_numpy()[local],
        platform=np.zeros(n, dtype=bool),
        oip=np.full(n, -1, dtype=np.int8),
    )
    return out


def platform_workers(block: Block, frame: PlatformFrame, rng: np.random.Generator) -> Workers:
    """Platform workers (delivery riders, ride-hailing drivers, gig builders) of the block's areas."""
    local = np.repeat(np.arange(block.sizes.size), block.sizes)
    n = local.size
    male = _u(rng, n) < 0.85
    migrant = _u(rng, n) < 0.70
    age = np.clip(np.round(33 + 8.5 * _z(rng, n)), 18, 60).astype(np.int16)
    agef = _f(age)
    hukou = np.where(migrant, 1, np.where(_u(rng, n) < 0.5, 3, 2)).astype(np.int8)
    edu_latent = _z(rng, n) + 0.4 * _f(~migrant) - 0.02 * (agef - 33)
    education = (1 + np.searchsorted(_EDU_CUTS_PLATFORM, edu_latent)).astype(np.int8)
    zeros = np.zeros(n, dtype=np.float32)
    attrs = _common_attributes(
        rng, n, age=agef, migrant=migrant, education=education, state=zeros, log_size=zeros, platform=True
    )
    # riders earn more per month than factory hands but work longer (industry surveys: 6–7 thousand yuan)
    form = np.full(n, 3, dtype=np.int8)
    wage = _wages(rng, np.full(n, 1.25, dtype=np.float32), attrs["skill"], education, agef, male, form)
    hours = np.clip(40 + np.round(np.maximum(15 + 9 * _z(rng, n), 0)), 20, 84).astype(np.int16)
    u = _u(rng, n)
    contract = np.where(u < 0.75, 9, np.where(u < 0.90, 3, 2)).astype(np.int8)
    p = np.full(n, 1.0, dtype=np.float32)
    out = _finish(
        rng,
        n,
        attrs=attrs,
        age=age,
        male=male,
        hukou=hukou,
        education=education,
        wage=wage,
        hours=hours,
        form=form,
        contract=contract,
        p_train=0.35 * p,
        union_p=0.18 * p,
        soc_p=0.25 * p,
        arrears_p=0.02 * p,
        comp_p=0.03 * p,
        state=zeros,
    )
    # a share of gig workers find building and decoration jobs through platforms: they carry a section E code
    gig_builder = _u(rng, n) < 0.12
    out.update(
        unit=(block.first + local).astype(np.int64),
        pos=_positions(block.sizes),
        sec=np.where(gig_builder, 3, NO_SECTION).astype(np.int8),
        prov=frame.prov[block.first + local],
        platform=np.ones(n, dtype=bool),
        oip=(_u(rng, n) < 0.45).astype(np.int8),
    )
    return out


def _positions(sizes: np.ndarray) -> np.ndarray:
    """Position of each worker within its unit: 0..size−1, unit after unit."""
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return (np.arange(starts.size) - starts).astype(np.int64)


def _common_attributes(
    rng: np.random.Generator,
    n: int,
    *,
    age: np.ndarray,
    migrant: np.ndarray,
    education: np.ndarray,
    state: np.ndarray,
    log_size: np.ndarray,
    platform: bool,
) -> Workers:
    """Skill level, certificate and craftsman title: driven by education, experience and the employer."""
    experience = np.clip(age - 18, 0, 25)
    latent = (
        _z(rng, n) + 0.35 * _f(education - 2) + 0.025 * experience + 0.25 * state + 0.15 * log_size - 0.25 * _f(migrant)
    )
    if platform:  # platform work rarely comes with a skill grade
        latent -= 0.9
    level = np.searchsorted(_SKILL_CUTS, latent, side="right")  # 0 = none, 1..7 = L1..L7
    skill = np.where(level == 0, NONE_SKILL, level).astype(np.int8)
    skill[(level == 0) & (age < 25) & (latent > _SKILL_CUTS[0] - 0.45)] = 0  # apprentices
    cert = _u(rng, n) < np.array([0.12, 0.88, 0.88, 0.88, 0.88, 0.88, 0.88, 0.88, 0.06], dtype=np.float32)[skill]
    # craftsman titles go to the top of the ladder: national ones are a few hundred in a nation of workers
    p_title = np.array([0, 0, 0, 0, 0.008, 0.032, 0.14, 0.36, 0], dtype=np.float32)[skill] * (1 + state)
    titled = _u(rng, n) < p_title
    tier = np.searchsorted(np.array([0.82, 0.98], dtype=np.float32), _u(rng, n), side="right")
    title = np.where(titled, tier + 1, 0).astype(np.int8)  # 1 municipal, 2 provincial, 3 national
    return {"skill": skill, "certificate": cert, "title": title}


def _contracts(
    rng: np.random.Generator,
    form: np.ndarray,
    state: np.ndarray,
    is_building: np.ndarray,
    quality: np.ndarray,
    age: np.ndarray,
    log_size: np.ndarray,
) -> np.ndarray:
    """Labour-contract type: unsigned contracts concentrate on building sites and in small private firms."""
    u = _u(rng, form.shape[0])
    p_none = _sigmoid(-2.6 + 1.3 * is_building - 0.6 * quality - 1.5 * state - 0.3 * (log_size - 1.5))
    p_open = np.clip(0.10 + 0.25 * state + 0.008 * np.maximum(age - 30, 0), 0, 0.8) * (1 - p_none)
    p_task = (0.02 + 0.08 * is_building) * (1 - p_none)
    direct = np.where(u < p_none, 9, np.where(u < p_none + p_open, 1, np.where(u < p_none + p_open + p_task, 3, 2)))
    dispatched = np.where(u < 0.05, 9, 2)  # dispatched workers sign with the agency, almost always
    flexible = np.where(u < 0.55, 9, np.where(u < 0.85, 3, 2))
    return np.where(form == 1, direct, np.where(form == 2, dispatched, flexible)).astype(np.int8)


def _wages(
    rng: np.random.Generator,
    factor: np.ndarray,
    skill: np.ndarray,
    education: np.ndarray,
    age: np.ndarray,
    male: np.ndarray,
    form: np.ndarray,
) -> np.ndarray:
    """Monthly wage in yuan, a multiple of 10: log-normal, rising with skill, education and experience."""
    x = age - 18
    log_w = (
        np.log(_WAGE_BASE * factor)
        + _SKILL_PREMIUM[skill]
        + _EDU_PREMIUM[education]
        + 0.022 * x
        - 0.00045 * x * x
        - 0.12 * _f(~male)
        - 0.05 * _f(form == 4)
        + 0.30 * _z(rng, skill.shape[0])
    )
    return (np.clip(np.round(np.exp(log_w) / 10), 150, 30_000) * 10).astype(np.int64)


def _finish(
    rng: np.random.Generator,
    n: int,
    *,
    attrs: Workers,
    age: np.ndarray,
    male: np.ndarray,
    hukou: np.ndarray,
    education: np.ndarray,
    wage: np.ndarray,
    hours: np.ndarray,
    form: np.ndarray,
    contract: np.ndarray,
    p_train: np.ndarray,
    union_p: np.ndarray,
    soc_p: np.ndarray,
    arrears_p: np.ndarray,
    comp_p: np.ndarray,
    state: np.ndarray,
) -> Workers:
    """The attributes both kinds of worker share, drawn from the probabilities their caller set."""
    skill = attrs["skill"]
    graded = skill < NONE_SKILL
    agef = _f(age)
    hoursf = _f(hours)
    # overtime follows the weekly hours: hours beyond 40 a week, about 4.33 weeks a month
    overtime = np.where(hours > 40, (hoursf - 40) * 4.33 * (0.85 + 0.3 * _u(rng, n)), _f(rng.poisson(1.5, n)))
    overtime = np.clip(np.round(overtime), 0, 200).astype(np.int16)
    trained = _u(rng, n) < p_train
    t_hours = np.where(trained, np.clip(np.round(24 * np.exp(0.8 * _z(rng, n))), 1, 400), 0)
    continuing = _u(rng, n) < _sigmoid(-3.0 + 0.6 * _f(education >= 3) - 0.05 * (agef - 30))
    union = _u(rng, n) < union_p
    party = _u(rng, n) < _sigmoid(
        -3.7 + 0.6 * _f(education >= 4) + 1.4 * state + 0.02 * (agef - 30) + 0.5 * _f(graded & (skill >= 4))
    )
    innovation = _u(rng, n) < _sigmoid(-2.6 + 0.5 * state + 0.4 * _f(graded & (skill >= 3)) + 0.3 * _f(education >= 3))
    arrears = _u(rng, n) < arrears_p
    # the three senses share one latent well-being: better paid, unionised, skilled, not owed wages, shorter hours
    mood = (
        0.5 * np.log(_f(wage) / 5000.0)
        - 1.2 * _f(arrears)
        - 0.03 * (hoursf - 44)
        + 0.2 * _f(union)
        + 0.15 * _f(graded)
        + _z(rng, n)
    )
    senses = [np.clip(np.round(3.6 + 0.75 * mood + 0.55 * _z(rng, n)), 1, 5).astype(np.int8) for _ in range(3)]
    return {
        "male": male,
        "age": age,
        "hukou": hukou,
        "education": education,
        "skill": skill,
        "title": attrs["title"],
        "form": form,
        "contract": contract,
        "wage": wage,
        "hours": hours,
        "overtime": overtime,
        "trained": trained,
        "training_hours": t_hours.astype(np.int16),
        "continuing": continuing,
        "certificate": attrs["certificate"],
        "union": union,
        "party": party,
        "injury_insurance": _u(rng, n) < soc_p,
        "competition": _u(rng, n) < comp_p,
        "innovation": innovation,
        "arrears": arrears,
        "sense_achievement": senses[0],
        "sense_gain": senses[1],
        "sense_happiness": senses[2],
    }
