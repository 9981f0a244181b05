"""Synthetic data: the inputs of the pipeline, with their defects and their ground truth.

This package stands before the flow (`inbox → ingest → gate → raw → dbt → publish`): it writes what the
reporting systems would deliver to the landing folders, and the answers the warehouse must find. Modules, in
the order `run.py` calls them: `frames` (enterprises of sections B–E, platform areas), `workers` (their workers),
`sample` (the survey's stratified two-stage design), `survey` and `returns` (the two sources' tables),
`layout` (files and their styles), `defects` (rule breakers, duplicates, resubmissions), `render` and `writers`
(spelling and writing the files), `truth` (every published cell, computed independently in numpy/pandas).

    from wfm_synthetic import generate
    manifest = generate(out_dir, scale="demo", seed=20261124, periods=1,
                        formats=("csv", "xlsx", "parquet"), progress=False)

Conventions ingestion and dbt rely on:

- Reference date for ages and ID numbers: 30 June of the period's year (`2026` → 2026-06-30).
- Strata `PP-S` (`44-C`) and `PLAT-PP`; PSU = employer USCC, or `A` + area code in a platform stratum.
- `defects.json`: per file, data rows (1-based, header and metadata lines not counted) and the reason codes each
  must produce; refused files with their refusal code; resubmissions with where each version is.
"""

from wfm_synthetic.run import SCALES, generate

__all__ = ["SCALES", "generate"]
