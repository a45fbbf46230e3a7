"""Drug names for the entity ruler, from the `drug-named-entity-recognition` dictionary.

That package (MIT, Fast Data Science) ships about 107,000 names for 20,000 drugs with
DrugBank, MeSH and MedlinePlus ids. We use its data, not its matcher: its fuzzy path
crashes on multi-word input and maps "Neurotin" to carbamazepine.

The dictionary also holds MeSH concepts that are not medicines (proteins, blood groups,
dyes) and brand names that are everyday words ("Today", "Alert"). Filtering keeps a name
when its drug has a DrugBank or MedlinePlus entry and the name is not a common English
word (by `wordfreq`), plus the curated aliases in ``vocab/drug_aliases.tsv``.

Building the filtered lexicon takes a few seconds, so it is cached on disk, keyed by the
dictionary's version and the vocabulary files.
"""

from __future__ import annotations

import bz2
import hashlib
import json
import os
import pickle
import re
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from pathlib import Path

from wordfreq import zipf_frequency

_DICTIONARY_PACKAGE = "drug_named_entity_recognition"
_DICTIONARY_FILE = "drug_ner_dictionary.pkl.bz2"
_LEXICON_FORMAT = 3  # bump when the filtering rules below change

# A single-word brand or synonym this frequent in English is an everyday word ("today").
COMMON_WORD_ZIPF = 3.0
# A generic name is kept up to this frequency (aspirin 3.3, insulin 3.8) but not "water".
COMMON_GENERIC_ZIPF = 4.2
_NAME_SHAPE = re.compile(r"^[a-z][a-z'\- ]*[a-z]$")


@dataclass(frozen=True)
class DrugEntry:
    canonical: str  # lower-case generic name
    drugbank_id: str | None
    mesh_id: str | None


def _vocab_text(name: str) -> str:
    return resources.files("fms_pipeline.nlp").joinpath("vocab", name).read_text(encoding="utf-8")


def read_vocabulary(name: str) -> dict[str, list[str]]:
    """Read a ``canonical<TAB>variant | variant`` vocabulary file: {canonical: variants}."""
    entries: dict[str, list[str]] = {}
    for number, line in enumerate(_vocab_text(name).splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        canonical, sep, variants = line.partition("\t")
        if not sep:
            raise ValueError(f"vocab/{name} line {number}: expected 'canonical<TAB>variants'")
        names = [v.strip() for v in variants.split("|") if v.strip()]
        entries.setdefault(canonical.strip(), []).extend(names + [canonical.strip()])
    return entries


def _denylist() -> set[str]:
    return {
        line.strip().lower()
        for line in _vocab_text("drug_name_denylist.txt").splitlines()
        if line.strip() and not line.startswith("#")
    }


def _is_everyday_phrase(variant: str, canonical: str) -> bool:
    words = variant.split()
    threshold = COMMON_GENERIC_ZIPF if variant == canonical else COMMON_WORD_ZIPF
    if len(words) == 1:
        return zipf_frequency(variant, "en") >= threshold
    # "plan b", "all clear": every word is common, so the phrase reads as English.
    return all(zipf_frequency(w, "en") >= COMMON_WORD_ZIPF for w in words)


def _build_lexicon() -> dict[str, DrugEntry]:
    path = resources.files(_DICTIONARY_PACKAGE).joinpath(_DICTIONARY_FILE)
    with bz2.open(path) as f:  # type: ignore[arg-type]
        dictionary = pickle.load(f)
    canonical_data = dictionary["drug_canonical_to_data"]
    denied = _denylist()
    lexicon: dict[str, DrugEntry] = {}
    for variant, canonicals in dictionary["drug_variant_to_canonical"].items():
        canonical = canonicals[0]
        data = canonical_data.get(canonical, {})
        if not (data.get("drugbank_id") or data.get("medline_plus_id")):
            continue  # a MeSH concept (protein, dye, drug class), not a medicine
        if len(variant) < 4 or not _NAME_SHAPE.match(variant) or len(variant.split()) > 4:
            continue  # codes ("t-20"), inverted MeSH forms ("water, heavy"), long chemical names
        if variant in denied or _is_everyday_phrase(variant, canonical):
            continue
        lexicon[variant] = DrugEntry(canonical, data.get("drugbank_id"), data.get("mesh_id"))
    # Curated aliases win over the dictionary; ids come from the dictionary entry of the canonical.
    for canonical, variants in read_vocabulary("drug_aliases.tsv").items():
        data = canonical_data.get(canonical, {})
        for variant in variants:
            lexicon[variant.lower()] = DrugEntry(canonical, data.get("drugbank_id"), data.get("mesh_id"))
    return lexicon


def _cache_path() -> Path:
    vocab_hash = hashlib.sha256(
        (_vocab_text("drug_aliases.tsv") + _vocab_text("drug_name_denylist.txt")).encode()
    ).hexdigest()[:12]
    key = f"{metadata.version('drug-named-entity-recognition')}-{_LEXICON_FORMAT}-{vocab_hash}"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "fms_pipeline" / f"drug_lexicon-{key}.json"


@cache
def drug_lexicon() -> dict[str, DrugEntry]:
    """{lower-case name: DrugEntry} for every drug name the pipeline tags."""
    path = _cache_path()
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return {name: DrugEntry(*entry) for name, entry in rows.items()}
    except (OSError, ValueError, TypeError):
        pass
    lexicon = _build_lexicon()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(
            json.dumps({n: [e.canonical, e.drugbank_id, e.mesh_id] for n, e in lexicon.items()}),
            encoding="utf-8",
        )
        tmp.replace(path)
    except OSError:
        pass  # a read-only home still works, just without the cache
    return lexicon


@cache
def drug_classes() -> dict[str, str]:
    """{generic name: drug class} from ``vocab/drug_class_members.tsv``."""
    classes: dict[str, str] = {}
    for drug_class, members in read_vocabulary("drug_class_members.tsv").items():
        for member in members:
            if member != drug_class:
                classes[member.lower()] = drug_class
    return classes


def drug_reference(canonicals: list[str]) -> list[dict]:
    """Rows of the warehouse ``drugs`` table: class and DrugBank/MeSH ids of each drug."""
    by_canonical: dict[str, DrugEntry] = {}
    for entry in drug_lexicon().values():
        current = by_canonical.get(entry.canonical)
        if current is None or (not current.drugbank_id and entry.drugbank_id):
            by_canonical[entry.canonical] = entry
    classes = drug_classes()
    rows = []
    for canonical in sorted(set(canonicals)):
        entry = by_canonical.get(canonical)
        rows.append({
            "drug": canonical,
            "drug_class": classes.get(canonical),
            "drugbank_id": entry.drugbank_id if entry else None,
            "mesh_id": entry.mesh_id if entry else None,
        })
    return rows
