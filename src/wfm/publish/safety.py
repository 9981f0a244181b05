"""The two rules every export obeys, checked on what is about to be written, not only on the input: the last
lock before a figure leaves the warehouse (`wfm.publish.exports`).

- A suppressed cell (`conf_status` C or D) carries no figure: value, numerator, denominator, se, interval and CV
  are emptied whatever the snapshot holds (publishing refuses such a snapshot anyway; this is the second lock).
- No text turns into a formula when a spreadsheet opens the file (OWASP "CSV injection"): a text cell that starts
  with `=`, `+`, `-`, `@`, tab or carriage return is written to CSV with a leading `'`, and to Excel as a string
  cell with Excel's own quote-prefix flag. Numbers stay numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from wfm.errors import WfmError

#: Figures a suppressed cell must not carry, in any export.
FIGURES = ("value", "numerator", "denominator", "se", "ci_lower", "ci_upper", "cv", "base_value", "change")
#: The same figures under their SDMX names.
SDMX_FIGURES = ("OBS_VALUE", "SE", "CI_LOWER", "CI_UPPER")
SUPPRESSED = frozenset({"C", "D"})

#: A text starting with one of these is read as a formula by Excel, LibreOffice or Google Sheets (OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def defuse(text: str) -> str:
    """The text a CSV cell may hold: prefixed with `'` when a spreadsheet would otherwise run it as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def check_no_suppressed_figures(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], what: str, status: str = "conf_status"
) -> None:
    """Raise unless every row whose `status` is C or D has every figure column empty."""
    at = columns.index(status)
    figures = [i for i, c in enumerate(columns) if c in FIGURES or c in SDMX_FIGURES]
    for n, row in enumerate(rows, 1):
        if row[at] in SUPPRESSED and any(not _empty(row[i]) for i in figures):
            raise WfmError(f"refusing to write {what}: suppressed cell carries a figure", row=n, rule="disclosure")


def check_no_suppressed_figures_sql(
    con: Any, relation: str, figures: Sequence[str], what: str, status: str = "conf_status"
) -> None:
    """`check_no_suppressed_figures` on a DuckDB relation of the export being written (names the project's own:
    a view or temporary table and its figure columns)."""
    if not figures:
        return
    leak = con.execute(
        f"SELECT count(*) FROM {relation} WHERE {status} IN ('C', 'D') "
        f"AND ({' OR '.join(f'{c} IS NOT NULL' for c in figures)})"
    ).fetchall()[0][0]
    if leak:
        raise WfmError(f"refusing to write {what}: suppressed cell carries a figure", rule="disclosure")


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and value != value)  # NaN
