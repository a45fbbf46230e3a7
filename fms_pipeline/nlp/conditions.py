"""ICD-10-CM codes for conditions and symptoms, and conditions named by the code set's descriptions.

Codes come from the ICD-10-CM code set of ``simple-icd-10-cm``:

* the curated canonicals (``vocab/conditions.tsv``, ``vocab/symptoms.tsv``: "fibro", "CFS", "RA"
  and the like) get the code reviewed for them in ``vocab/condition_codes.tsv``;
* the code set's own descriptions name further conditions ("sickle-cell disease",
  "gastroparesis"): the head of each description (before a comma, "with", "without", "due to")
  when it is a plain name of one to four words, with no vague ("other", "unspecified") or
  relational ("of", "in") word, outside the chapters of injuries, external causes and encounters
  (S-Z); a one-word name only when it is not an everyday English word (no "depression" of a
  cushion, no "stroke" of a pen), since those are matched in any case.

Each CONDITION or SYMPTOM entity gets ``span._.icd10`` (None where no code fits).

Importing ``simple_icd_10_cm`` parses its XML (~20 s), so the pipeline reads the names and codes
from a disk cache (keyed by the package version and the mapping file) and imports it only to
build that cache and to describe codes for the warehouse.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from functools import cache
from importlib import metadata
from pathlib import Path

import srsly
from spacy import util
from spacy.language import Language
from spacy.tokens import Doc
from wordfreq import zipf_frequency

from fms_pipeline.nlp import extensions
from fms_pipeline.nlp.disk_cache import cached_json
from fms_pipeline.nlp.drug_lexicon import COMMON_WORD_ZIPF, _vocab_text

extensions.register("icd10", None)

CODED_LABELS = frozenset({"CONDITION", "SYMPTOM"})
EXCLUDED_CHAPTER_LETTERS = "STVWXYZ"  # injuries, poisonings, external causes, health-status factors
MAX_NAME_WORDS = 4
_NAMES_FORMAT = 2  # bump when the rules below change: the names are cached on disk (reading the code set takes ~20 s)
_NAME_SHAPE = re.compile(r"^[a-z][a-z' -]*[a-z]$")
_QUALIFIER = re.compile(r"\s+(?:without|with|due to|in|of|not elsewhere classified|nos)\b.*$")
_BRACKETS = re.compile(r"\s*(?:\([^)]*\)|\[[^\]]*\])")
_VAGUE_WORDS = frozenset({"other", "unspecified", "specified", "elsewhere", "classified", "unknown", "certain",
                          "following", "complicating", "personal", "family", "history", "abnormal", "findings",
                          "type", "stage", "site", "region", "part", "acquired", "secondary", "primary"})
_RELATIONAL_WORDS = frozenset({"of", "in", "due", "to", "with", "without", "by", "and", "or", "from", "for",
                               "after", "during", "on", "as", "at", "not", "the", "a", "an"})


@cache
def curated_codes() -> dict[str, str]:
    """{curated canonical: ICD-10-CM code} from ``vocab/condition_codes.tsv`` (each code is checked
    against the code set when the cache is built)."""
    codes: dict[str, str] = {}
    for number, line in enumerate(_vocab_text("condition_codes.tsv").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        canonical, sep, code = line.partition("\t")
        if not sep or not code.strip():
            raise ValueError(f"vocab/condition_codes.tsv line {number}: expected 'canonical<TAB>ICD-10-CM code'")
        codes[canonical.strip()] = code.strip()
    return codes


def check_curated_codes() -> None:
    import simple_icd_10_cm as icd

    for canonical, code in curated_codes().items():
        if not icd.is_valid_item(code):
            raise ValueError(f"vocab/condition_codes.tsv: {code!r} (for {canonical!r}) is not an ICD-10-CM code")


def _name_of(description: str) -> str | None:
    head = _BRACKETS.sub("", description.split(",")[0]).strip().lower()
    head = _QUALIFIER.sub("", head).strip()
    words = head.split()
    if not _NAME_SHAPE.match(head) or not 1 <= len(words) <= MAX_NAME_WORDS:
        return None
    if any(w in _VAGUE_WORDS or w in _RELATIONAL_WORDS for w in words):
        return None
    if len(words) == 1 and zipf_frequency(head, "en") >= COMMON_WORD_ZIPF:
        return None  # an everyday word ("depression", "stroke", "shock")
    return head


def _cache_name() -> str:
    mapping = hashlib.sha256(_vocab_text("condition_codes.tsv").encode()).hexdigest()[:12]
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


class ConditionCodes:
    """The ``fms_condition_codes`` component: sets ``span._.icd10`` on each CONDITION and SYMPTOM
    entity with a code. Its {canonical: code} map is data: ``initialize`` takes it (or builds it
    from the code set's names and ``vocab/condition_codes.tsv``), ``to_disk`` saves ``codes.json``."""

    def __init__(self, nlp: Language, name: str = "fms_condition_codes", *, labels: Iterable[str] = CODED_LABELS):
        self.name = name
        self.labels = frozenset(labels)
        self.codes: dict[str, str] = {}
        self.initialized = False

    def initialize(self, get_examples: Callable[[], Iterable] | None = None, *, nlp: Language | None = None,
                   codes: dict[str, str] | None = None) -> None:
        self.codes = dict(_code_by_canonical() if codes is None else codes)
        self.initialized = True

    def __call__(self, doc: Doc) -> Doc:
        if not self.initialized:
            raise ValueError(f"{self.name}: no ICD-10-CM codes loaded; call nlp.initialize() or load a saved "
                             "pipeline (spacy.load) first")
        codes = self.codes
        for ent in doc.ents:
            if ent.label_ in self.labels:
                code = codes.get(ent.ent_id_)
                if code:
                    ent._.icd10 = code
        return doc

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = util.ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "codes.json", self.codes)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> ConditionCodes:
        file = util.ensure_path(path) / "codes.json"
        codes = srsly.read_json(file)
        if not isinstance(codes, dict) or not all(isinstance(v, str) for v in codes.values()):
            raise ValueError(f"{file}: expected a JSON object of canonical name to ICD-10-CM code")
        self.codes = codes
        self.initialized = True
        return self


@Language.factory(
    "fms_condition_codes",
    default_config={"labels": sorted(CODED_LABELS)},
    assigns=["span._.icd10"],
    requires=["doc.ents"],
)
def make_condition_codes(nlp: Language, name: str, labels: list[str]) -> ConditionCodes:
    return ConditionCodes(nlp, name, labels=labels)
