"""Context of each entity (ConText-style rules tuned to forum writing).

Sets, on every span in ``doc.ents``:

* ``span._.negated``      "no pain meds work", "I don't use it for my fibromyalgia"
* ``span._.hypothetical`` "if they gave me ...", "would I ..."
* ``span._.historical``   "was on", "used to take", "tried"
* ``span._.experiencer``  ``"patient"`` or ``"other"`` ("my wife was diagnosed ..."); None for
  people, places and organisations

A trigger applies to the entities after it (forward) or before it (backward) in the same
sentence, up to a terminator ("but", "except", ";" ...) or a window of tokens. A pseudo-trigger
("not only", "no doubt", "can't believe how well") looks like negation but is not: the triggers
inside it are ignored. Triggers are data: ``vocab/context_triggers.tsv``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import srsly
from spacy import util
from spacy.attrs import LOWER
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.strings import hash_string
from spacy.tokens import Doc, Span

from fms_pipeline.nlp import extensions
from fms_pipeline.nlp.phrase_syntax import alternatives

FORWARD_WINDOW = 8
BACKWARD_WINDOW = 6
FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself", "i'm", "i’m", "im", "i've", "i’ve", "i'd", "i’d"})
_FIRST_PERSON_HASHES = np.sort(np.array([hash_string(w) for w in FIRST_PERSON], dtype=np.uint64))
NOT_EXPERIENCED = frozenset({"PERSON", "GPE", "ORG"})
WORDED_LABELS = frozenset({"SYMPTOM", "CONDITION"})  # entities whose own words may hold a trigger
CATEGORIES = ("negated", "hypothetical", "historical", "other", "other_pronoun", "pseudo", "terminator", "stopped",
              "looked_for")
DIRECTIONS = ("forward", "backward", "both", "adjacent")
# ``looked_for`` triggers ("to check for", "tested for") make what a test looks for hypothetical, not a drug after them:
# "I got tested for sleep apnea after starting methadone", "they test for oxycodone at every visit" (a drug screen).
# The ``adjacent`` direction is backward onto the span just before the trigger only: "Addiction risk." (not "I got
# addicted to oxycodone, the risk was real").
DRUG_LABELS = frozenset({"DRUG", "DRUG_CLASS"})
# A habitual "would" pseudo-trigger ("would make me", "I would get") is no habit after a word that predicts, or in a
# question: "My doctor said Cymbalta would make me feel better", "Do you think gabapentin would make my fog worse?".
PREDICTING = frozenset({"said", "says", "say", "told", "tells", "think", "thinks", "thought", "know", "knew", "hope",
                        "hoped", "hopefully", "hoping", "believe", "believes", "expect", "expected", "promised",
                        "guess", "bet", "sure", "wish", "maybe", "probably", "worry", "worried", "afraid", "scared",
                        "fear", "expecting", "expects", "mentioned", "warned", "assumed", "before", "apparently"})
# "I would have lost weight anyway", "I would have to apply it twice": "would have" a counterfactual or a duty, not
# the habitual past ("I would have mild itching"), when a participle, "to", "anyway" or "otherwise" goes with it.
_PARTICIPLES = frozenset({"been", "had", "lost", "gone", "done", "taken", "known", "gotten", "got", "made", "felt",
                          "thought", "seen", "given", "become", "put", "quit", "stopped", "tried", "to"})
_COUNTERFACTUAL = frozenset({"anyway", "anyways", "otherwise"})
_FEEL_LIKE = (frozenset({"feel", "feels", "felt"}), "like")
# ``stopped`` triggers ("stopped taking") negate what follows them as ``negated`` ones do (the drug stopped, an outcome
# cue: "I stopped taking it and feel so much better" is no effect of it), except the symptoms and conditions: "When I
# stopped taking it I had terrible headaches" reports the headaches (the withdrawal's events).

for _name, _default in (("negated", False), ("hypothetical", False), ("historical", False), ("experiencer", "patient")):
    extensions.register(_name, _default)


@dataclass(frozen=True)
class Trigger:
    category: str
    direction: str  # forward, backward, both


@cache
def triggers() -> dict[str, list[Trigger]]:
    """{phrase (lower case): [Trigger]} from vocab/context_triggers.tsv."""
    text = resources.files("fms_pipeline.nlp").joinpath("vocab", "context_triggers.tsv").read_text(encoding="utf-8")
    table: dict[str, list[Trigger]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"vocab/context_triggers.tsv line {number}: expected category, direction, phrases")
        category, direction, phrases = parts
        if category not in CATEGORIES or direction not in DIRECTIONS:
            raise ValueError(f"vocab/context_triggers.tsv line {number}: unknown category {category!r} or "
                             f"direction {direction!r}")
        for phrase in alternatives(phrases, where=f"vocab/context_triggers.tsv line {number}"):
            table.setdefault(phrase.lower(), []).append(Trigger(category, direction))
    return table


@dataclass(frozen=True)
class SpanContext:
    negated: bool = False
    hypothetical: bool = False
    historical: bool = False
    experiencer: str = "patient"
    stopped: bool = False  # after a ``stopped`` trigger ("When I stopped taking it I had ...")


DEFAULT_CONTEXT = SpanContext()


class EntityContext:
    """The ``fms_context`` pipeline component.

    Its trigger table is data: ``initialize`` reads it from ``vocab/context_triggers.tsv`` (or
    takes one), ``to_disk``/``from_disk`` save and load it as ``triggers.json``; the windows are
    its config.
    """

    def __init__(self, nlp: Language, name: str = "fms_context", *, forward_window: int = FORWARD_WINDOW,
                 backward_window: int = BACKWARD_WINDOW):
        self.nlp = nlp
        self.name = name
        self.forward_window = forward_window
        self.backward_window = backward_window
        self.table: dict[str, list[Trigger]] = {}
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.initialized = False  # until initialize() or from_disk() gives it triggers

    def set_triggers(self, table: dict[str, list[Trigger]]) -> None:
        self.table = table
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        for phrase in table:
            self.matcher.add(phrase, [self.nlp.make_doc(phrase)])
        self.initialized = True

    def initialize(self, get_examples: Callable[[], Iterable] | None = None, *, nlp: Language | None = None,
                   trigger_table: dict[str, list[list[str]]] | None = None) -> None:
        """Load the triggers: ``trigger_table`` ({phrase: [[category, direction], ...]}) or the shipped file's."""
        if trigger_table is None:
            self.set_triggers(triggers())
        else:
            self.set_triggers(_triggers_from_rows(trigger_table, "the trigger table passed to initialize"))

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = util.ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "triggers.json",
                         {phrase: [[t.category, t.direction] for t in found] for phrase, found in self.table.items()})

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> EntityContext:
        file = util.ensure_path(path) / "triggers.json"
        self.set_triggers(_triggers_from_rows(srsly.read_json(file), str(file)))
        return self

    def find_triggers(self, doc: Doc) -> list[tuple[int, int, Trigger]]:
        """(start, end, trigger) of every trigger in the doc, cached on the doc."""
        if "fms_triggers" not in doc.user_data:
            if not self.initialized:
                raise ValueError(f"{self.name}: no context triggers loaded; call nlp.initialize() or load a saved "
                                 "pipeline (spacy.load) first")
            found = []
            for match_id, start, end in self.matcher(doc):
                for trigger in self.table[doc.vocab.strings[match_id]]:
                    found.append((start, end, trigger))
            doc.user_data["fms_triggers"] = found
        return doc.user_data["fms_triggers"]

    def _sentence_index(self, doc: Doc) -> dict:
        """Per doc, once: sentence bounds, which sentences speak in the first person, and the
        triggers of each sentence."""
        if "fms_sentences" not in doc.user_data:
            bounds = [(s.start, s.end) for s in doc.sents]
            starts = [b[0] for b in bounds]
            first_person = [False] * len(bounds)
            per_sentence: list[list[tuple[int, int, Trigger]]] = [[] for _ in bounds]
            # One vectorised pass over the tokens' lower-case hashes instead of a Python loop.
            # (np.isin took ~43 µs for a 450-token doc; a binary search against the sorted hashes 12.)
            lower = doc.to_array(LOWER)
            nearest = _FIRST_PERSON_HASHES[np.minimum(np.searchsorted(_FIRST_PERSON_HASHES, lower),
                                                      len(_FIRST_PERSON_HASHES) - 1)]
            for i in np.flatnonzero(nearest == lower).tolist():
                first_person[bisect_right(starts, i) - 1] = True
            # A trigger inside a symptom is part of it, not about what follows: the "n't" of "couldn't
            # pee", the "no" of "no libido" (the symptoms the event vocabulary spells with them).
            triggers_found = self.find_triggers(doc)
            owner: list[int] = [0] * len(doc) if triggers_found else []  # 1 + the index of the worded entity
            if triggers_found:
                for number, e in enumerate(doc.ents, start=1):
                    if e.label_ in WORDED_LABELS:
                        owner[e.start:e.end] = [number] * (e.end - e.start)
            for start, end, trigger in triggers_found:
                if owner[start] and owner[start] == owner[end - 1]:
                    continue
                per_sentence[bisect_right(starts, start) - 1].append((start, end, trigger))
            doc.user_data["fms_sentences"] = {"starts": starts, "bounds": bounds,
                                              "first_person": first_person, "triggers": per_sentence}
        return doc.user_data["fms_sentences"]

    def assess(self, span: Span) -> SpanContext:
        """The context of any span (an entity, an outcome cue) from the triggers around it."""
        index = self._sentence_index(span.doc)
        number = bisect_right(index["starts"], span.start) - 1
        found = index["triggers"][number]
        if not found:
            return DEFAULT_CONTEXT
        terminators = [s for s, _, t in found if t.category == "terminator"]
        pseudo = [(s, e) for s, e, t in found if t.category == "pseudo"
                  and not _predicted_would(span.doc, index["bounds"][number], s, e)]
        flags = {"negated": False, "hypothetical": False, "historical": False, "stopped": False}
        experiencer = "patient"
        for start, end, trigger in found:
            if trigger.category in ("terminator", "pseudo") or (start >= span.start and end <= span.end):
                continue  # a trigger inside the span is part of it ("pain meds", "didn't help")
            if any(s <= start and end <= e for s, e in pseudo):
                continue  # the "not" of "not only", the "no" of "no doubt": not a negation
            applies = False
            if trigger.direction in ("forward", "both") and end <= span.start:
                applies = span.start - end <= self.forward_window and not any(end <= s < span.start for s in terminators)
            if not applies and trigger.direction in ("backward", "both") and start >= span.end:
                applies = start - span.end <= self.backward_window and not any(span.end <= s < start for s in terminators)
            if trigger.direction == "adjacent":
                applies = start == span.end
            if not applies:
                continue
            if trigger.category == "looked_for":
                flags["hypothetical"] = flags["hypothetical"] or span.label_ not in DRUG_LABELS
                continue
            if trigger.category == "other" or (trigger.category == "other_pronoun" and not index["first_person"][number]):
                experiencer = "other"
            elif trigger.category == "stopped":
                flags["stopped"] = True
                flags["negated"] = flags["negated"] or span.label_ not in WORDED_LABELS
            elif trigger.category in flags:
                flags[trigger.category] = True
        return SpanContext(experiencer=experiencer, **flags)

    def __call__(self, doc: Doc) -> Doc:
        for ent in doc.ents:
            context = self.assess(ent)
            # Who experiences it means something for a drug, a condition or a symptom; for a
            # person, a place or an organisation it is left empty rather than a guess.
            extensions.set_values(ent, negated=context.negated, hypothetical=context.hypothetical,
                                  historical=context.historical,
                                  experiencer=context.experiencer if ent.label_ not in NOT_EXPERIENCED else None)
        return doc


