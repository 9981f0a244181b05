"""The synthetic workers: every worker of the enterprises and platform areas of `frames.py`, block by block.

Made unit by unit from the frames of `frames.py`. The survey is a sample of these workers (`sample.py`), the
enterprise returns aggregate their counts (`returns.py`), and the survey's ground truth is computed on all of
them (`truth.py`). Workers are never held all at once at national scale: they are generated enterprise block by
enterprise block (`blocks`, then `run.py`), each block from its own random stream, so the result does not
depend on how the blocks are processed.

Orders of magnitude follow published figures (cited where used): wages are log-normal around the NBS
农民工监测调查报告 level, hours around its ~49 hours a week. Attributes are drawn from latent scores that depend
on one another (education on age and hukou, skill on education and experience, wage on skill, province,
industry and ownership …) rather than as independent coin flips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from wfm_synthetic.frames import PlatformFrame, sigmoid

NONE_SKILL = 8  # skill index of "no skill level" (L0..L7 are 0..7)
NO_SECTION = 4  # section index of a platform worker without an industry code

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

#: How the population moves from one year to the next, per year before or after 2026 (t = year − 2026, so 2026
#: is the same in a history as alone): the real movement a history shows. Everything not listed stays as it is,
#: up to the noise of drawing each year's population afresh (certificates, skill levels, union and party
#: membership, migrants, age …).
DRIFT = {
    "trained": 0.45,  # logit of training participation (TRN01, TRN02; TRN03 through person-times)
    "arrears": -0.40,  # logit of wage arrears (WAG03)
    "injury_insurance": 0.35,  # logit of work-injury insurance (SOC01)
    "wage": 0.07,  # log wage (WAG01, payroll; the skill premium WAG02 is a ratio and stays)
    "hours": -1.5,  # weekly hours beyond 40 (HRS01, HRS02)
    "craftsmen": 0.15,  # craftsman titles, relative (TAL01–TAL03)
}


def _shift(p: np.ndarray, dlogit: float) -> np.ndarray:
    """Probabilities moved by `dlogit` on the logit scale (unchanged, bit for bit, when it is 0)."""
    if dlogit == 0:
        return p
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return sigmoid(np.log(p / (1 - p)) + np.float32(dlogit)).astype(np.float32)


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


def enterprise_workers(block: Block, ent: pd.DataFrame, rng: np.random.Generator, t: int = 0) -> Workers:
    """Every worker of the block's enterprises, as column arrays (one element per worker), `t` years after
    2026 (`DRIFT`)."""
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
        rng, n, age=agef, migrant=migrant, education=education, state=state, log_size=log_size, platform=False, t=t
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

    wage = _wages(rng, _f(e["wage_factor"].to_numpy())[local], skill, education, agef, male, form, t)
    extra = _SECTION_EXTRA_HOURS[sec] - 6.0 * state + 2.0 * _f(migrant) - 1.0 * quality + 5.0 * _z(rng, n)
    extra = extra + np.float32(DRIFT["hours"] * t) if t else extra
    hours = np.clip(40 + np.round(np.maximum(extra, 0)), 30, 84).astype(np.int16)

    p_train = sigmoid(
        DRIFT["trained"] * t - 1.2 + 0.4 * quality + 0.6 * state + 0.25 * log_size + 0.3 * graded - 0.4 * flexible
    )
    has_union = e["has_union"].to_numpy()[local]
    union_p = np.where(has_union, np.where(state_b, 0.92, 0.78) * np.where(form == 1, 1.0, 0.6), 0.02)
    soc_p = sigmoid(
        DRIFT["injury_insurance"] * t
        + 0.9
        + 0.8 * quality
        + 1.5 * state
        + 0.3 * log_size
        - 0.9 * flexible
        - 0.4 * is_building
    )
    arrears_p = sigmoid(DRIFT["arrears"] * t - 4.8 + 1.4 * is_building + 0.8 * flexible - 1.5 * state - 0.5 * quality)
    comp_p = sigmoid(-2.7 + 0.8 * state + 0.35 * graded * _f(skill >= 2) + 0.2 * log_size)
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


def platform_workers(block: Block, frame: PlatformFrame, rng: np.random.Generator, t: int = 0) -> Workers:
    """Platform workers (delivery riders, ride-hailing drivers, gig builders) of the block's areas, `t` years
    after 2026 (`DRIFT`)."""
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
        rng, n, age=agef, migrant=migrant, education=education, state=zeros, log_size=zeros, platform=True, t=t
    )
    # riders earn more per month than factory hands but work longer (industry surveys: 6–7 thousand yuan)
    form = np.full(n, 3, dtype=np.int8)
    wage = _wages(rng, np.full(n, 1.25, dtype=np.float32), attrs["skill"], education, agef, male, form, t)
    hours = np.clip(40 + np.round(np.maximum(15 + DRIFT["hours"] * t + 9 * _z(rng, n), 0)), 20, 84).astype(np.int16)
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
        p_train=_shift(0.35 * p, DRIFT["trained"] * t),
        union_p=0.18 * p,
        soc_p=_shift(0.25 * p, DRIFT["injury_insurance"] * t),
        arrears_p=_shift(0.02 * p, DRIFT["arrears"] * t),
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
    t: int = 0,
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
    if t:
        p_title = p_title * np.float32(max(1 + DRIFT["craftsmen"] * t, 0.0))
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
    p_none = sigmoid(-2.6 + 1.3 * is_building - 0.6 * quality - 1.5 * state - 0.3 * (log_size - 1.5))
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
    t: int = 0,
) -> np.ndarray:
    """Monthly wage in yuan, a multiple of 10: log-normal, rising with skill, education and experience."""
    x = age - 18
    log_w = (
        np.log(_WAGE_BASE * factor)
        + np.float32(DRIFT["wage"] * t)
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
    continuing = _u(rng, n) < sigmoid(-3.0 + 0.6 * _f(education >= 3) - 0.05 * (agef - 30))
    union = _u(rng, n) < union_p
    party = _u(rng, n) < sigmoid(
        -3.7 + 0.6 * _f(education >= 4) + 1.4 * state + 0.02 * (agef - 30) + 0.5 * _f(graded & (skill >= 4))
    )
    innovation = _u(rng, n) < sigmoid(-2.6 + 0.5 * state + 0.4 * _f(graded & (skill >= 3)) + 0.3 * _f(education >= 3))
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
