"""The ``fms_body_states`` component: a body part said to be in a state with words between them ("my face became
easily red and irritated", "my breasts got bigger", "my throat felt constricted") is an adverse event no phrase of
the vocabulary spells whole. The state word(s) become a SYMPTOM entity of the event the pair makes
(``vocab/body_part_states.tsv``, its header says which and why); a state the vocabulary already matched alone
("swollen", "numb") takes the pair's event as its canonical. The pairs are data: ``initialize`` reads them,
``to_disk`` saves ``states.json``.

Cheap where no body part is named (most sentences): one array of lower-case hashes is read per doc.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import srsly
from spacy import util
from spacy.language import Language
from spacy.strings import hash_string
from spacy.tokens import Doc, Span

from fms_pipeline.nlp.events import lower_words

STATES_FILE = "body_part_states.tsv"
MAX_GAP = 5  # words between the part and its state, at most ("my skin got really very dry")
# A clause ends, the state is someone else's or another thing's ("my face was fine but my hands were dry", "Very dry
# skin, sensitivity to sun, red eyes"), a subject begins ("my legs ache so I take ..."), or a place or thing follows
# the part ("I soak my feet in cold water").
BREAKS = frozenset({".", ",", ";", "!", "?", ":", "but", "however", "although", "though", "because", "while", "when",
                    "whereas", "where", "except", "than", "(", ")", "...", "-", "i", "he", "she", "you", "we", "they",
                    "it", "in", "into", "with", "from", "for", "of", "on", "at"})
# Care, not an effect: "waited 5 minutes for face to dry", "wait til skin is ultra dry", "when my face is clean and
# dry"; and a state that eased: "my skin was less dry", "not as red", "no longer numb" (review of session 18).
CARE_WORDS = frozenset({"til", "till", "until", "clean", "wash", "washed", "washing", "apply", "applying", "wait",
                        "waited", "waiting", "let"})
# An easing or the usual state: "less dry", "no longer numb", "made my legs stop hurting", "used to be heavy", "have
# always been irregular"; "not as red", "not so dry" below (reviews of session 18).
EASED_WORDS = frozenset({"less", "longer", "stop", "stops", "stopped", "quit", "used", "always", "usually", "normally"})
# Why the drug was started: "I started Yaz because my periods were so heavy".
STARTING_WORDS = frozenset({"started", "start", "starting", "began", "went", "got", "take", "taking", "prescribed",
                            "put", "chose", "switched", "use", "using", "tried"})
# What a state matched alone may become: only these general terms take the part's event ("swollen" of the ankles);
# a specific one stays ("red and blotchy" is a rash).
GENERAL_TERMS = frozenset({"swelling", "numbness", "itching", "weakness", "pain", "stiffness", "redness", "dry skin"})
# Between states listed before their part: "Red, extremely dry and flaky skin".
INTENSIFIERS = ("very", "extremely", "really", "so", "slightly", "somewhat", "quite", "super", "incredibly", "too")
States = dict[str, dict[str, str]]  # part: {state words: event term}


def _hashes(words) -> frozenset[int]:
    return frozenset(hash_string(w) for w in words)


_BREAKS, _CARE, _EASED, _STARTING = _hashes(BREAKS), _hashes(CARE_WORDS), _hashes(EASED_WORDS), _hashes(STARTING_WORDS)
_JOINERS = _hashes((",", "and", "&", "/", *INTENSIFIERS))
_AS_SO, _NOT = _hashes(("as", "so")), _hashes(("not", "n't", "nt"))
_TO, _BECAUSE_MY = hash_string("to"), (hash_string("because"), hash_string("my"))


def read_states(name: str = STATES_FILE) -> States:
    """{part: {state: term}} of ``vocab/body_part_states.tsv`` (``parse_states``)."""
    from fms_pipeline.nlp.drug_lexicon import _vocab_text

    return parse_states(_vocab_text(name), name)


def parse_states(text: str, name: str = STATES_FILE) -> States:
    """{part: {state: term}} of the text of a states file named ``name``; each term one of the symptom vocabulary, each
    (part, state) pair listed once."""
    from fms_pipeline.nlp.drug_lexicon import read_vocabulary
    from fms_pipeline.nlp.icd10 import EVENT_VOCABULARY

    terms = set(read_vocabulary(EVENT_VOCABULARY))
    states: States = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")]
        parts, words = ([[w.strip().lower() for w in f.split("|") if w.strip()] for f in fields[1:]]
                        if len(fields) == 3 else ([], []))
        if len(fields) != 3 or fields[0] not in terms or not parts or not words or any(" " in p for p in parts):
            raise ValueError(f"vocab/{name} line {number}: expected 'term<TAB>part | part<TAB>state | state', the "
                             f"term one of {EVENT_VOCABULARY} and each part one word: {line!r}")
        for part in parts:
            for state in words:
                if state in states.setdefault(part, {}):
                    raise ValueError(f"vocab/{name} line {number}: {part!r} + {state!r} is listed twice")
                states[part][state] = fields[0]
    return states


class BodyStates:
    """Adds (or re-canonicalizes) SYMPTOM entities where a part of ``states`` and one of its states meet in a
    sentence: the state at most ``MAX_GAP`` words after the part, no break or other part between, or the state
    right before the part, only commas, "and" and intensifiers between ("red, irritated face")."""

    def __init__(self, nlp: Language, name: str = "fms_body_states"):
        self.name = name
        self.states: States = {}
        # part: {first word of a state: [(the state's words, term)], longest first ("closing up" before "closing")}
        self._parts: dict[int, dict[int, list[tuple[tuple[int, ...], str]]]] = {}
        self.initialized = False

    def initialize(self, get_examples: Callable[[], Iterable] | None = None, *, nlp: Language | None = None,
                   states: dict | None = None) -> None:
        self._set(read_states() if states is None else states)

    def _set(self, states: States) -> None:
        self.states = states
        self._parts = {}
        for part, by_state in states.items():
            by_first = self._parts[hash_string(part)] = {}
            for state, term in sorted(by_state.items(), key=lambda item: -len(item[0].split())):
                words = tuple(hash_string(w) for w in state.split())
                by_first.setdefault(words[0], []).append((words, term))
        self.initialized = True

    def __call__(self, doc: Doc) -> Doc:
        if not self.initialized:
            raise ValueError(f"{self.name}: no states loaded; call nlp.initialize() or load a saved pipeline first")
        parts = self._parts
        words = lower_words(doc)
        at = [i for i, w in enumerate(words) if w in parts]
        if not at:
            return doc
        # a part inside an entity is that entity's ("Restless Legs Syndrome and will fall asleep")
        named = {t for ent in doc.ents for t in range(ent.start, ent.end)}
        found: dict[tuple[int, int], str] = {}
        for i in at:
            if i in named:
                continue
            sentence = doc[i].sent
            by_first = parts[words[i]]
            if any(w in _CARE for w in words[max(sentence.start, i - 3):i]):
                continue
            # why the drug was started: "I started Yaz because my periods were so heavy"
            if (i - 2 >= sentence.start and tuple(words[i - 2:i]) == _BECAUSE_MY
                    and any(w in _STARTING for w in words[sentence.start:i - 2])):
                continue
            # after the part: "my face became easily red and irritated"
            j = i + 1
            while j < sentence.end and j - i - 1 <= MAX_GAP:
                match = next(((len(state), term) for state, term in by_first.get(words[j], ())
                              if tuple(words[j:j + len(state)]) == state), None)
                if match is not None:
                    if not _not_an_effect(words, i + 1, j):
                        found.setdefault((j, j + match[0]), match[1])
                    j += match[0]
                    continue
                if words[j] in _BREAKS or words[j] in parts:
                    break
                j += 1
            # right before it: "red, irritated face", "dry and cracked hands"
            j = i - 1
            while j >= sentence.start and i - j <= 6:
                term = next((term for state, term in by_first.get(words[j], ()) if len(state) == 1), None)
                if term is not None:
                    if not _not_an_effect(words, max(sentence.start, j - 2), j):
                        found.setdefault((j, j + 1), term)
                elif words[j] not in _JOINERS:
                    break
                j -= 1
        return self._annotate(doc, found) if found else doc

    @staticmethod
    def _annotate(doc: Doc, found: dict[tuple[int, int], str]) -> Doc:
        ents = list(doc.ents)
        changed = False
        for k, ent in enumerate(ents):  # a state matched alone takes the part's event ("swollen" of the ankles)
            term = found.pop((ent.start, ent.end), None)
            if term is not None and ent.label_ == "SYMPTOM" and ent.ent_id_ != term and ent.ent_id_ in GENERAL_TERMS:
                ents[k] = Span(doc, ent.start, ent.end, label=ent.label, span_id=term)
                changed = True
        taken = {t for ent in ents for t in range(ent.start, ent.end)}
        for (start, end), term in sorted(found.items()):
            if not taken.intersection(range(start, end)):
                ents.append(Span(doc, start, end, label="SYMPTOM", span_id=term))
                taken.update(range(start, end))
                changed = True
        if changed:
            doc.ents = sorted(ents, key=lambda e: e.start)
        return doc

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = util.ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "states.json", self.states)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> BodyStates:
        file = util.ensure_path(path) / "states.json"
        data = srsly.read_json(file)
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise ValueError(f"{file}: expected a JSON object of body part to {{state: event term}}")
        self._set(data)
        return self


def _not_an_effect(words: list[int], start: int, state: int) -> bool:
    """Whether the words from ``start`` up to the state say care or an easing: "for face to dry", "clean and dry",
    "less dry", "no longer numb", "not as red", "not so dry"."""
    between = words[start:state]
    return (any(w in _CARE or w in _EASED for w in between)
            or (state > start and words[state - 1] == _TO)
            or any(a in _NOT and b in _AS_SO for a, b in zip(between, between[1:])))


@Language.factory("fms_body_states", assigns=["doc.ents"], requires=["doc.ents", "doc.sents"])
def make_body_states(nlp: Language, name: str) -> BodyStates:
    return BodyStates(nlp, name)
