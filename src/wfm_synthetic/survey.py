"""Source W: the survey rows of the workers the design drew, as the questionnaire records them.

Fourth room of the generator: it takes the drawn workers (`sample.py` decides who, `workers.py` made them)
and adds what only a respondent's row has: the wave, a respondent number, the GB 11643 ID number (its birth
date agrees with the age on the reference date, 30 June of the wave's year; its sequence is odd for men; its
region is the hukou's province, which for inter-provincial migrants is not where they work), the stratum and PSU
codes, the design weight, the workplace region, the employer's USCC and industry code, and an occupation code.

Codes written here, which ingestion and dbt rely on:

- `stratum`: `PP-S` (province, section letter of the employer, e.g. `44-C`) or `PLAT-PP` for platform workers;
- `psu`: the employer's USCC, or `A` + the area's 6-digit code in a platform stratum (unique within a stratum);
- `respondent_id`: `R<wave>-<7 digits>`, unique within the wave.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wfm_synthetic import codes
from wfm_synthetic.frames import PlatformFrame, text
from wfm_synthetic.returns import reported_industry_code
from wfm_synthetic.workers import NONE_SKILL, Workers


def reference_year_of(wave: str) -> int:
    """Age and ID birth date agree on 30 June of the wave's year (annual waves `YYYY`, quarterly `YYYYQn`)."""
    return int(wave[:4])


