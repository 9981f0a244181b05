"""The generator's order of work: population → design → workers (truth, totals, sample) → tables → defects →
files → ground truth. `generate()` (re-exported by `wfm.generate`) is the one entry point.

Every random draw comes from a stream keyed by the seed, the period and the step's name
(`SeedSequence(seed, spawn_key=…)`), so the output is identical for the same seed, whatever the machine, and
changing one step does not reshuffle the others.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from wfm.generate import defects, layout, population, sample, survey, truth, writers
from wfm.generate.returns import WorkerTotals, build_returns, slipped_versions

FORMATS = ("csv", "xlsx", "parquet")
LAST_PERIOD = 2026


@dataclass(frozen=True)
class Scale:
    enterprises: int
    survey_rows: int  # rows of the survey per wave, duplicates included
    take_per_psu: int  # workers drawn in an enterprise PSU (all of them if it has fewer)
    platform_rows_share: float  # share of the survey drawn from the platform strata
    platform_workers_share: float  # platform workers relative to enterprise workers in the population
    size_cap: int  # the largest enterprise
    block_workers: int  # workers generated at once
    survey_defect_rate: float
    enterprise_defect_rate: float
    duplicate_rate: float  # share of rows that are exact duplicates (survey: plus as many reused numbers)
    resubmission_rate: float


SCALES: dict[str, Scale] = {
    "demo": Scale(enterprises=3000, survey_rows=8000, take_per_psu=12, platform_rows_share=0.08,
                  platform_workers_share=0.09, size_cap=9000, block_workers=400_000, survey_defect_rate=0.008,
                  enterprise_defect_rate=0.015, duplicate_rate=0.001, resubmission_rate=0.02),
    "national": Scale(enterprises=500_000, survey_rows=1_000_000, take_per_psu=20, platform_rows_share=0.08,
                      platform_workers_share=0.09, size_cap=100_000, block_workers=1_000_000,
                      survey_defect_rate=0.008, enterprise_defect_rate=0.01, duplicate_rate=0.0005,
                      resubmission_rate=0.01),
}


class Streams:
    """Independent random streams named by (period, step[, index])."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def seq(self, period: int, step: str, index: int = 0) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed, spawn_key=(period, zlib.crc32(step.encode()), index))

    def rng(self, period: int, step: str, index: int = 0) -> np.random.Generator:
        return np.random.default_rng(self.seq(period, step, index))


