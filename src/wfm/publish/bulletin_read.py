"""What the bulletin (`wfm.publish.bulletin`) reads and how it writes a figure: the snapshot's cells with their
labels, the craftsmen's straight-line paths, and the HTML of a number, a status, a table and a figure."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from wfm.publish.charts import Cell, Charts

#: The default of the publication rule cv_low: a survey cell with a larger CV is of low reliability.
CV_LOW = 0.165


@dataclass(frozen=True)
class Target:
    """A craftsmen count's straight-line path: from `base` % of the target in `base_year` to the target."""

    value: float
    target_year: int
    base_year: int
    base: float = 0.0

    def path(self, year: float) -> float:
        share = self.base + (100 - self.base) * (year - self.base_year) / (self.target_year - self.base_year)
        return self.value * share / 100


def e(text: object) -> str:
    return html.escape("" if text is None else str(text))


def number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def shown(cell: Cell, digits: int = 1) -> str:
    """A cell's value as the table shows it: the number, or why there is none."""
    return cell.no_figure or number(cell.value, digits)


class Bulletin:
    """Reads the snapshot (attached as `snap`, suppressed figures emptied in the view `masked`) for the page."""

    def __init__(self, con: duckdb.DuckDBPyConnection, cv_low: float = CV_LOW, drawn: Charts | None = None) -> None:
        self.con = con
        self.cv_low = cv_low
        self.charts = drawn or Charts()
        self.labels = self._labels()
        self.registry = {
            r[0]: {"name_zh": r[1], "name_en": r[2], "unit": r[3], "threshold": r[4], "target": r[5]}
            for r in con.execute(
                "SELECT indicator_code, name_zh, name_en, unit, threshold, target_value FROM snap.indicator_registry"
            ).fetchall()
        }

    def _labels(self) -> dict[tuple[str, str], tuple[str, int]]:
        has = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'snap' AND table_name = 'code_labels'"
        ).fetchone()[0]
        if not has:
            return {}
        rows = self.con.execute("SELECT code_list, code, label, sort_order FROM snap.code_labels").fetchall()
        return {(lst, code): (label, order) for lst, code, label, order in rows}

    def label(self, code_list: str, code: str) -> str:
        return self.labels.get((code_list, code), (code, 0))[0]

    def name(self, code: str) -> str:
        reg = self.registry.get(code, {})
        return f"{reg.get('name_zh', code)} ({reg.get('name_en', '')})"

    def cells(self, code: str, source: str, breakdown: str, statistic: str = "") -> list[tuple[str, Cell]]:
        """The cells of the latest period of `code`/`source` in `breakdown`: (period, cell), in label order."""
        rows = self.con.execute(
            """
            SELECT period, split_part(member, '|', 1), value, ci_lower, ci_upper, obs_status, conf_status, cv
            FROM masked
            WHERE indicator_code = ? AND source = ? AND breakdown = ? AND split_part(member, '|', 2) = ?
              AND period = (SELECT max(period) FROM masked WHERE indicator_code = ? AND source = ?)
            """,
            [code, source, breakdown, statistic, code, source],
        ).fetchall()
        out = [
            (period, Cell(m, self.label(breakdown, m), value, lo, hi, obs, conf, obs == "U" or (cv or 0) > self.cv_low))
            for period, m, value, lo, hi, obs, conf, cv in rows
        ]
        return sorted(out, key=lambda pc: (self.labels.get((breakdown, pc[1].member), ("", 999))[1], pc[1].member))

    def national(self, code: str, source: str, statistic: str = "") -> Cell | None:
        found = self.cells(code, source, "national", statistic)
        return found[0][1] if found else None


def figure(fig_id: str, svg: str, caption: str, table: str) -> str:
    return (
        f'<figure id="{e(fig_id)}">\n{svg}\n<figcaption>{caption}</figcaption>\n</figure>\n'
        f'<table class="numbers" aria-label="{e(fig_id)}">{table}</table>\n'
    )


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"


def status(cell: Cell) -> str:
    return f"{e(cell.obs_status)}/{e(cell.conf_status)}"
