"""What disclosure control costs and what it protects, on the generator's demo data of several seeds:
`python -m wfm_tools.disclosure_study [SEED ...]` (default 1 2 3), the figures of docs/disclosure-control.md.

Each seed's demo data run through a whole night in a temporary home. Then, on the cells of that build, two
suppression patterns side by side: *before*, the rule this project used until the linked system (primary
suppression, then in each breakdown with exactly one suppressed member the free member with the fewest
enterprises; survey cells: primary only), recomputed here from the primary statuses; *after*, what the build
published. For each: the share of cells suppressed, and the attacker's audit (wfm.disclosure) of the sensitive
figures — how many recovered exactly, how many within their protection level.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb
import pandas as pd

from wfm.config import Home
from wfm.disclosure.control import additive_breakdowns, audit, rules_mapping, source_links
from wfm.disclosure.publication import CELLS

GROUP = ["period", "scope", "indicator_code", "statistic", "breakdown"]


def fewest_enterprises(cells: pd.DataFrame) -> pd.Series:
    """The former secondary suppression: where exactly one member of a breakdown (not national) is suppressed,
    the free member with the fewest enterprises (then the smallest code) too."""
    hidden = cells["primary"] == "C"
    for _, group in cells[cells["breakdown"] != "national"].groupby(GROUP):
        suppressed = hidden.loc[group.index]
        if suppressed.sum() == 1 and len(group) > 1:
            free = group[~suppressed].sort_values(["n_enterprises", "member"])
            hidden.loc[free.index[0]] = True
    return hidden


def night(seed: int, root: Path) -> Home:
    from wfm.night import run_nightly
    from wfm_synthetic import generate

    generated = root / f"gen{seed}"
    generate(generated, scale="demo", seed=seed)
    home = Home.resolve(root / f"home{seed}").ensure()
    for source in ("survey", "enterprise"):
        for path in (generated / source).glob("*"):
            shutil.copy2(path, home.inbox(source) / path.name)
    run_nightly(home)
    return home


def study(seed: int, root: Path) -> list[dict]:
    home = night(seed, root)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        links = con.execute("SELECT * FROM reference.published_magnitudes").df()
        additive = con.execute("SELECT * FROM reference.additive_breakdowns").df()
        rules = rules_mapping(con.execute("SELECT rule, value FROM reference.publication_rules").df())
        frames = {source: con.execute(sql).df() for source, sql in CELLS.items()}
    finally:
        con.close()
    rows = []
    for source, cells in frames.items():
        confidential_after = cells["conf_status"].ne("F")
        if source == "E":
            confidential_before = fewest_enterprises(cells)
            shown_before, shown_after = ~confidential_before, ~confidential_after
        else:  # survey cells withheld for low reliability publish nothing either
            confidential_before = cells["primary"].eq("C")
            withheld = cells["withheld"].astype(bool)
            shown_before, shown_after = ~(confidential_before | withheld), ~(confidential_after | withheld)
        for label, confidential, shown in (
            ("before", confidential_before, shown_before),
            ("after", confidential_after, shown_after),
        ):
            result = audit(cells, source_links(links, source), rules, shown, additive_breakdowns(additive, source))
            rows.append(
                {
                    "seed": seed,
                    "source": source,
                    "pattern": label,
                    "cells": len(cells),
                    "suppressed (C or D)": int(confidential.sum()),
                    "share %": round(100 * confidential.mean(), 1),
                    "sensitive figures": len(result),
                    "recovered exactly": int(result["exact"].sum()),
                    "within protection": int((~result["protected"]).sum()),
                }
            )
    return rows


def main(argv: list[str]) -> None:
    seeds = [int(a) for a in argv] or [1, 2, 3]
    os.environ.setdefault("WFM_DEMO", "1")
    os.environ.setdefault("WFM_SETTLE_SECONDS", "0")
    with tempfile.TemporaryDirectory(prefix="wfm-disclosure-study-") as tmp:
        rows = [row for seed in seeds for row in study(seed, Path(tmp))]
    table = pd.DataFrame(rows)
    print("| " + " | ".join(table.columns) + " |")
    print("|" + " --- |" * len(table.columns))
    for row in table.itertuples(index=False):
        print("| " + " | ".join(str(v) for v in row) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
