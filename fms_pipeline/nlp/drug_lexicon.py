"""Drug names for the entity ruler, from the `drug-named-entity-recognition` dictionary.

That package (MIT, Fast Data Science) ships about 107,000 names for 20,000 drugs with
DrugBank, MeSH and MedlinePlus ids. We use its data, not its matcher: its fuzzy path
crashes on multi-word input and maps "Neurotin" to carbamazepine.

The dictionary also holds MeSH concepts that are not medicines (proteins, blood groups,
dyes) and brand names that are everyday words ("Today", "Alert"). Filtering keeps a name
when its drug has a DrugBank or MedlinePlus entry and the name is not a common English
word (by `wordfreq`), plus the curated names in ``vocab/drug_aliases.tsv`` (forum, street,
withdrawn and famous brand names), ``vocab/drug_combinations.tsv`` (combination products) and
``vocab/supplements.tsv`` (vitamins, supplements, herbal and cannabis products).

Combination products have a canonical of their ingredients' generic names joined by "/"
(Percocet -> ``oxycodone/acetaminophen``). The dictionary's own combinations (DrugBank's
"diclofenac/misoprostol", MedlinePlus's "acetaminophen and codeine") are kept when every
ingredient is a drug of the lexicon, with ingredient names normalised to the lexicon's
canonicals (paracetamol -> acetaminophen).

Building the filtered lexicon takes a few seconds, so it is cached on disk, keyed by the
dictionary's version and the vocabulary files.
"""

from __future__ import annotations

import bz2
import hashlib
import pickle
import re
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources

from wordfreq import zipf_frequency

from fms_pipeline.nlp.disk_cache import cached_json
from fms_pipeline.nlp.phrase_syntax import alternatives

_DICTIONARY_PACKAGE = "drug_named_entity_recognition"
_DICTIONARY_FILE = "drug_ner_dictionary.pkl.bz2"
_LEXICON_FORMAT = 4  # bump when the filtering rules below change

# A single-word brand or synonym this frequent in English is an everyday word ("today").
COMMON_WORD_ZIPF = 3.0
# A generic name is kept up to this frequency (aspirin 3.3, insulin 3.8) but not "water".
COMMON_GENERIC_ZIPF = 4.2
_NAME_SHAPE = re.compile(r"^[a-z][a-z'\- ]*[a-z]$")
# Files of curated names, in the order they win (a later file overrides an earlier one).
CURATED_FILES = ("drug_aliases.tsv", "supplements.tsv", "drug_combinations.tsv")
# "a/b", "a and b", "a, b, and c": how DrugBank and MedlinePlus name combinations.
_INGREDIENT_SEPARATOR = re.compile(r"\s*/\s*|,\s*(?:and\s+)?|\s+and\s+")


@dataclass(frozen=True)
class DrugEntry:
    canonical: str  # lower-case generic name; "a/b" for a combination product
    drugbank_id: str | None
    mesh_id: str | None
    ingredients: tuple[str, ...] = ()  # generic names; (canonical,) for a single drug

    def __post_init__(self):
        if not self.ingredients:
            object.__setattr__(self, "ingredients", (self.canonical,))


def _vocab_text(name: str) -> str:
    return resources.files("fms_pipeline.nlp").joinpath("vocab", name).read_text(encoding="utf-8")


def _vocabulary_rows(name: str):
    """(line number, canonical, code, variants) of a ``canonical<TAB>variants`` or
    ``canonical<TAB>code<TAB>variants`` file (the adverse-event vocabulary carries ICD-10-CM codes)."""
    for number, line in enumerate(_vocab_text(name).splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) not in (2, 3) or not fields[0].strip():
            raise ValueError(f"vocab/{name} line {number}: expected 'canonical<TAB>variants' or "
                             "'canonical<TAB>code<TAB>variants'")
        code = fields[1].strip() if len(fields) == 3 else ""
        yield number, fields[0].strip(), code, alternatives(fields[-1], where=f"vocab/{name} line {number}")


def read_vocabulary(name: str) -> dict[str, list[str]]:
    """Read a vocabulary file (``canonical<TAB>variant | variant``, or with a code column between):
    {canonical: variants}."""
    entries: dict[str, list[str]] = {}
    for _, canonical, _, names in _vocabulary_rows(name):
        entries.setdefault(canonical, []).extend(names + [canonical])
    return entries


def read_vocabulary_codes(name: str) -> dict[str, str]:
    """{canonical: code} of a vocabulary file with a code column, for the canonicals that have one."""
    return {canonical: code for _, canonical, code, _ in _vocabulary_rows(name) if code}


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