def generate(out_dir: Path, scale: str = "demo", seed: int = 20261124, periods: int = 1,
             formats: tuple[str, ...] = FORMATS, progress: bool = False) -> dict:
    """Write a synthetic data set under `out_dir` and return its manifest (also written as manifest.json).

    `out_dir/survey/*`, `out_dir/enterprise/*`: the input files; `out_dir/refused/{survey,enterprise}/*`: files
    that must be refused whole; `out_dir/ground_truth.json`; `out_dir/defects.json`. `periods` annual periods
    ending 2026. Reference date for ages and ID numbers: 30 June of the period's year.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, not {scale!r}")
    formats = tuple(dict.fromkeys(f.strip().lower() for f in formats))
    if not formats or any(f not in FORMATS for f in formats):
        raise ValueError(f"formats must be among {FORMATS}, not {formats!r}")
    if periods < 1:
        raise ValueError("periods must be at least 1")
    cfg = SCALES[scale]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    streams = Streams(seed)
    years = list(range(LAST_PERIOD - periods + 1, LAST_PERIOD + 1))

    ent = population.make_enterprises(cfg.enterprises, streams.rng(0, "enterprises"), cfg.size_cap)
    files: dict[str, dict] = {}
    defect_files: dict[str, dict] = {}
    resubmissions: list[dict] = []
    gt: dict[str, dict] = {"W": {}, "E": {}}
    workers: dict[str, dict[str, int]] = {}
    bar = tqdm(total=len(years) * 4, desc=f"wfm generate {scale}", unit="step", disable=not progress)
    for year in years:
        period = str(year)
        sizes = population.period_sizes(ent["base_size"].to_numpy(), year, streams.rng(year, "sizes"),
                                         cfg.size_cap)
        survey_df, w_truth, totals = _survey_and_population(ent, sizes, cfg, streams, year, bar)
        gt["W"].update(_defined(w_truth.values(period)))
        everyone = int(w_truth.cells[:, 0].sum())
        workers[period] = {"total": everyone, "enterprise": int(sizes.sum()), "platform": everyone - int(sizes.sum())}
        returns_df = build_returns(ent, sizes, totals, year, streams.rng(year, "returns"))
        bar.update()

        survey_sheets = _survey_sheets(survey_df, cfg, scale, period, formats, streams.rng(year, "survey-defects"))
        enterprise_sheets, resub = _enterprise_sheets(returns_df, cfg, scale, period, formats,
                                                      streams.rng(year, "enterprise-defects"))
        resubmissions.extend(resub)
        for sheets in (survey_sheets, enterprise_sheets):
            for i, sheet in enumerate(sheets):
                sheet.data = sheet.data.drop(columns="_protected")
                files[sheet.path] = writers.write(sheet, out_dir, streams.rng(year, "write:" + sheet.path, i))
                defect_files[sheet.path] = {
                    "source": sheet.source, "rows_total": len(sheet.data),
                    "rows": {str(r + 1): sheet.reasons[r] for r in sorted(sheet.reasons)},
                }
        bar.update()
        accepted = pd.concat([s.data.drop(index=list(s.reasons)) for s in enterprise_sheets], ignore_index=True)
        gt["E"].update(_defined(truth.enterprise_truth(truth.current_returns(accepted), period)))
        if year == years[-1]:
            for source, df in (("survey", survey_df), ("enterprise", returns_df)):
                small = layout.Sheet(source, "", layout.FileStyle("csv"), df.head(40).reset_index(drop=True))
                for path, entry in writers.write_refused(small, out_dir, period, streams.rng(year, "refused"),
                                                         formats).items():
                    defect_files[path] = entry
                    files[path] = {"source": source, "format": path.rsplit(".", 1)[1], "refused": entry["refused"]}
        bar.update()
    bar.close()

    (out_dir / "ground_truth.json").write_text(_dumps(gt), encoding="utf-8")
    (out_dir / "defects.json").write_text(_dumps({"files": defect_files, "resubmissions": resubmissions}),
                                          encoding="utf-8")
    manifest = {
        "scale": scale, "seed": seed, "periods": [str(y) for y in years], "formats": list(formats),
        "reference_dates": {str(y): f"{y}-06-30" for y in years},
        # the survey's population (the scope): Σ design_weight of a wave estimates workers[period]["total"]
        "population": {"enterprises": int(len(ent)), "workers": workers},
        "rows": {src: sum(f["rows"] for f in files.values() if f["source"] == src and "rows" in f)
                 for src in ("survey", "enterprise")},
        "files": files,
        "ground_truth": {"W": len(gt["W"]), "E": len(gt["E"])},
    }
    (out_dir / "manifest.json").write_text(_dumps(manifest), encoding="utf-8")
    return manifest


def _defined(cells: truth.Truth) -> dict[str, float]:
    """Cells whose denominator is zero are undefined: not published, so not in the truth either."""
    return {k: v for k, v in cells.items() if v is not None}


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def _survey_and_population(ent: pd.DataFrame, sizes: np.ndarray, cfg: Scale, streams: Streams, year: int,
                           bar: tqdm) -> tuple[pd.DataFrame, truth.SurveyTruth, WorkerTotals]:
    """Draw the design, then generate every worker once: fold it into the truth and the enterprise totals, and
    keep the drawn ones."""
    frame = population.make_platform_frame(int(round(cfg.platform_workers_share * sizes.sum())),
                                           streams.rng(year, "platform-frame"), min_size=max(cfg.take_per_psu * 4, 40))
    ent_stratum = ent["prov"].to_numpy().astype(np.int64) * 4 + ent["sec"].to_numpy()
    target_e = int(round(cfg.survey_rows * (1 - cfg.platform_rows_share)))
    sel_e = sample.design_enterprises(ent_stratum, sizes, target_e, cfg.take_per_psu, streams.rng(year, "design"))
    target_p = cfg.survey_rows - int(sel_e.take.sum()) - _survey_duplicates(cfg)  # copies are extra rows
    sel_p = sample.design_areas(frame.prov, frame.size, target_p, streams.rng(year, "design-platform"))

    w_truth = truth.SurveyTruth()
    totals = WorkerTotals(len(ent))
    drawn: list[dict[str, np.ndarray]] = []
    weights: list[np.ndarray] = []
    ent_blocks = population.blocks(sizes, False, cfg.block_workers)
    plat_blocks = population.blocks(frame.size, True, cfg.block_workers)
    selections = {False: (sel_e, *sel_e.positions()), True: (sel_p, *sel_p.positions())}
    chunks = population.worker_chunks(ent_blocks, plat_blocks, ent, frame,
                                      lambda kind, i: streams.seq(year, kind, i))
    for block, workers in _progress(chunks, len(ent_blocks) + len(plat_blocks), bar):
        w_truth.add(workers)
        if not block.platform:
            totals.add(workers)
        sel, unit, pos = selections[block.platform]
        lo, hi = np.searchsorted(unit, [block.first, block.first + block.sizes.size])
        start_of = np.cumsum(block.sizes) - block.sizes
        rows = start_of[unit[lo:hi] - block.first] + pos[lo:hi]
        drawn.append({k: v[rows] for k, v in workers.items()})
        weights.append(np.repeat(sel.weight, sel.take)[lo:hi])
    bar.update()
    w = {k: np.concatenate([d[k] for d in drawn]) for k in drawn[0]}
    weight = np.concatenate(weights)
    survey_df = survey.build_survey(w, weight, str(year), ent, frame, streams.rng(year, "survey"))
    # file order: province, then stratum, PSU and position (platform strata sit with their province)
    order = np.lexsort((w["pos"], survey_df["psu"].to_numpy(), survey_df["stratum"].to_numpy(),
                        survey_df["region_code"].str[:2].to_numpy()))
    survey_df = survey_df.iloc[order].reset_index(drop=True)
    survey_df["respondent_id"] = np.char.add(f"R{year}-", np.char.zfill(
        np.arange(1, len(survey_df) + 1).astype(str), 7)).astype(object)
    return survey_df, w_truth, totals


def _progress(chunks: Iterator, total: int, bar: tqdm) -> Iterator:
    if bar.disable:
        yield from chunks
        return
    with tqdm(total=total, desc="  workers", unit="block", leave=False) as inner:
        for item in chunks:
            yield item
            inner.update()


def _split(df: pd.DataFrame, source: str, scale: str, period: str,
           formats: tuple[str, ...]) -> list[layout.Sheet]:
    planned = layout.plan(source, period, scale, formats)
    parts = layout.split_rows(len(df), [s for _, s in planned])
    return [layout.Sheet(source, path, style, df.iloc[rows].reset_index(drop=True).assign(_protected=False))
            for (path, style), rows in zip(planned, parts, strict=True)]


def _survey_duplicates(cfg: Scale) -> int:
    """Exact duplicate rows of a wave (as many respondent numbers are reused on other rows besides)."""
    return max(2, int(round(cfg.duplicate_rate * cfg.survey_rows)))


def _survey_sheets(df: pd.DataFrame, cfg: Scale, scale: str, period: str, formats: tuple[str, ...],
                   rng: np.random.Generator) -> list[layout.Sheet]:
    sheets = _split(df, "survey", scale, period, formats)
    n_dup = _survey_duplicates(cfg)
    defects.insert_copies(sheets, n_dup, "respondent_id_duplicate", rng)
    defects.reuse_ids(sheets, n_dup, rng)
    n_defects = int(round(cfg.survey_defect_rate * cfg.survey_rows)) - 2 * n_dup
    defects.inject(sheets, defects.SURVEY_KINDS, n_defects, rng, int(period[:4]))
    return sheets


def _enterprise_sheets(df: pd.DataFrame, cfg: Scale, scale: str, period: str, formats: tuple[str, ...],
                       rng: np.random.Generator) -> tuple[list[layout.Sheet], list[dict]]:
    """Returns in files by province; resubmissions (the first version where the enterprise's rows are, the
    correction after it in the same file or in the last file); exact duplicates; defects."""
    df = df.assign(_order=df["region_code"].str[:2]).sort_values(["_order", "uscc"], kind="stable")
    df = df.drop(columns="_order").reset_index(drop=True)
    n = len(df)
    resub = np.sort(rng.choice(n, max(2, int(round(cfg.resubmission_rate * n))), replace=False))
    first = slipped_versions(df.iloc[resub].reset_index(drop=True), rng)
    # the first version takes the enterprise's place; the correction is appended below
    corrected = df.iloc[resub].reset_index(drop=True)
    for column in df.columns:
        values = df[column].to_numpy().copy()
        values[resub] = first[column].to_numpy()
        df[column] = values
    sheets = _split(df, "enterprise", scale, period, formats)
    bounds = np.cumsum([0, *[len(s.data) for s in sheets]])
    where = np.searchsorted(bounds, resub, side="right") - 1
    to_last = rng.random(resub.size) < 0.5
    records: list[dict] = []
    for k in range(resub.size):
        home = int(where[k])
        dst = len(sheets) - 1 if to_last[k] else home
        row_first = int(resub[k] - bounds[home])
        sheets[home].data.loc[row_first, "_protected"] = True
        sheets[dst].data = pd.concat([sheets[dst].data, corrected.iloc[[k]].assign(_protected=True)],
                                     ignore_index=True)
        records.append({"uscc": corrected.loc[k, "uscc"], "period": period,
                        "first": {"file": sheets[home].path, "row": row_first + 1},
                        "current": {"file": sheets[dst].path, "row": len(sheets[dst].data)}})
    n_dup = max(2, int(round(cfg.duplicate_rate * n)))
    defects.insert_copies(sheets, n_dup, "uscc_duplicate", rng)
    _renumber(records, sheets)
    n_defects = int(round(cfg.enterprise_defect_rate * n)) - n_dup
    defects.inject(sheets, defects.ENTERPRISE_KINDS, n_defects, rng, int(period[:4]))
    return sheets, records


def _renumber(records: list[dict], sheets: list[layout.Sheet]) -> None:
    """Duplicate rows were inserted after the resubmissions were placed: find their rows again by content."""
    by_path = {s.path: s for s in sheets}
    for rec in records:
        for which in ("first", "current"):
            df = by_path[rec[which]["file"]].data
            hits = np.flatnonzero((df["uscc"].to_numpy() == rec["uscc"]) & df["_protected"].to_numpy())
            stamps = df["submitted_at"].to_numpy()[hits]
            pick = hits[np.argmin(stamps)] if which == "first" else hits[np.argmax(stamps)]
            rec[which]["row"] = int(pick) + 1


__all__ = ["FORMATS", "SCALES", "generate"]