def _origin_provinces(work_prov: np.ndarray, migrant: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Hukou province: mostly where one works; 45 % of migrants come from the big sending provinces."""
    n = work_prov.size
    origins = np.array([codes.PROVINCE_CODES.index(p) for p in codes.MIGRANT_ORIGIN_WEIGHT])
    weights = np.array(list(codes.MIGRANT_ORIGIN_WEIGHT.values()), dtype=float)
    cum = np.cumsum(weights / weights.sum())
    sent = origins[np.minimum(np.searchsorted(cum, rng.random(n), side="right"), origins.size - 1)]
    anywhere = rng.integers(0, len(codes.PROVINCE_CODES), n)
    u = rng.random(n)
    return np.where(migrant, np.where(u < 0.45, sent, work_prov), np.where(u < 0.08, anywhere, work_prov))


def _occupations(
    sec: np.ndarray, platform: np.ndarray, education: np.ndarray, skill: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Occupation codes: production occupations of the employer's section, engineers among graduates, some
    clerks and managers, the platform occupations for platform workers; 10 % given only as a prefix."""
    n = sec.size
    out = np.empty(n, dtype=object)
    for si, s in enumerate(codes.SECTIONS):
        mask = sec == si
        pool = np.array(codes.PRODUCTION_OCCUPATIONS[s])
        out[mask] = pool[rng.integers(0, pool.size, int(mask.sum()))]
    tech = (education >= 4) & (rng.random(n) < 0.45) & ~platform
    clerk = ~tech & (rng.random(n) < 0.05) & ~platform & (skill == NONE_SKILL)
    out[tech] = np.array(codes.TECHNICAL_OCCUPATIONS)[
        rng.integers(0, len(codes.TECHNICAL_OCCUPATIONS), int(tech.sum()))
    ]
    out[clerk] = np.array(codes.CLERICAL_OCCUPATIONS)[
        rng.integers(0, len(codes.CLERICAL_OCCUPATIONS), int(clerk.sum()))
    ]
    out[platform] = np.array(codes.PLATFORM_OCCUPATIONS)[
        rng.integers(0, len(codes.PLATFORM_OCCUPATIONS), int(platform.sum()))
    ]
    short = rng.random(n) < 0.10
    if short.any():  # `6-18-01-01` given as `6-18` or `6-18-01` (numpy truncates to the shorter width)
        text = out[short].astype(str)
        keep4 = rng.random(text.size) < 0.5
        out[short] = np.where(keep4, text.astype("U4"), text.astype("U7")).astype(object)
    return out


def build_survey(
    w: Workers, weight: np.ndarray, wave: str, ent: pd.DataFrame, frame: PlatformFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """The survey table of the drawn workers `w` (one row each, in stratum and PSU order)."""
    n = w["age"].size
    year = reference_year_of(wave)
    platform = w["platform"]
    unit = w["unit"]
    ent_unit = np.where(platform, 0, unit)
    prov_codes = np.array(codes.PROVINCE_CODES)
    prov = w["prov"].astype(np.int64)

    sec_letter = np.array(["B", "C", "D", "E"])[np.minimum(w["sec"], 3)]
    stratum = np.where(
        platform, np.char.add("PLAT-", prov_codes[prov]), np.char.add(np.char.add(prov_codes[prov], "-"), sec_letter)
    )
    uscc = ent["uscc"].to_numpy()[ent_unit]
    area = frame.region_code[np.where(platform, unit, 0)]
    psu = np.where(platform, np.char.add("A", area), uscc)
    region = np.where(platform, area, ent["region_code"].to_numpy()[ent_unit])

    # industry code: the employer's class as the respondent writes it; platform workers mostly leave it empty,
    # gig builders write a construction class
    industry = reported_industry_code(ent["industry_class"].to_numpy()[ent_unit].astype(str), sec_letter, rng)
    gig_classes = np.array(["5012", "4999", "5090", "E5012"])
    gig = platform & (w["sec"] == 3)
    industry[platform] = ""
    industry[gig] = gig_classes[rng.integers(0, gig_classes.size, int(gig.sum()))]

    origin = _origin_provinces(prov, w["hukou"] == 1, rng)
    id_region = np.char.add(
        prov_codes[origin], np.char.zfill((rng.integers(1, 10, n) * 100 + rng.integers(1, 13, n)).astype(str), 4)
    )
    id_number = codes.make_id_numbers(id_region, w["age"].astype(np.int64), w["male"], year, rng)

    return pd.DataFrame(
        {
            "survey_wave": text(wave, n),
            "respondent_id": text(np.char.add(f"R{wave}-", np.char.zfill(np.arange(1, n + 1).astype(str), 7))),
            "id_number": text(id_number),
            "stratum": text(stratum),
            "psu": text(psu),
            "design_weight": np.round(weight, 4),
            "region_code": text(region),
            "employer_uscc": text(np.where(platform, "", uscc)),
            "industry_code": text(industry),
            "occupation_code": text(_occupations(w["sec"], platform, w["education"], w["skill"], rng)),
            "sex": np.where(w["male"], 1, 2).astype(np.int64),
            "age": w["age"].astype(np.int64),
            "hukou_type": w["hukou"].astype(np.int64),
            "education": w["education"].astype(np.int64),
            "skill_level": w["skill"].astype(np.int64),  # 0..7 = L0..L7, 8 = none (written empty)
            "craftsman_title": w["title"].astype(np.int64),  # 0 none, 1 市级, 2 省级, 3 国家级
            "employment_form": w["form"].astype(np.int64),
            "contract_type": w["contract"].astype(np.int64),
            "monthly_wage": w["wage"].astype(np.int64),
            "weekly_hours": w["hours"].astype(np.int64),
            "overtime_hours_month": w["overtime"].astype(np.int64),
            "trained_12m": w["trained"].astype(np.int8),
            "training_hours_12m": w["training_hours"].astype(np.int64),
            "continuing_education": w["continuing"].astype(np.int8),
            "certificate": w["certificate"].astype(np.int8),
            "union_member": w["union"].astype(np.int8),
            "party_member": w["party"].astype(np.int8),
            "social_insurance_injury": w["injury_insurance"].astype(np.int8),
            "occupational_injury_protection": w["oip"].astype(np.int8),  # −1: not asked (not a platform worker)
            "competition_12m": w["competition"].astype(np.int8),
            "innovation_12m": w["innovation"].astype(np.int8),
            "wage_arrears_12m": w["arrears"].astype(np.int8),
            "sense_achievement": w["sense_achievement"].astype(np.int64),
            "sense_gain": w["sense_gain"].astype(np.int64),
            "sense_happiness": w["sense_happiness"].astype(np.int64),
        }
    )
