"""The ``fms_condition_codes`` component: the ICD-10-CM code of each CONDITION and SYMPTOM entity
in ``span._.icd10`` (None where no code fits). The code set's data (curated codes, the names its
descriptions give, the warehouse's descriptions) lives in ``icd10.py``, which needs no spaCy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import srsly
from spacy import util
from spacy.language import Language
from spacy.tokens import Doc

from fms_pipeline.nlp import extensions
from fms_pipeline.nlp.icd10 import (  # noqa: F401  (re-exported: the code set's data lives there)
    EXCLUDED_CHAPTER_LETTERS, _code_by_canonical, check_curated_codes, code_of, condition_reference, curated_codes,
    description_names,
)

extensions.register("icd10", None)

CODED_LABELS = frozenset({"CONDITION", "SYMPTOM"})


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
