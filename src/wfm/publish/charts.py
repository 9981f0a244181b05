"""The bulletin's charts (`wfm.publish.bulletin`), drawn with matplotlib and returned as inline SVG.

Text stays text (`svg.fonttype = none`): the page names the fonts in CSS and the reader's system draws the
Chinese, so the bulletin embeds no font file (docs/decisions.md, "The bulletin: matplotlib SVG, text drawn by
the reader's fonts"). Every drawn cell is a group whose id names it (`cell-<chart>-<member>`), and every cell
without a figure (suppressed or withheld) is a text group `nofigure-<chart>-<member>` instead of a mark, so a
reader — and the browser tests — can tell which cells are drawn.

A chart is drawn once for what it shows (`Charts`): kept in the home's `cache/charts/` under a key of its
function, its arguments, this module's code, matplotlib's version and the font it measures with, a publication
reuses the drawing of a chart whose figures did not change since the last one, and draws only the others.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: the charts are files
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

#: Fonts asked for, in order; matplotlib measures text with the first it finds (Noto CJK from the Debian
#: package fonts-noto-cjk), the page's CSS asks the reader's system for the same or its own CJK font.
FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei", "DejaVu Sans"]
STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "wfm-bulletin",  # stable ids: the same snapshot gives the same page
    "font.family": "sans-serif",
    "font.sans-serif": FONTS,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.unicode_minus": False,
}
BLUE, ORANGE, GREY, RED = "#1f5fa8", "#d9822b", "#8a8a8a", "#b8322a"
NO_FIGURE = {"C": "已抑制 suppressed", "D": "已抑制 suppressed"}
WITHHELD = "可靠性过低未发布 withheld"


@dataclass(frozen=True)
class Cell:
    """One charted cell: its member and label, the figures (None when the cell has none) and its statuses."""

    member: str
    label: str
    value: float | None
    lower: float | None = None
    upper: float | None = None
    obs_status: str = "A"
    conf_status: str = "F"
    #: low reliability: obs_status U, or a CV above the rule cv_low (a provisional P cell hides its U)
    low_reliability: bool = False

    @property
    def no_figure(self) -> str | None:
        """Why the cell shows no figure, or None when it has one."""
        if self.conf_status in NO_FIGURE:
            return NO_FIGURE[self.conf_status]
        return WITHHELD if self.value is None else None


class Charts:
    """Draws the charts of one publication, remembering each in `folder` (None: draws every chart) under the key
    of what it shows. The charts show published figures only (the bulletin reads the masked snapshot), so the
    folder holds nothing the exports do not. `keep_drawn` then removes the charts no longer shown."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.used: set[str] = set()

    def draw(self, chart: Callable[..., str], *args: object, **kwargs: object) -> str:
        if self.folder is None:
            return chart(*args, **kwargs)
        key = _key(chart, args, kwargs)
        self.used.add(key)
        kept = self.folder / f"{key}.svg"
        try:
            return kept.read_text(encoding="utf-8")
        except FileNotFoundError:
            pass
        svg = chart(*args, **kwargs)
        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=self.folder, suffix=".part", delete=False) as fh:
            fh.write(svg)
        os.replace(fh.name, kept)
        return svg

    def keep_drawn(self) -> None:
        """Remove every remembered chart this publication did not show (and any part left by a crash)."""
        if self.folder is None or not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path.stem not in self.used:
                path.unlink(missing_ok=True)


def _key(chart: Callable[..., str], args: tuple[object, ...], kwargs: dict[str, object]) -> str:
    """What a drawing depends on: the chart function and its arguments (figures as `repr` writes them, exactly),
    the code and style of this module, matplotlib's version and the font file it measures text with."""
    digest = hashlib.sha256(_drawing_identity())
    digest.update(repr((chart.__name__, args, sorted(kwargs.items()))).encode())
    return digest.hexdigest()


@cache
def _drawing_identity() -> bytes:
    """This module's code, matplotlib's version and the font file text is measured with (read on the first key)."""
    from matplotlib import font_manager

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="findfont")
        font = font_manager.findfont(font_manager.FontProperties(family=FONTS))
    return b"\0".join([Path(__file__).read_bytes(), matplotlib.__version__.encode(), font.encode()])


def element_id(*parts: str) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_]+", "_", p) for p in parts)


def _svg(fig: plt.Figure, chart: str) -> str:
    """The figure as an inline <svg>. matplotlib numbers its groups from 1 in every file (axes_1, line2d_3 …):
    prefixed with the chart, so that the page's ids stay unique; clip paths get a salt of their own."""
    buffer = io.StringIO()
    plt.rcParams["svg.hashsalt"] = chart
    with warnings.catch_warnings():
        # Without a CJK font installed matplotlib warns per missing glyph; the text is still written as text,
        # and the reader's browser draws it.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        warnings.filterwarnings("ignore", message="findfont")
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # inline: drop the XML declaration and doctype
    return re.sub(r'id="([a-zA-Z][a-zA-Z0-9.]*_\d+)"', lambda m: f'id="{element_id(chart, m.group(1))}"', text)


