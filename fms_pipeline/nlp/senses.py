"""The ``fms_event_senses`` component: a bare symptom word whose event depends on its sentence ("cramps" beside
"heavy cycle" are menstrual cramps, beside "nausea" stomach cramps) gets that event as its canonical
(``ent.ent_id_``); elsewhere it keeps the vocabulary's. The senses are data, ``vocab/event_senses.tsv`` (its header
says why); ``initialize`` reads them, ``to_disk`` saves ``senses.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import srsly
from spacy import util
from spacy.language import Language
from spacy.tokens import Doc, Span

SENSES_FILE = "event_senses.tsv"
Senses = dict[str, list[tuple[str, list[str]]]]  # word: [(event term, context words)], in the file's order


def read_senses(name: str = SENSES_FILE) -> Senses:
    """{word: [(term, context words)]} of ``vocab/event_senses.tsv``; each word a variant of the symptom vocabulary
    and each term one of its terms."""
    from fms_pipeline.nlp.drug_lexicon import _vocab_text, read_vocabulary
    from fms_pipeline.nlp.icd10 import EVENT_VOCABULARY

    vocabulary = read_vocabulary(EVENT_VOCABULARY)
    variants = {v.lower() for names in vocabulary.values() for v in names}
    senses: Senses = {}
    for number, line in enumerate(_vocab_text(name).splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")]
        words = [w.strip().lower() for w in fields[2].split("|") if w.strip()] if len(fields) == 3 else []
        if len(fields) != 3 or fields[0] not in variants or fields[1] not in vocabulary or not words:
            raise ValueError(f"vocab/{name} line {number}: expected 'word<TAB>term<TAB>context | words', the word a "
                             f"variant and the term a term of {EVENT_VOCABULARY}: {line!r}")
        senses.setdefault(fields[0], []).append((fields[1], words))
    return senses


class EventSenses:
    """Sets the canonical of SYMPTOM entities that are a bare word of ``senses`` to the first sense whose context
    words (or phrases, matched on whole tokens) its sentence has; not where "in" follows the word (a body part)."""

    def __init__(self, nlp: Language, name: str = "fms_event_senses"):
        self.name = name
        self.senses: Senses = {}
        self.initialized = False

    def initialize(self, get_examples: Callable[[], Iterable] | None = None, *, nlp: Language | None = None,
                   senses: dict | None = None) -> None:
        self.senses = read_senses() if senses is None else senses
        self.initialized = True

    def __call__(self, doc: Doc) -> Doc:
        if not self.initialized:
            raise ValueError(f"{self.name}: no senses loaded; call nlp.initialize() or load a saved pipeline first")
        senses = self.senses
        ents = list(doc.ents)
        changed = False
        for k, ent in enumerate(ents):
            choices = senses.get(ent.text.lower()) if ent.label_ == "SYMPTOM" else None
            # (a place named after it is the body's: "cramps in my calves ... and gas" stay muscle cramps)
            if not choices or (ent.end < len(doc) and doc[ent.end].lower_ == "in"):
                continue
            sentence = " " + " ".join(t.lower_ for t in ent.sent) + " "
            term = next((term for term, words in choices if any(f" {w} " in sentence for w in words)), None)
            if term is not None and term != ent.ent_id_:
                ents[k] = Span(doc, ent.start, ent.end, label=ent.label, span_id=term)
                changed = True
        if changed:
            doc.ents = ents
        return doc

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = util.ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "senses.json", self.senses)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> EventSenses:
        file = util.ensure_path(path) / "senses.json"
        data = srsly.read_json(file)
        if not isinstance(data, dict):
            raise ValueError(f"{file}: expected a JSON object of word to [term, context words] senses")
        self.senses = {word: [(term, list(words)) for term, words in choices] for word, choices in data.items()}
        self.initialized = True
        return self


@Language.factory("fms_event_senses", assigns=["doc.ents"], requires=["doc.ents", "doc.sents"])
def make_event_senses(nlp: Language, name: str) -> EventSenses:
    return EventSenses(nlp, name)
