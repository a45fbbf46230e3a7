"""ICD-10-CM reference data: codes for the curated conditions and symptoms, the conditions the
code set's own descriptions name, and the descriptions of codes for the warehouse.

No spaCy here: the warehouse build (the ``conditions`` table) and the pipeline's component
(``conditions.py``) both read this module.

Codes come from the ICD-10-CM code set of ``simple-icd-10-cm``:

* the curated canonicals get the code reviewed for them: conditions (``vocab/conditions.tsv``:
  "fibro", "CFS", "RA" and the like) in ``vocab/condition_codes.tsv``, symptoms and adverse events
  in the code column of ``vocab/adverse_events.tsv``;
* the code set's own descriptions name further conditions ("sickle-cell disease",
  "gastroparesis"): the head of each description (before a comma, "with", "without", "due to")
  when it is a plain name of one to four words, with no vague ("other", "unspecified") or
  relational ("of", "in") word, outside the chapters of injuries, external causes and encounters
  (S-Z); a one-word name only when it is not an everyday English word (no "depression" of a
  cushion, no "stroke" of a pen), since those are matched in any case.

Importing ``simple_icd_10_cm`` parses its XML (~20 s), so the names and codes are read from a disk
cache (keyed by the package version and the mapping file); the code set is imported only to build it.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from importlib import metadata

from wordfreq import zipf_frequency

from fms_pipeline.nlp.disk_cache import cached_json
from fms_pipeline.nlp.drug_lexicon import COMMON_WORD_ZIPF, _vocab_text, read_vocabulary_codes

EVENT_VOCABULARY = "adverse_events.tsv"  # the SYMPTOM vocabulary: adverse-event terms, codes, lay variants

EXCLUDED_CHAPTER_LETTERS = "STVWXYZ"  # injuries, poisonings, external causes, health-status factors
MAX_NAME_WORDS = 4
_NAMES_FORMAT = 3  # bump when the rules below change: the names are cached on disk (reading the code set takes ~20 s)
_NAME_SHAPE = re.compile(r"^[a-z][a-z' -]*[a-z]$")
_QUALIFIER = re.compile(r"\s+(?:without|with|due to|in|of|not elsewhere classified|nos)\b.*$")
_BRACKETS = re.compile(r"\s*(?:\([^)]*\)|\[[^\]]*\])")
_VAGUE_WORDS = frozenset({"other", "unspecified", "specified", "elsewhere", "classified", "unknown", "certain",
                          "following", "complicating", "personal", "family", "history", "abnormal", "findings",
                          "type", "stage", "site", "region", "part", "acquired", "secondary", "primary"})
_RELATIONAL_WORDS = frozenset({"of", "in", "due", "to", "with", "without", "by", "and", "or", "from", "for",
                               "after", "during", "on", "as", "at", "not", "the", "a", "an"})
# A name cut before what it is "associated with" ("Headache associated with sexual activity"): no name.
_DANGLING_WORDS = frozenset({"associated", "replaced", "related"})
# "Sedative, hypnotic, or anxiolytic related disorders", "Lobulated, fused and horseshoe kidney": the part before the
# first comma is one of a list of modifiers of the noun at the end, no name ("sedative" was a condition). A list of
# names ("Encephalitis, myelitis and encephalomyelitis", "Vaginitis, vulvitis and vulvovaginitis in ...") ends at its
# last item or a preposition.
_MODIFIER_LIST = re.compile(r"^[\w-]+, (?:[\w-]+, )*(?:[\w-]+,? )?(?:or|and) [\w-]+ (?!(?:in|of|as|with|without|due|"
                            r"not|classified|complicating|following|associated)\b)[\w-]+", re.IGNORECASE)


CONDITION_CODES = "condition_codes.tsv"


@cache
def _codes_by_file() -> dict[str, dict[str, str]]:
    """{vocabulary file: {curated canonical: ICD-10-CM code}}: ``vocab/condition_codes.tsv``
    (conditions) and the code column of ``vocab/adverse_events.tsv`` (symptoms and adverse events)."""
    conditions: dict[str, str] = {}
    for number, line in enumerate(_vocab_text(CONDITION_CODES).splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        canonical, sep, code = line.partition("\t")
        if not sep or not code.strip():
            raise ValueError(f"vocab/{CONDITION_CODES} line {number}: expected 'canonical<TAB>ICD-10-CM code'")
        conditions[canonical.strip()] = code.strip()
    return {EVENT_VOCABULARY: read_vocabulary_codes(EVENT_VOCABULARY), CONDITION_CODES: conditions}


@cache
def curated_codes() -> dict[str, str]:
    """{curated canonical: ICD-10-CM code} of both files (a condition's code wins); each code is
    checked against the code set when the cache is built."""
    return {canonical: code for codes in _codes_by_file().values() for canonical, code in codes.items()}


def check_curated_codes() -> None:
    import simple_icd_10_cm as icd

    for source, codes in _codes_by_file().items():
        for canonical, code in codes.items():
            if not icd.is_valid_item(code):
                raise ValueError(f"vocab/{source}: {code!r} (for {canonical!r}) is not an ICD-10-CM code")


def _name_of(description: str) -> str | None:
    if _MODIFIER_LIST.match(description):
        return None
    head = _BRACKETS.sub("", description.split(",")[0]).strip().lower()
    head = _QUALIFIER.sub("", head).strip()
    words = head.split()
    if not _NAME_SHAPE.match(head) or not 1 <= len(words) <= MAX_NAME_WORDS:
        return None
    if any(w in _VAGUE_WORDS or w in _RELATIONAL_WORDS for w in words) or words[-1] in _DANGLING_WORDS:
        return None
    if len(words) == 1 and zipf_frequency(head, "en") >= COMMON_WORD_ZIPF:
        return None  # an everyday word ("depression", "stroke", "shock")
    return head


def _cache_name() -> str:
    mapping = hashlib.sha256((_vocab_text(CONDITION_CODES) + _vocab_text(EVENT_VOCABULARY)).encode()
                             ).hexdigest()[:12]
    return f"icd10_names-{metadata.version('simple-icd-10-cm')}-{_NAMES_FORMAT}-{mapping}.json"


@cache
def _code_set() -> dict:
    """{"names": {name: (label, canonical, code)}, "descriptions": {code: description}}, read from
    the disk cache: the code set is imported (~20 s) only to build it, not by every warehouse build."""
    return cached_json(_cache_name(), _build_code_set,
                       decode=lambda v: {"names": {n: tuple(r) for n, r in v["names"].items()},
                                         "descriptions": v["descriptions"]})


def description_names() -> dict[str, tuple[str, str, str]]:
    """{lower-case name as written: (label, canonical, code)} from the code set's descriptions; the
    most general code (the shortest) of a name wins; "sickle cell disease" also without its hyphen."""
    return _code_set()["names"]


def _build_code_set() -> dict:
    import simple_icd_10_cm as icd

    check_curated_codes()
    names: dict[str, tuple[str, str, str]] = {}
    for code in icd.get_all_codes(with_dots=True):
        if code[0] in EXCLUDED_CHAPTER_LETTERS or not icd.is_category_or_subcategory(code):
            continue
        name = _name_of(icd.get_description(code))
        if name is None:
            continue
        label = "SYMPTOM" if code[0] == "R" else "CONDITION"
        for variant in dict.fromkeys((name, name.replace("-", " "))):
            current = names.get(variant)
            if current is None or len(code) < len(current[2]):
                names[variant] = (label, name, code)
    codes = {code for _, _, code in names.values()} | set(curated_codes().values())
    return {"names": names, "descriptions": {code: icd.get_description(code) for code in sorted(codes)}}


@cache
def _code_by_canonical() -> dict[str, str]:
    codes = {canonical: code for _, canonical, code in description_names().values()}
    codes.update(curated_codes())
    return codes


def code_of(canonical: str) -> str | None:
    return _code_by_canonical().get(canonical)


def condition_reference(names: list[str]) -> list[dict]:
    """Rows of the warehouse ``conditions`` table: the ICD-10-CM code and its description per condition."""
    descriptions = _code_set()["descriptions"]
    rows = []
    for name in sorted(set(names)):
        code = code_of(name)
        rows.append({"condition": name, "icd10_code": code,
                     "icd10_description": descriptions.get(code) if code else None})
    return rows
