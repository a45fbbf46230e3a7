"""The labels the NLP writes (entity and outcome labels), read from ``labels.yml`` — the one place
they are declared. The NLP, the outcome model's feature layout, the charts, the report and the
warehouse's accepted-values tests all take them from here."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

_FILE = Path(__file__).with_name("labels.yml")
KINDS = ("entity", "outcome", "access", "access_mechanism", "access_actor", "access_consequence")


@dataclass(frozen=True)
class Label:
    name: str
    kind: str
    description: str
    colour: str
    polarity: str | None = None
    attaches_to: tuple[str, ...] = ()


@functools.cache
def _all() -> dict[str, dict[str, Label]]:
    raw = yaml.safe_load(_FILE.read_text(encoding="utf-8"))
    found: dict[str, dict[str, Label]] = {}
    for kind in KINDS:
        found[kind] = {}
        for name, spec in (raw.get(kind) or {}).items():
            unknown = set(spec) - {"description", "colour", "polarity", "attaches_to"}
            if unknown or "description" not in spec or "colour" not in spec:
                raise ValueError(f"{_FILE.name}: {kind} label {name}: needs description and colour, "
                                 f"may have polarity and attaches_to (found {sorted(spec)})")
            found[kind][name] = Label(name, kind, spec["description"], spec["colour"], spec.get("polarity"),
                                      tuple(spec.get("attaches_to") or ()))
    return found


def of_kind(kind: str) -> dict[str, Label]:
    if kind not in KINDS:
        raise KeyError(f"no {kind!r} labels in {_FILE.name} (kinds: {', '.join(KINDS)})")
    return _all()[kind]


def names(kind: str) -> tuple[str, ...]:
    return tuple(of_kind(kind))


def colours(kind: str) -> dict[str, str]:
    return {name: label.colour for name, label in of_kind(kind).items()}


ENTITY_LABELS: tuple[str, ...] = names("entity")
OUTCOME_LABELS: tuple[str, ...] = names("outcome")
NEGATIVE_OUTCOMES: frozenset[str] = frozenset(n for n, l in of_kind("outcome").items() if l.polarity == "negative")