def craftsmen_path(
    chart: str, panels: Sequence[tuple[str, str, float, tuple[int, float], int, list[tuple[int, float | None]]]]
) -> str:
    """Small multiples, one per craftsmen count: the straight line from the base year's level to the target in
    the target year, and the published counts. `panels`: (indicator code, title, target, (base year, base level),
    target year, [(year, count or None)])."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 2.8), squeeze=False)
        for ax, (code, title, target, (base_year, base_level), target_year, points) in zip(
            axes[0], panels, strict=True
        ):
            ax.plot([base_year, target_year], [base_level, target], ls="--", color=GREY, lw=1.2, label="目标路径 path")
            ax.plot([target_year], [target], marker="*", ms=9, color=ORANGE, ls="none", label=f"目标 {target:,.0f}")
            for year, count in points:
                if count is None:
                    ax.text(
                        year,
                        target * 0.05,
                        "已抑制\nsuppressed",
                        ha="center",
                        fontsize=7,
                        color=RED,
                        gid=element_id("nofigure", chart, code, str(year)),
                    )
                else:
                    ax.plot(
                        [year],
                        [count],
                        marker="o",
                        color=BLUE,
                        ls="none",
                        gid=element_id("cell", chart, code, str(year)),
                    )
                    ax.annotate(f"{count:,.0f}", (year, count), textcoords="offset points", xytext=(4, 4), fontsize=7)
            ax.set_title(title, fontsize=9)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlim(base_year - 0.5, target_year + 0.5)
            ax.set_ylim(0, target * 1.1)
            ax.legend(fontsize=7, loc="upper left", frameon=False)
        return _svg(fig, chart)


def by_province_bars(chart: str, cells: Sequence[Cell], *, threshold: float, comparison: str, unit: str) -> str:
    """Horizontal bars by province against a legal threshold (a line); bars that miss it are red. A cell without
    a figure gets no bar, its reason written where the bar would start."""
    meets = _comparison(comparison)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 0.22 * len(cells) + 0.9))
        top = max([threshold, *(c.value for c in cells if c.no_figure is None)]) * 1.12
        for y, cell in enumerate(cells):
            if cell.no_figure:
                _no_figure(ax, 0.5, y, chart, cell)
                continue
            colour = BLUE if meets(cell.value, threshold) else RED
            ax.barh(y, cell.value, color=colour, height=0.7, gid=element_id("cell", chart, cell.member))
        ax.axvline(threshold, color=ORANGE, lw=1.5, label=f"{comparison} {threshold:g} {unit}")
        ax.set_yticks(range(len(cells)), [c.label for c in cells], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, top)
        ax.set_xlabel(unit)
        ax.legend(fontsize=7, loc="lower right")
        return _svg(fig, chart)


def by_province_intervals(chart: str, cells: Sequence[Cell], national: Cell | None, *, unit: str) -> str:
    """Estimates by province with their 95 % intervals as error bars; low-reliability cells (U) hollow and
    marked U; the national estimate and interval as a band. A cell without a figure is its reason in words."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 0.22 * len(cells) + 0.9))
        if national is not None and national.no_figure is None:
            if national.lower is not None and national.upper is not None:
                ax.axvspan(national.lower, national.upper, color=ORANGE, alpha=0.15, lw=0)
            ax.axvline(national.value, color=ORANGE, lw=1.2, label=f"全国 national {national.value:,.1f}")
        drawn = [c for c in cells if c.no_figure is None]
        left = min([c.lower if c.lower is not None else c.value for c in drawn], default=0.0)
        for y, cell in enumerate(cells):
            if cell.no_figure:
                _no_figure(ax, left, y, chart, cell)
                continue
            low_reliability = cell.low_reliability
            colour = GREY if low_reliability else BLUE
            if cell.lower is not None and cell.upper is not None:
                # the interval as one line with end ticks: a plain Line2D per cell draws several times faster
                # than an errorbar container, and the chart has one per province and indicator
                ax.plot(
                    [cell.lower, cell.upper],
                    [y, y],
                    color=colour,
                    lw=1,
                    marker="|",
                    ms=4,
                    gid=element_id("interval", chart, cell.member),
                )
            ax.plot(
                [cell.value],
                [y],
                marker="o",
                ms=4,
                ls="none",
                color=colour,
                mfc="white" if low_reliability else BLUE,
                gid=element_id("cell", chart, cell.member),  # the estimate; its interval has its own id
            )
            if low_reliability:
                ax.annotate(
                    "U",
                    (cell.upper if cell.upper is not None else cell.value, y),
                    xytext=(3, -3),
                    textcoords="offset points",
                    fontsize=7,
                    color=GREY,
                )
        ax.set_yticks(range(len(cells)), [c.label for c in cells], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(unit)
        if national is not None and national.no_figure is None:
            ax.legend(fontsize=7, loc="lower right")
        return _svg(fig, chart)


def _no_figure(ax: plt.Axes, x: float, y: float, chart: str, cell: Cell) -> None:
    """Where a cell without a figure would be drawn: its reason in words, never a mark."""
    ax.text(x, y, cell.no_figure, va="center", fontsize=7, color=RED, gid=element_id("nofigure", chart, cell.member))


def _comparison(comparison: str):  # noqa: ANN202
    return {
        ">=": lambda v, t: v >= t,
        ">": lambda v, t: v > t,
        "<=": lambda v, t: v <= t,
        "<": lambda v, t: v < t,
    }[comparison]
