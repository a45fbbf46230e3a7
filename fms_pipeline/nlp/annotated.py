"""The annotated files of ``data/evaluation/`` as rows: tab-separated, a header line, no quoting,
lines starting with ``#`` left out. Each evaluation module checks its own columns' values."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path


def read_rows(path: Path, columns: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, row) of the file, the header being row 1; an error names the file and the
    columns it lacks."""
    with path.open(newline="", encoding="utf-8") as f:
        lines = [line for line in f if not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    yield from enumerate(reader, start=2)


def split_field(value: str | None) -> list[str]:
    """The " | "-separated values of a field, in order."""
    return [v.strip() for v in (value or "").split("|") if v.strip()]
