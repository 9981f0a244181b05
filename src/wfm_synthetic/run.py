"""The generator's order of work: population → design → workers (truth, totals, sample) → tables → defects →
files → ground truth. `generate()` (re-exported by `wfm_synthetic`) is the one entry point.

Every random draw comes from a stream keyed by the seed, the period and the step's name
(`SeedSequence(seed, spawn_key=…)`), so the output is identical for the same seed, whatever the machine, and
changing one step does not reshuffle the others.
"""

from __future__ import annotations

import json
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from wfm_synthetic import defects, frames, layout, returns, sample, survey, truth, writers
from wfm_synthetic.returns import WorkerTotals, build_returns, slipped_versions
from wfm_synthetic.workers import DRIFT, Block, blocks, enterprise_workers, platform_workers

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
    "demo": Scale(
        enterprises=3000,
        survey_rows=8000,
        take_per_psu=12,
        platform_rows_share=0.08,
        platform_workers_share=0.09,
        size_cap=9000,
        block_workers=400_000,
        survey_defect_rate=0.008,
        enterprise_defect_rate=0.015,
        duplicate_rate=0.001,
        resubmission_rate=0.02,
    ),
    "national": Scale(
        enterprises=500_000,
        survey_rows=1_000_000,
        take_per_psu=20,
        platform_rows_share=0.08,
        platform_workers_share=0.09,
        size_cap=100_000,
        block_workers=1_000_000,
        survey_defect_rate=0.008,
        enterprise_defect_rate=0.01,
        duplicate_rate=0.0005,
        resubmission_rate=0.01,
    ),
}


