"""The one disk cache of derived NLP data (the drug lexicon, the ICD-10-CM names, the saved
pipeline): ``$XDG_CACHE_HOME/fms_pipeline`` (else ``~/.cache/fms_pipeline``), files named by
what they were derived from, so a change of source data makes a new file, never a stale read."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fms_pipeline"


def cached_json(name: str, build: Callable[[], T], encode: Callable[[T], object] = lambda v: v,
                decode: Callable[[object], T] = lambda v: v) -> T:
    """``decode`` of the JSON cached as ``name``, or ``build()`` (then cached, written to a
    temporary file and renamed, so a reader never sees half of it). A read-only home still works,
    just without the cache."""
    path = cache_dir() / name
    try:
        return decode(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError):
        pass
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(encode(value)), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass
    return value
