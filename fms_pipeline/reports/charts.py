"""PNG charts (matplotlib, no display needed) for asset pages and the HTML report."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no screen on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402

OUTCOME_COLOURS = {
    "effective": "#2e7d32",
    "ineffective": "#9e9e9e",
    "adverse_effect": "#c62828",
    "withdrawal": "#6a1b9a",
    "access_loss": "#ef6c00",
}


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def bar_chart(labels: list[str], values: list[float], title: str, colour: str = "#1565c0") -> bytes:
    """Horizontal bars, largest on top."""
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * max(len(labels), 3) + 1))
    ax.barh(labels[::-1], values[::-1], color=colour)
    ax.set_title(title, loc="left", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    for y, v in enumerate(values[::-1]):
        ax.text(v, y, f" {v:g}", va="center", fontsize=8)
    return _png(fig)


def outcome_chart(rows: list[tuple[str, str, int]], title: str = "What patients say each drug did") -> bytes:
    """Stacked bars: for each drug, mentions by outcome. ``rows`` are (drug, outcome, mentions)."""
    drugs = sorted({d for d, _, _ in rows}, key=lambda d: -sum(n for dd, _, n in rows if dd == d))[:15]
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * max(len(drugs), 3) + 1.2))
    left = [0] * len(drugs)
    for outcome, colour in OUTCOME_COLOURS.items():
        values = [sum(n for d, o, n in rows if d == drug and o == outcome) for drug in drugs]
        ax.barh(drugs[::-1], values[::-1], left=left[::-1], color=colour, label=outcome.replace("_", " "))
        left = [a + b for a, b in zip(left, values)]
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def as_markdown_image(png: bytes, alt: str) -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"


def as_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()