class Streams:
    """Independent random streams named by (period, step[, index])."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def seq(self, period: int, step: str, index: int = 0) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed, spawn_key=(period, zlib.crc32(step.encode()), index))

    def rng(self, period: int, step: str, index: int = 0) -> np.random.Generator:
        return np.random.default_rng(self.seq(period, step, index))


def generate(
    out_dir: Path,
    scale: str = "demo",
    seed: int = 20261124,
    periods: int = 1,
    formats: tuple[str, ...] = FORMATS,
    progress: bool = False,
    quarterly: bool = False,
) -> dict:
    """Write a synthetic data set under `out_dir` and return its manifest (also written as manifest.json).

    `out_dir/survey/*`, `out_dir/enterprise/*`: the input files; `out_dir/refused/{survey,enterprise}/*`: files
    that must be refused whole; `out_dir/ground_truth.json`; `out_dir/defects.json`. `periods` annual survey
    waves ending 2026, each drawn independently of the others from that year's population (which moves as
    `workers.DRIFT` says); enterprise returns for the same years, annual or (`quarterly`) four quarters a year.
    Reference date for ages and ID numbers: 30 June of the period's year. The ground truth holds every cell
    (`W`, `E`) and the true change of every cell from its previous comparable period (`changes`).
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

    ent = frames.make_enterprises(cfg.enterprises, streams.rng(0, "enterprises"), cfg.size_cap)
    files: dict[str, dict] = {}
    defect_files: dict[str, dict] = {}
    resubmissions: list[dict] = []
    gt: dict[str, dict] = {"W": {}, "E": {}}
    workers: dict[str, dict[str, int]] = {}
    e_periods: list[str] = []
    bar = tqdm(total=len(years) * 4, desc=f"wfm generate {scale}", unit="step", disable=not progress)
    for year in years:
        period = str(year)
        sizes = frames.period_sizes(ent["base_size"].to_numpy(), year, streams.rng(year, "sizes"), cfg.size_cap)
        survey_df, w_truth, totals = _survey_and_population(ent, sizes, cfg, streams, year, bar)
        gt["W"].update(_defined(w_truth.values(period)))
        everyone = int(w_truth.cells[:, 0].sum())
        workers[period] = {"total": everyone, "enterprise": int(sizes.sum()), "platform": everyone - int(sizes.sum())}
        bar.update()

        survey_sheets = _survey_sheets(survey_df, cfg, scale, period, formats, streams.rng(year, "survey-defects"))
        sheets_of_year = [survey_sheets]
        for quarter in (None,) if not quarterly else (1, 2, 3, 4):
            e_period = period if quarter is None else f"{period}Q{quarter}"
            step = "" if quarter is None else f"-Q{quarter}"  # annual returns keep the streams they always had
            returns_df = build_returns(ent, sizes, totals, year, streams.rng(year, "returns" + step), quarter)
            enterprise_sheets, resub = _enterprise_sheets(
                returns_df, cfg, scale, e_period, formats, streams.rng(year, "enterprise-defects" + step)
            )
            resubmissions.extend(resub)
            sheets_of_year.append(enterprise_sheets)
            accepted = pd.concat([s.data.drop(index=list(s.reasons)) for s in enterprise_sheets], ignore_index=True)
            gt["E"].update(_defined(truth.enterprise_truth(truth.current_returns(accepted), e_period)))
            e_periods.append(e_period)
        for sheets in sheets_of_year:
            for i, sheet in enumerate(sheets):
                sheet.data = sheet.data.drop(columns=["_protected", "_key"])
                files[sheet.path] = writers.write(sheet, out_dir, streams.rng(year, "write:" + sheet.path, i))
                defect_files[sheet.path] = {
                    "source": sheet.source,
                    "rows_total": len(sheet.data),
                    "rows": {str(r + 1): sheet.reasons[r] for r in sorted(sheet.reasons)},
                }
        bar.update()
        if year == years[-1]:
            for source, df in (("survey", survey_df), ("enterprise", returns_df)):
                small = layout.Sheet(source, "", layout.FileStyle("csv"), df.head(40).reset_index(drop=True))
                for path, entry in writers.write_refused(
                    small, out_dir, period, streams.rng(year, "refused"), formats
                ).items():
                    defect_files[path] = entry
                    files[path] = {"source": source, "format": path.rsplit(".", 1)[1], "refused": entry["refused"]}
        bar.update()
    bar.close()
    gt["changes"] = {source: truth.changes(cells) for source, cells in gt.items()}
    gt["drift"] = dict(DRIFT)

    (out_dir / "ground_truth.json").write_text(_dumps(gt), encoding="utf-8")
    (out_dir / "defects.json").write_text(
        _dumps({"files": defect_files, "resubmissions": resubmissions}), encoding="utf-8"
    )
    manifest = {
        "scale": scale,
        "seed": seed,
        "periods": [str(y) for y in years],
        "enterprise_periods": e_periods,
        "formats": list(formats),
        "reference_dates": {str(y): f"{y}-06-30" for y in years},
        # the survey's population (the scope): Σ design_weight of a wave estimates workers[period]["total"]
        "population": {"enterprises": int(len(ent)), "workers": workers},
        "rows": {
            src: sum(f["rows"] for f in files.values() if f["source"] == src and "rows" in f)
            for src in ("survey", "enterprise")
        },
        "files": files,
        "ground_truth": {
            "W": len(gt["W"]),
            "E": len(gt["E"]),
            "changes": {k: len(v) for k, v in gt["changes"].items()},
        },
    }
    (out_dir / "manifest.json").write_text(_dumps(manifest), encoding="utf-8")
    return manifest