def _is_combination_name(canonical: str) -> bool:
    return "/" in canonical or " and " in canonical


def _resolve_ingredients(canonical: str, names: dict[str, DrugEntry]) -> tuple[str, ...] | None:
    """The ingredients' canonicals of a combination name, or None when one is not a known drug."""
    resolved = []
    for part in _INGREDIENT_SEPARATOR.split(canonical):
        entry = names.get(part.strip())
        if entry is None or len(entry.ingredients) != 1:
            return None
        resolved.append(entry.canonical)
    resolved = list(dict.fromkeys(resolved))
    return tuple(resolved) if len(resolved) > 1 else None


def _build_lexicon() -> dict[str, DrugEntry]:
    path = resources.files(_DICTIONARY_PACKAGE).joinpath(_DICTIONARY_FILE)
    with bz2.open(path) as f:  # type: ignore[arg-type]
        dictionary = pickle.load(f)
    canonical_data = dictionary["drug_canonical_to_data"]
    denied = _denylist()

    def entry_of(canonical: str, ingredients: tuple[str, ...] = ()) -> DrugEntry:
        data = canonical_data.get(canonical, {})
        return DrugEntry(canonical, data.get("drugbank_id"), data.get("mesh_id"), ingredients)

    def kept(variant: str, canonical: str) -> bool:
        if len(variant) < 4 or not _NAME_SHAPE.match(variant) or len(variant.split()) > 4:
            return False  # codes ("t-20"), inverted MeSH forms ("water, heavy"), long chemical names
        return variant not in denied and not _is_everyday_phrase(variant, canonical)

    lexicon: dict[str, DrugEntry] = {}
    combinations: list[tuple[str, str]] = []
    for variant, canonicals in dictionary["drug_variant_to_canonical"].items():
        canonical = canonicals[0]
        if _is_combination_name(canonical):
            combinations.append((variant, canonical))
            continue
        data = canonical_data.get(canonical, {})
        if not (data.get("drugbank_id") or data.get("medline_plus_id")):
            continue  # a MeSH concept (protein, dye, drug class), not a medicine
        if kept(variant, canonical):
            lexicon[variant] = entry_of(canonical)
    # Curated single-drug names win over the dictionary; ids come from the dictionary entry of the canonical.
    for filename in CURATED_FILES[:-1]:
        for canonical, variants in read_vocabulary(filename).items():
            for variant in variants:
                lexicon[variant.lower()] = entry_of(canonical)

    # Ingredients resolve against every medicine's generic name, also those too common to be
    # matched in text ("caffeine" of Excedrin), and against the names above (paracetamol).
    generics = {c: entry_of(c) for c, data in canonical_data.items()
                if (data.get("drugbank_id") or data.get("medline_plus_id")) and not _is_combination_name(c)}
    generics.update(lexicon)
    # Combinations: one canonical per set of ingredients, the curated spelling first.
    by_ingredients: dict[frozenset, DrugEntry] = {}
    for number, (canonical, variants) in enumerate(read_vocabulary(CURATED_FILES[-1]).items(), start=1):
        ingredients = _resolve_ingredients(canonical, generics)
        if ingredients is None or "/".join(ingredients) != canonical:
            raise ValueError(f"vocab/{CURATED_FILES[-1]}: {canonical!r} is not 'a/b' of generic names the lexicon "
                             f"knows (as their canonicals); resolved to {ingredients}")
        by_ingredients[frozenset(ingredients)] = DrugEntry(canonical, None, None, ingredients)
    for variant, canonical in combinations:
        ingredients = _resolve_ingredients(canonical, generics)
        if ingredients is None:
            # "cancer/testis antigen 1" is no medicine; "belladonna alkaloid combinations and
            # phenobarbital" (MedlinePlus) is one, kept under its own name as before.
            data = canonical_data.get(canonical, {})
            if (data.get("drugbank_id") or data.get("medline_plus_id")) and kept(variant, canonical):
                lexicon.setdefault(variant, entry_of(canonical))
            continue
        data = canonical_data.get(canonical, {})
        key = frozenset(ingredients)
        current = by_ingredients.get(key)
        if current is None or (current.mesh_id is None and current.drugbank_id is None and data):
            current = DrugEntry(current.canonical if current else "/".join(ingredients),
                                data.get("drugbank_id"), data.get("mesh_id"), current.ingredients if current else ingredients)
            by_ingredients[key] = current
        if variant != canonical and kept(variant, canonical):
            lexicon.setdefault(variant, current)
    for entry in by_ingredients.values():
        lexicon[entry.canonical] = entry  # "oxycodone/acetaminophen" as written
    for canonical, variants in read_vocabulary(CURATED_FILES[-1]).items():
        entry = by_ingredients[frozenset(canonical.split("/"))]
        for variant in variants:
            lexicon[variant.lower()] = entry
    # Entries made before their combination was settled point at the final one.
    return {name: (by_ingredients.get(frozenset(e.ingredients), e) if len(e.ingredients) > 1 else e)
            for name, e in lexicon.items()}


