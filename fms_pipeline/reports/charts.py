"""PNG charts (matplotlib, no display needed) for asset pages and the HTML report."""

from __future__ import annotations

import base64
import functools
import hashlib
import io
from datetime import date

from fms_pipeline import labels

import matplotlib

matplotlib.use("Agg")  # no screen on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

# One colour per outcome label, from labels.yml.
OUTCOME_COLOURS = labels.colours("outcome")
DPI = 110


def _drawn_once(chart):
    """The same chart of the same rows is drawn once per process: the warehouse's asset pages and the
    report show the same ones (outcomes, trends, signals), and a CLI run builds both (1.9 CPU s of
    charts in a one-file update). Keyed by the arguments' repr (lists of str, numbers and dates)."""
    drawn: dict[str, bytes] = {}

    @functools.wraps(chart)
    def draw(*args, **kwargs) -> bytes:
        key = hashlib.sha256(repr((args, sorted(kwargs.items()))).encode()).hexdigest()
        if key not in drawn:
            if len(drawn) >= 64:  # a long-lived process (tests, a code server) keeps the recent ones
                drawn.pop(next(iter(drawn)))
            drawn[key] = chart(*args, **kwargs)
        return drawn[key]

    return draw


def _png(fig) -> bytes:
    # The box bbox_inches="tight" would find, found without its extra draw of the whole figure
    # (savefig lays the figure out by drawing it before finding the box): the same PNG in one draw.
    fig.set_dpi(DPI)
    box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches=box)
    plt.close(fig)
    return buffer.getvalue()


@_drawn_once
def bar_chart(labels: list[str], values: list[float], title: str, colour: str = "#1565c0") -> bytes:
    """Horizontal bars, largest on top."""
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * max(len(labels), 3) + 1))
    ax.barh(labels[::-1], values[::-1], color=colour)
    ax.set_title(title, loc="left", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    for y, v in enumerate(values[::-1]):
        ax.text(v, y, f" {v:g}", va="center", fontsize=8)
    return _png(fig)


@_drawn_once
def outcome_chart(rows: list[tuple[str, str, int]], title: str = "What patients say each drug did") -> bytes:
    """Stacked bars: for each drug, mentions by outcome. ``rows`` are (drug, outcome, mentions)."""
    totals: dict[str, int] = {}
    for d, _, n in rows:
        totals[d] = totals.get(d, 0) + n
    # Ties by name: a set's order changes with each process's string hashing, and so did the chart.
    drugs = sorted(totals, key=lambda d: (-totals[d], d))[:15]
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * max(len(drugs), 3) + 1.2))
    left = [0] * len(drugs)
    counts: dict[tuple[str, str], int] = {}
    for d, o, n in rows:
        counts[d, o] = counts.get((d, o), 0) + n
    for outcome, colour in OUTCOME_COLOURS.items():
        values = [counts.get((drug, outcome), 0) for drug in drugs]
        ax.barh(drugs[::-1], values[::-1], left=left[::-1], color=colour, label=outcome.replace("_", " "))
        left = [a + b for a, b in zip(left, values)]
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def month_range(first: date, last: date) -> list[date]:
    """Every month from ``first`` to ``last`` (first days of the month), so a month with nothing shows as 0."""
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


@_drawn_once
def trend_chart(rows: list[tuple[str, date, float]], title: str, colours: dict[str, str] | None = None,
                max_series: int = 6, y_label: str | None = None, integer: bool = True,
                marks: list[tuple[date, str, str]] | None = None) -> bytes:
    """Lines over calendar months, one per series. ``rows`` are (series, month, value) with ``month`` the
    first day of its month; the ``max_series`` series with the largest totals are drawn, months with no
    row count as 0. ``integer``: counts (integer ticks); False for rates. ``marks``: vertical lines
    (month, label, kind) with kind 'policy' (dashed grey) or 'break' (solid red), drawn when inside the
    months shown."""
    if not rows:
        raise ValueError("trend_chart needs at least one (series, month, value) row")
    totals: dict[str, float] = {}
    for series, _, value in rows:
        totals[series] = totals.get(series, 0) + value
    drawn = sorted(totals, key=lambda s: (-totals[s], s))[:max_series]
    months = month_range(min(m for _, m, _ in rows), max(m for _, m, _ in rows))
    index = {m: i for i, m in enumerate(months)}
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for series in drawn:
        values = [0.0] * len(months)
        for s, month, value in rows:
            if s == series:
                values[index[month]] += value
        ax.plot(range(len(months)), values, marker="o", markersize=3, linewidth=1.6,
                color=(colours or {}).get(series), label=series.replace("_", " "))
    step = max(1, -(-len(months) // 12))  # at most about 12 month labels
    ax.set_xticks(range(0, len(months), step), [m.strftime("%Y-%m") for m in months[::step]],
                  rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.5, len(months) - 0.5)
    ax.set_ylim(bottom=0)
    if integer:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts
    if y_label:
        ax.set_ylabel(y_label, fontsize=8)
    for month, label, kind in marks or []:
        if month in index:
            policy = kind == "policy"
            ax.axvline(index[month], color="#757575" if policy else "#c62828", linestyle="--" if policy else "-",
                       linewidth=1.0 if policy else 1.4, alpha=0.9)
            ax.text(index[month], ax.get_ylim()[1], f" {label}", rotation=90, va="top", ha="right", fontsize=6.5,
                    color="#616161" if policy else "#c62828")
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


@_drawn_once
def forest_chart(rows: list[tuple[str, float, float, float]], title: str, x_label: str = "ROR (95% CI)") -> bytes:
    """A forest plot: one row per (label, estimate, lower, upper), top first, on a log scale with a
    line at 1 (no disproportion)."""
    if not rows:
        raise ValueError("forest_chart needs at least one (label, estimate, lower, upper) row")
    fig, ax = plt.subplots(figsize=(6.5, 0.32 * max(len(rows), 3) + 1.2))
    ys = list(range(len(rows)))[::-1]
    for y, (_, estimate, lower, upper) in zip(ys, rows):
        colour = "#c62828" if lower > 1 else "#757575"
        ax.plot([lower, upper], [y, y], color=colour, linewidth=1.6)
        ax.plot([estimate], [y], marker="s", color=colour, markersize=5)
    ax.axvline(1.0, color="#424242", linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    ax.set_yticks(ys, [r[0] for r in rows], fontsize=8)
    ax.set_xlabel(x_label, fontsize=8)
    ax.set_title(title, loc="left", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def as_markdown_image(png: bytes, alt: str) -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"


def as_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()