def _defined(cells: truth.Truth) -> dict[str, float]:
    """Cells whose denominator is zero are undefined: not published, so not in the truth either."""
    return {k: v for k, v in cells.items() if v is not None}


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def _survey_and_population(
    ent: pd.DataFrame, sizes: np.ndarray, cfg: Scale, streams: Streams, year: int, bar: tqdm
) -> tuple[pd.DataFrame, truth.SurveyTruth, WorkerTotals]:
    """Draw the design, then generate every worker once: fold it into the truth and the enterprise totals, and
    keep the drawn ones. Blocks are generated on two threads (numpy releases the GIL in its loops), each from
    its own stream, and merged in block order, so the result does not depend on the threads."""
    frame = frames.make_platform_frame(
        int(round(cfg.platform_workers_share * sizes.sum())),
        streams.rng(year, "platform-frame"),
        min_size=max(cfg.take_per_psu * 4, 40),
    )
    ent_stratum = ent["prov"].to_numpy().astype(np.int64) * 4 + ent["sec"].to_numpy()
    target_e = int(round(cfg.survey_rows * (1 - cfg.platform_rows_share)))
    sel_e = sample.design_enterprises(ent_stratum, sizes, target_e, cfg.take_per_psu, streams.rng(year, "design"))
    target_p = cfg.survey_rows - int(sel_e.take.sum()) - _survey_duplicates(cfg)  # copies are extra rows
    sel_p = sample.design_areas(frame.prov, frame.size, target_p, streams.rng(year, "design-platform"))
    drawn_at = {
        False: (*sel_e.positions(), np.repeat(sel_e.weight, sel_e.take)),
        True: (*sel_p.positions(), np.repeat(sel_p.weight, sel_p.take)),
    }

    def work(job: tuple[str, int, Block]) -> tuple:
        kind, i, block = job
        rng = streams.rng(year, kind, i)
        t = year - LAST_PERIOD
        workers = platform_workers(block, frame, rng, t) if block.platform else enterprise_workers(block, ent, rng, t)
        unit, pos, weight = drawn_at[block.platform]
        lo, hi = np.searchsorted(unit, [block.first, block.first + block.sizes.size])
        rows = (np.cumsum(block.sizes) - block.sizes)[unit[lo:hi] - block.first] + pos[lo:hi]
        drawn = {k: v[rows] for k, v in workers.items()}
        totals = None if block.platform else returns.fold(workers)
        return truth.fold(workers), totals, drawn, weight[lo:hi]

    jobs = [("enterprise-workers", i, b) for i, b in enumerate(blocks(sizes, False, cfg.block_workers))]
    jobs += [("platform-workers", i, b) for i, b in enumerate(blocks(frame.size, True, cfg.block_workers))]
    w_truth = truth.SurveyTruth()
    totals = WorkerTotals(len(ent))
    drawn: list[dict[str, np.ndarray]] = []
    weights: list[np.ndarray] = []
    with tqdm(total=len(jobs), desc="  workers", unit="block", leave=False, disable=bar.disable) as inner:
        for folded, block_totals, rows, weight in _ordered_map(work, jobs, threads=2):
            w_truth.add(folded)
            if block_totals is not None:
                totals.add(block_totals)
            drawn.append(rows)
            weights.append(weight)
            inner.update()
    bar.update()
    w = {k: np.concatenate([d[k] for d in drawn]) for k in drawn[0]}
    survey_df = survey.build_survey(w, np.concatenate(weights), str(year), ent, frame, streams.rng(year, "survey"))
    # file order: province, stratum (sections, then the platform stratum), PSU, position in the PSU
    order = np.lexsort((w["pos"], w["unit"], np.where(w["platform"], 9, w["sec"]), w["prov"]))
    survey_df = survey_df.iloc[order].reset_index(drop=True)
    survey_df["respondent_id"] = frames.text(
        np.char.add(f"R{year}-", np.char.zfill(np.arange(1, len(survey_df) + 1).astype(str), 7))
    )
    return survey_df, w_truth, totals