def _cache_name() -> str:
    vocab_hash = hashlib.sha256(
        "".join(_vocab_text(name) for name in (*CURATED_FILES, "drug_name_denylist.txt")).encode()
    ).hexdigest()[:12]
    return f"drug_lexicon-{metadata.version('drug-named-entity-recognition')}-{_LEXICON_FORMAT}-{vocab_hash}.json"


@cache
def drug_lexicon() -> dict[str, DrugEntry]:
    """{lower-case name: DrugEntry} for every drug name the pipeline tags."""
    return cached_json(
        _cache_name(), _build_lexicon,
        encode=lambda lexicon: {n: [e.canonical, e.drugbank_id, e.mesh_id, list(e.ingredients)]
                                for n, e in lexicon.items()},
        decode=lambda rows: {name: DrugEntry(canonical, drugbank, mesh, tuple(ingredients))
                             for name, (canonical, drugbank, mesh, ingredients) in rows.items()},
    )


@cache
def _ingredients_by_canonical() -> dict[str, tuple[str, ...]]:
    return {entry.canonical: entry.ingredients for entry in drug_lexicon().values()}


def same_drug(a: str, b: str) -> bool:
    """Whether two canonicals share an ingredient: losartan is (part of) Hyzaar, cetirizine of Zyrtec-D."""
    if a == b:
        return True
    known = _ingredients_by_canonical()
    return bool(set(known.get(a, (a,))) & set(known.get(b, (b,))))


@cache
def form_suffixes() -> frozenset[str]:
    """Release-form and preparation words of drug columns (``vocab/drug_form_suffixes.txt``)."""
    return frozenset(line.strip().lower() for line in _vocab_text("drug_form_suffixes.txt").splitlines()
                     if line.strip() and not line.startswith("#"))


def canonical_drug(name: str) -> str:
    """The lexicon's generic name of a drug named in a drug column ("Lyrica", "ortho-evra",
    "Effexor-XR": its release form dropped), else the name as written, lower-cased and with its
    spaces collapsed."""
    written = " ".join(name.lower().split())
    lexicon = drug_lexicon()
    words = written.replace("-", " ").split()
    names = [written]
    while len(words) > 1 and words[-1] in form_suffixes():
        words = words[:-1]
        names.append(" ".join(words))
    for known in names:
        for candidate in (known, known.replace("-", " "), known.replace(" ", "-"), known.replace("-", "")):
            entry = lexicon.get(candidate)
            if entry is not None:
                return entry.canonical
    return written


@cache
def drug_classes() -> dict[str, str]:
    """{generic name: drug class} from ``vocab/drug_class_members.tsv``."""
    classes: dict[str, str] = {}
    for drug_class, members in read_vocabulary("drug_class_members.tsv").items():
        for member in members:
            if member != drug_class:
                classes[member.lower()] = drug_class
    return classes


def class_of(ingredients: tuple[str, ...] | list[str]) -> str | None:
    """The class of a drug from its active ingredients: "opioid" for oxycodone, "opioid/analgesic"
    for oxycodone/acetaminophen (each ingredient's class once, in ingredient order)."""
    classes = drug_classes()
    found = list(dict.fromkeys(classes[i] for i in ingredients if i in classes))
    return "/".join(found) or None


def drug_reference(canonicals: list[str]) -> list[dict]:
    """Rows of the warehouse ``drugs`` table: class, DrugBank/MeSH ids and ingredients of each drug."""
    by_canonical: dict[str, DrugEntry] = {}
    for entry in drug_lexicon().values():
        current = by_canonical.get(entry.canonical)
        if current is None or (not current.drugbank_id and entry.drugbank_id):
            by_canonical[entry.canonical] = entry
    rows = []
    for canonical in sorted(set(canonicals)):
        entry = by_canonical.get(canonical)
        ingredients = list(entry.ingredients) if entry else [canonical]
        rows.append({
            "drug": canonical,
            "drug_class": class_of(ingredients),
            "drugbank_id": entry.drugbank_id if entry else None,
            "mesh_id": entry.mesh_id if entry else None,
            "ingredients": ingredients,
        })
    return rows