def _predicted_would(doc: Doc, bounds: tuple[int, int], start: int, end: int) -> bool:
    """Whether the pseudo-trigger doc[start:end] is a habitual "would" ("would make me", "I'd get") that is no habit
    here: after a word that predicts (``PREDICTING``, "feel like") or in a question. ``bounds``: its sentence's."""
    words = [t.lower_ for t in doc[start:end]]
    if not any(w in ("would", "'d", "’d", "i'd", "i’d") for w in words):
        return False
    before = [t.lower_ for t in doc[bounds[0]:start]]
    if words[-1] in ("have", "'ve", "’ve"):
        following = doc[end].lower_ if end < bounds[1] else ""
        if (following in _PARTICIPLES or (following.endswith("ed") and following not in ("red", "bed"))
                or any(t.lower_ in _COUNTERFACTUAL for t in doc[bounds[0]:bounds[1]])):
            return True
    return (any(t.text == "?" for t in doc[bounds[0]:bounds[1]]) or any(w in PREDICTING for w in before)
            or any(a in _FEEL_LIKE[0] and b == _FEEL_LIKE[1] for a, b in zip(before, before[1:])))


def _triggers_from_rows(rows: dict, source: str) -> dict[str, list[Trigger]]:
    table: dict[str, list[Trigger]] = {}
    for phrase, found in rows.items():
        for category, direction in found:
            if category not in CATEGORIES or direction not in DIRECTIONS:
                raise ValueError(f"{source}: trigger {phrase!r} has unknown category {category!r} or "
                                 f"direction {direction!r}")
            table.setdefault(phrase, []).append(Trigger(category, direction))
    return table


@Language.factory(
    "fms_context",
    default_config={"forward_window": FORWARD_WINDOW, "backward_window": BACKWARD_WINDOW},
    assigns=["span._.negated", "span._.hypothetical", "span._.historical", "span._.experiencer"],
    requires=["doc.ents", "doc.sents"],
)
def make_entity_context(nlp: Language, name: str, forward_window: int, backward_window: int) -> EntityContext:
    return EntityContext(nlp, name, forward_window=forward_window, backward_window=backward_window)
