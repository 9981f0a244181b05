"""How the generated rows are split into files, and how each file spells them.

The reporting systems export in different ways; each file here imitates one of them: its format, its encoding,
its header language (English names, the Chinese labels of `wfm.contract`, or a mix, possibly in shuffled order),
whether an XLSX carries form metadata above its header, how it writes yes/no and skill levels, and how often it
uses thousands separators, full-width digits and missing markers. `plan` picks the files of one source and
period for a scale and the requested formats; `Sheet` is one file being prepared (rows, cell overrides that
spell defects or variants, and the reason codes of its defective rows), filled in by `defects.py` and written by
`writers.py`.

File names: `survey/survey_<wave>_<NN>.<ext>` and `enterprise/returns_<period>_<NN>.<ext>`; NN orders them,
and the last enterprise file of a period carries the corrections (resubmissions) and cross-file duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FileStyle:
    fmt: str  # csv | xlsx | parquet
    encoding: str | None = "utf-8"  # utf-8 | utf-8-sig | gb18030 (CSV only)
    header: str = "en"  # en | zh | mixed (parquet: always en, the contract's canonical names)
    shuffle: bool = False  # columns in a shuffled order
    metadata: bool = False  # XLSX: form metadata rows (表号, 制定机关 …) above the header
    yesno: str = "是否"  # 是否 | YN | 10 | truefalse | mixed (per cell)
    skill: str = "code"  # code (L3) | name (高级工) | grade (三级) | mixed (per cell)
    thousands: float = 0.0  # share of numbers ≥ 1000 written with thousands separators
    fullwidth: float = 0.0  # share of numbers written with full-width digits
    missing: float = 0.0  # share of optional item cells left missing (`—`, `无`, `NA`, `-`, empty)
    crlf: bool = False  # Windows line ends
    extra_column: bool = False  # a column outside the contract (备注), which ingestion keeps but ignores
    share: float = 0.0  # share of the source's rows
    row_cap: int | None = None  # most rows this file takes (XLSX is slow to write and to read)


_SURVEY_STYLES = (
    FileStyle("csv", "utf-8", "en", yesno="是否", skill="code", missing=0.003, share=0.30),
    FileStyle(
        "csv",
        "gb18030",
        "zh",
        shuffle=True,
        yesno="YN",
        skill="name",
        thousands=0.3,
        fullwidth=0.02,
        crlf=True,
        share=0.20,
    ),
    FileStyle(
        "csv",
        "utf-8-sig",
        "mixed",
        shuffle=True,
        yesno="10",
        skill="grade",
        missing=0.005,
        extra_column=True,
        share=0.20,
    ),
    FileStyle(
        "xlsx", None, "zh", metadata=True, yesno="truefalse", skill="mixed", thousands=0.1, share=0.15, row_cap=20_000
    ),
    FileStyle("parquet", None, "en", share=0.15),
)
_ENTERPRISE_STYLES = (
    FileStyle("csv", "utf-8", "en", yesno="是否", missing=0.01, share=0.35),
    FileStyle("csv", "gb18030", "zh", shuffle=True, yesno="YN", thousands=0.3, fullwidth=0.02, crlf=True, share=0.25),
    FileStyle("xlsx", None, "zh", metadata=True, yesno="10", thousands=0.1, share=0.15, row_cap=20_000),
    FileStyle("parquet", None, "en", share=0.20),
    FileStyle("csv", "utf-8-sig", "mixed", shuffle=True, yesno="mixed", missing=0.02, extra_column=True, share=0.05),
)
#: national scale: the bulk goes to the plain UTF-8 CSV, the other variants stay present but small
_NATIONAL_SHARES = {"survey": (0.70, 0.05, 0.05, 0.02, 0.18), "enterprise": (0.60, 0.06, 0.02, 0.27, 0.05)}


@dataclass
class Sheet:
    """One output file in the making."""

    source: str  # survey | enterprise
    path: str  # relative to the output folder, e.g. survey/survey_2026_01.csv
    style: FileStyle
    data: pd.DataFrame  # logical values, schema columns, rows in file order (RangeIndex)
    #: column → row position → text written instead of the value (None: a missing marker / null)
    overrides: dict[str, dict[int, str | None]] = field(default_factory=dict)
    #: row position → reason codes the row must produce (its defects)
    reasons: dict[int, list[str]] = field(default_factory=dict)

    def override(self, column: str, rows: np.ndarray, texts: list[str | None] | np.ndarray) -> None:
        cells = self.overrides.setdefault(column, {})
        for r, t in zip(np.asarray(rows).tolist(), list(texts), strict=True):
            cells[int(r)] = t

    def flag(self, rows: np.ndarray, *codes: str) -> None:
        for r in np.asarray(rows).tolist():
            self.reasons.setdefault(int(r), []).extend(codes)


def plan(source: str, period: str, scale: str, formats: tuple[str, ...]) -> list[tuple[str, FileStyle]]:
    """The files (path, style) of one source and period, keeping only the requested formats; a quarter's
    returns come in two files, the main style and one of the others in turn, so a year has every variant."""
    styles = _SURVEY_STYLES if source == "survey" else _ENTERPRISE_STYLES
    if scale == "national":  # openpyxl writes cells slowly: keep the workbooks small
        styles = tuple(
            replace(s, share=sh, row_cap=2000 if s.row_cap else None)
            for s, sh in zip(styles, _NATIONAL_SHARES[source], strict=True)
        )
    kept = [s for s in styles if s.fmt in formats]
    if not kept:
        raise ValueError(f"none of the formats {formats} can be written")
    if "Q" in period and len(kept) > 2:  # a quarter comes in two files: the main one and a variant, in turn
        kept = [kept[0], kept[1 + (int(period[-1]) - 1) % (len(kept) - 1)]]
    if len(kept) == 1 or all(s.row_cap for s in kept):  # one format alone takes every row
        kept = [replace(s, row_cap=None) for s in kept]
    total = sum(s.share for s in kept)
    kept = [replace(s, share=s.share / total) for s in kept]
    stem = "survey" if source == "survey" else "returns"
    ext = {"csv": "csv", "xlsx": "xlsx", "parquet": "parquet"}
    return [(f"{source}/{stem}_{period}_{i:02d}.{ext[s.fmt]}", s) for i, s in enumerate(kept, start=1)]


def split_rows(n: int, styles: list[FileStyle]) -> list[np.ndarray]:
    """Consecutive row ranges per file, by share, honouring row caps (what a cap leaves goes to the others)."""
    counts = np.floor(np.array([s.share for s in styles]) * n).astype(np.int64)
    counts[0] += n - counts.sum()
    for i, s in enumerate(styles):
        if s.row_cap is not None and counts[i] > s.row_cap:
            spill = counts[i] - s.row_cap
            counts[i] = s.row_cap
            open_files = [j for j, t in enumerate(styles) if t.row_cap is None]
            counts[open_files[0]] += spill
    edges = np.concatenate([[0], np.cumsum(counts)])
    return [np.arange(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