def _ordered_map(fn: Callable, items: list, threads: int) -> Iterator:
    """fn over items on a few threads, results in item order, at most `threads + 1` results held at once."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) > threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _split(df: pd.DataFrame, source: str, scale: str, period: str, formats: tuple[str, ...]) -> list[layout.Sheet]:
    """Rows into the planned files; `_protected` marks rows defects must not touch, `_key` follows a row
    through insertions (copies get −1)."""
    planned = layout.plan(source, period, scale, formats)
    parts = layout.split_rows(len(df), [s for _, s in planned])
    df = df.assign(_protected=False, _key=np.arange(len(df), dtype=np.int64))
    return [
        layout.Sheet(source, path, style, df.iloc[rows].reset_index(drop=True))
        for (path, style), rows in zip(planned, parts, strict=True)
    ]


def _survey_duplicates(cfg: Scale) -> int:
    """Exact duplicate rows of a wave (as many respondent numbers are reused on other rows besides)."""
    return max(2, int(round(cfg.duplicate_rate * cfg.survey_rows)))


def _survey_sheets(
    df: pd.DataFrame, cfg: Scale, scale: str, period: str, formats: tuple[str, ...], rng: np.random.Generator
) -> list[layout.Sheet]:
    # a defect quarantines its row: keep defects off PSUs with fewer than three respondents, so that no stratum
    # is left with a single PSU among the rows the pipeline accepts
    psu_rows = df.groupby(["stratum", "psu"], sort=False)["psu"].transform("size").to_numpy()
    sheets = _split(df.assign(_small_psu=psu_rows < 3), "survey", scale, period, formats)
    for sheet in sheets:
        sheet.data["_protected"] = sheet.data.pop("_small_psu")
    n_dup = _survey_duplicates(cfg)
    defects.insert_copies(sheets, n_dup, "respondent_id_duplicate", rng)
    defects.reuse_ids(sheets, n_dup, rng)
    n_defects = int(round(cfg.survey_defect_rate * cfg.survey_rows)) - 2 * n_dup
    defects.inject(sheets, defects.SURVEY_KINDS, n_defects, rng, int(period[:4]))
    return sheets


def _enterprise_sheets(
    df: pd.DataFrame, cfg: Scale, scale: str, period: str, formats: tuple[str, ...], rng: np.random.Generator
) -> tuple[list[layout.Sheet], list[dict]]:
    """Returns in files by province; resubmissions (the first version where the enterprise's row is, the
    correction appended to the same file or to the last file); exact duplicates; defects."""
    df = df.assign(_order=df["region_code"].str[:2]).sort_values(["_order", "uscc"], kind="stable")
    df = df.drop(columns="_order").reset_index(drop=True)
    n = len(df)
    resub = np.sort(rng.choice(n, max(2, int(round(cfg.resubmission_rate * n))), replace=False))
    corrected = df.iloc[resub].reset_index(drop=True)
    first = slipped_versions(corrected, rng)
    for column in df.columns:  # the first version takes the enterprise's place in its file
        values = df[column].to_numpy().copy()
        values[resub] = first[column].to_numpy()
        df[column] = pd.Series(values, index=df.index, dtype=values.dtype)  # text stays plain objects
    sheets = _split(df, "enterprise", scale, period, formats)
    bounds = np.cumsum([0, *[len(s.data) for s in sheets]])
    home = np.searchsorted(bounds, resub, side="right") - 1
    dst = np.where(rng.random(resub.size) < 0.5, len(sheets) - 1, home)
    first_key = resub  # `_key` is the row's position in df before the split
    current_key = n + np.arange(resub.size)
    for i, sheet in enumerate(sheets):
        mine = home == i
        sheet.data.loc[resub[mine] - bounds[i], "_protected"] = True
        if (dst == i).any():
            extra = corrected[dst == i].assign(_protected=True, _key=current_key[dst == i])
            sheet.data = pd.concat([sheet.data, extra], ignore_index=True)
    n_dup = max(2, int(round(cfg.duplicate_rate * n)))
    defects.insert_copies(sheets, n_dup, "uscc_duplicate", rng)
    # where each version ended up, once the duplicate rows are in
    where: dict[int, tuple[str, int]] = {}
    for sheet in sheets:
        keys = sheet.data["_key"].to_numpy()
        for row in np.flatnonzero(np.isin(keys, first_key) | (keys >= n)).tolist():
            where[int(keys[row])] = (sheet.path, row + 1)
    records = [
        {
            "uscc": str(corrected.loc[k, "uscc"]),
            "period": period,
            "first": dict(zip(("file", "row"), where[int(first_key[k])], strict=True)),
            "current": dict(zip(("file", "row"), where[int(current_key[k])], strict=True)),
        }
        for k in range(resub.size)
    ]
    n_defects = int(round(cfg.enterprise_defect_rate * n)) - n_dup
    defects.inject(sheets, defects.ENTERPRISE_KINDS, n_defects, rng, int(period[:4]))
    return sheets, records


__all__ = ["FORMATS", "SCALES", "generate"]
