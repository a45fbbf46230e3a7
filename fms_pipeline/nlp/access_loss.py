"""Access loss: a medication lost against the patient's will, as a first-class event (issue 23).

The ``fms_access_loss`` component (after ``fms_outcomes``) finds, sentence by sentence, cue phrases
of a loss ("cut me off", "won't fill", "no doctor in town will write it", "the clinic closed") and
decides with dependency-free context rules (no parser is needed) whether the sentence reports one.
Each event (``doc.spans["access"]``, label ``access_loss``; one span per drug) carries

* ``span._.drug``          the drug lost: the canonical of a drug named in the sentence, else the
  document's stated drug (``doc._.stated_drug``, e.g. a review table's drug column), else
  ``"pain medication"`` ("pain meds" names no drug either);
* ``span._.mechanism``     prescriber_stopped, forced_taper, dismissed, clinic_closed, pharmacy,
  insurer, policy, emergency_department or telehealth (``MECHANISMS``, most specific first);
* ``span._.actors``        who is named as causing it: doctor, clinic, pharmacy, insurer, hospital,
  cdc, dea, fda, state_law;
* ``span._.consequences``  what the comment says it cost: uncontrolled_pain, withdrawal,
  lost_function, suicidal, illicit_drugs, kratom, alcohol; ``span._.needs_care`` is True when
  suicidal thoughts are among them (flagged for care, never hidden);
* ``span._.stigma``        whether the comment has stigma words ("drug seeker", "treated like an
  addict"), which are also spans of their own (label ``stigma``).

Not a loss: fears and questions ("I'm scared my doctor will cut me off": label ``access_fear``),
voluntary tapers, the patient's own wish refused, refusals of something else (an MRI, a claim), a
dentist's refusal after a procedure, a hospital discharge with a week of oxycodone, a denied or
negated loss ("my doctor never cut me off").

Every ``access_loss`` event is also an ``access_loss`` outcome (``doc.spans["outcomes"]``) and sets
its sentence's sentiment sign, as the outcome rules did before; a fear is a hypothetical one.

Rules are data (``vocab/access_loss/*.tsv``, syntax in its README), loaded in ``initialize`` and
saved by ``to_disk``. Each rule is looked for only where it can match: at its anchor words (the
words of its least common required slot), and only in sentences that have a word of every slot
that needs one and, for a cue, what the cue needs (a drug or medication word, a place of care, the
actor); a one-slot rule of words and phrases is compared there directly, any other runs its own
spaCy Matcher on a window around the anchor. Context rules run only in sentences with a cue or
stigma words, consequences only in texts with a loss. This finds what one Matcher of all rules over
the whole text finds within a sentence (tested), at about 1/70 of its CPU time; they were tuned on ``data/evaluation/access_loss_tuning.tsv`` only and are
measured on ``data/evaluation/access_loss_dev.tsv`` (``access_evaluation``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy
import srsly
from spacy import util
from spacy.language import Language
from spacy.attrs import ENT_TYPE, NORM, SENT_START
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span

from fms_pipeline import labels
from fms_pipeline.nlp import extensions, sentiment

# Declared in labels.yml. Mechanisms most specific first: when a sentence has cues of several, the
# first one listed wins ("the insurance will only pay for 90 MME, so my oxycodone got cut" is the
# insurer's doing).
MECHANISMS = labels.names("access_mechanism")
ACTORS = labels.names("access_actor")
CONSEQUENCES = labels.names("access_consequence")
LABELS = labels.names("access")
DEFAULT_DRUG = "pain medication"
SPANS_KEY = "access"
# An actor that names a mechanism of its own: a pharmacy refusing is the pharmacy mechanism.
ACTOR_MECHANISM = {"pharmacy": "pharmacy", "insurer": "insurer", "hospital": "emergency_department",
                   "cdc": "policy", "dea": "policy", "fda": "policy", "state_law": "policy"}
REGULATORS = frozenset({"cdc", "dea", "fda", "state_law"})
# A place of care after these words is where it happened, not who did it ("dismissed me from the practice").
LOCATION_WORDS = frozenset({"from", "of", "at", "in", "to", "left", "leave", "leaving", "into"})
# Drugs that are never the drug lost: what patients turn to.
NOT_LOST = frozenset({"kratom", "heroin", "alcohol", "ethanol"})
CONTEXT_CATEGORIES = ("medication", "care", "agent", "other_person", "other_he", "other_she", "self_act", "fear",
                      "fear_sentence", "modal", "voluntary", "involuntary", "own_wish", "not_loss", "continued",
                      "negation", "pseudo", "telehealth", "replacement", "generic")
# "agent": someone other than the patient doing it (an actor named, "they", a passive "was weaned");
# "med+agent": that and a medication word or a drug. What a patient also does himself ("I stopped
# taking it", "tapering off", "the Mobic reduced my pain") is a loss only with one.
NEEDS = ("-", "med", "agent", "med+agent", "care", "place", "pharmacy", "hospital", "insurer")
RULE_FILES = {"macros": "macros.tsv", "cues": "cues.tsv", "context": "context.tsv", "actors": "actors.tsv",
              "consequences": "consequences.tsv"}
FEAR_WINDOW = 10  # tokens from a fear word to the cue it governs
MODAL_WINDOW = 2  # tokens from "might", "will" to the cue
NEGATION_WINDOW = 2  # tokens between a negation and the cue it denies
REPLACEMENT_WINDOW = 3
SCOPES = ("cue", "context", "consequence")

for _name, _default in (("mechanism", None), ("actors", ()), ("consequences", ()), ("needs_care", False),
                        ("stigma", False), ("drug_named", False)):
    extensions.register(_name, _default)
extensions.register("drug", None)
ACCESS_ROW_EXTENSIONS = ("drug", "drug_named", "mechanism", "actors", "consequences", "needs_care", "stigma")
if not Doc.has_extension("stated_drug"):
    # The hook for a drug stated outside the text (a review table's drug column): set it on the Doc
    # (nlp.pipe accepts Docs) and events naming no drug carry it instead of "pain medication".
    Doc.set_extension("stated_drug", default=None)


# --------------------------------------------------------------------- rules as data


def rules_folder() -> Path:
    return Path(str(resources.files("fms_pipeline.nlp").joinpath("vocab", "access_loss")))


def _read_rows(path: Path, columns: int) -> list[list[str]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) != columns or not all(parts):
            raise ValueError(f"{path} line {number}: expected {columns} tab-separated columns, got {line!r}")
        rows.append(parts)
    return rows


@cache
def shipped_rules() -> dict[str, list[list[str]]]:
    """The rule files of ``vocab/access_loss/`` as {file: rows}."""
    folder = rules_folder()
    rules = {"macros": _read_rows(folder / RULE_FILES["macros"], 2),
             "cues": _read_rows(folder / RULE_FILES["cues"], 3),
             "context": _read_rows(folder / RULE_FILES["context"], 2),
             "actors": _read_rows(folder / RULE_FILES["actors"], 2),
             "consequences": _read_rows(folder / RULE_FILES["consequences"], 2)}
    validate_rules(rules, str(folder))
    return rules


def validate_rules(rules: dict, source: str) -> None:
    missing = [k for k in RULE_FILES if k not in rules]
    if missing:
        raise ValueError(f"{source}: access-loss rules lack {', '.join(missing)}")
    for mechanism, needs, _ in rules["cues"]:
        if mechanism not in MECHANISMS or needs not in NEEDS:
            raise ValueError(f"{source}: unknown mechanism {mechanism!r} or needs {needs!r} in the cues")
    for category, _ in rules["context"]:
        if category not in CONTEXT_CATEGORIES:
            raise ValueError(f"{source}: unknown context category {category!r}")
    for actor, _ in rules["actors"]:
        if actor not in ACTORS:
            raise ValueError(f"{source}: unknown actor {actor!r}")
    for label, _ in rules["consequences"]:
        if label not in CONSEQUENCES and label != "stigma":
            raise ValueError(f"{source}: unknown consequence {label!r}")


@dataclass
class Element:
    """One slot of a rule pattern: ``wildcards`` tokens of anything (``*N``), or a set of words
    (each a tuple of NORMs: a phrase has several) and/or a drug entity, optional or excluded."""
    words: list[tuple[str, ...]] = field(default_factory=list)
    drug: bool = False
    optional: bool = False
    excluded: bool = False
    wildcards: int = 0


def parse_pattern(text: str, macros: dict[str, list[str]], norms: Callable[[str], tuple[str, ...]]) -> list[Element]:
    """The slots of one rule pattern (syntax in vocab/access_loss/README.md)."""
    elements = []
    for element in text.split():
        if element.startswith("*") and element[1:].isdigit():
            elements.append(Element(wildcards=int(element[1:])))
            continue
        optional = element.endswith("?") and len(element) > 1
        element = element.rstrip("?") if optional else element
        excluded = element.startswith("!")
        alternatives: list[str] = []
        drug = False
        for alternative in element.lstrip("!").split("|"):
            if alternative == "DRUG" and not excluded:
                drug = True
            elif alternative.startswith("@"):
                if alternative[1:] not in macros:
                    raise ValueError(f"pattern {text!r}: unknown word set {alternative}")
                alternatives.extend(macros[alternative[1:]])
            elif alternative:
                alternatives.append(alternative)
        words = sorted({norms(a.replace("_", " ")) for a in alternatives} - {()})
        elements.append(Element(words=words, drug=drug, optional=optional, excluded=excluded))
    return elements


def compile_pattern(text: str, macros: dict[str, list[str]], norms: Callable[[str], tuple[str, ...]]) -> list[list[dict]]:
    """Token patterns (spaCy Matcher, on NORM) of one rule pattern; see vocab/access_loss/README.md."""
    return _token_patterns(parse_pattern(text, macros, norms))


def _token_patterns(elements: list[Element]) -> list[list[dict]]:
    variants: list[list[dict]] = [[]]
    for element in elements:
        if element.wildcards:
            slots = [[{"OP": "?"}] * element.wildcards]
        elif element.excluded:
            slots = [[{"NORM": {"NOT_IN": sorted({t[0] for t in element.words})}}]]
        else:
            # Single words as one set; each phrase of several words as a slot sequence of its own.
            single = sorted({t[0] for t in element.words if len(t) == 1})
            slots = [[{"NORM": {"IN": single}, **({"OP": "?"} if element.optional else {})}]] if single else []
            slots += [[{"NORM": word} for word in t] for t in element.words if len(t) > 1]
            if element.drug:
                slots.append([{"ENT_TYPE": {"IN": ["DRUG", "DRUG_CLASS"]}, "OP": "+"}])
            if element.optional and any(len(t) > 1 for t in element.words):
                slots.append([])
        variants = [v + s for v in variants for s in slots]
    return [v for v in variants if v]


def _slot_words(element: Element) -> set[str] | None:
    """Words one of which a match of this slot contains (a phrase by its least common word; ``DRUG``
    for a drug entity), or None when the slot may match without any (wildcards, optional, excluded)."""
    if element.wildcards or element.optional or element.excluded or not (element.words or element.drug):
        return None
    words = {min(t, key=lambda w: (w in STOP_WORDS, -len(w))) for t in element.words}
    return words | {DRUG_MARK} if element.drug else words


def required_words(elements: list[Element]) -> list[set[str]]:
    """Per slot that needs words, those words: a sentence without one of each cannot match."""
    return [words for element in elements if (words := _slot_words(element)) is not None]


def anchor_slot(elements: list[Element]) -> tuple[int, set[str]] | None:
    """(slot, words) such that every match of the pattern contains one of the words, at that slot:
    its least common required slot (fewest stop words, then fewest words; a phrase by its least
    common word), or None when no slot is required words only (a drug, wildcards, optional or
    excluded slots)."""
    best: tuple[tuple[int, int], int, set[str]] | None = None
    for number, element in enumerate(elements):
        words = _slot_words(element)
        if words is None or DRUG_MARK in words:
            continue
        score = (sum(w in STOP_WORDS for w in words), len(words))
        if best is None or score < best[0]:
            best = (score, number, words)
    return None if best is None else (best[1], best[2])


def _slot_length(element: Element) -> int:
    """The most tokens a slot can match."""
    if element.wildcards:
        return element.wildcards
    if element.excluded:
        return 1
    return max([len(t) for t in element.words] + ([DRUG_TOKENS] if element.drug else []))


# Stands for "a drug entity" among a slot's required words (no NORM is empty).
DRUG_MARK = ""
# Longest run of tokens a drug entity is taken to have when bounding where a pattern can match.
DRUG_TOKENS = 8


@dataclass
class TextView:
    """A text as the rules read it: NORM hashes, sentence starts and (start, end) bounds, and the
    positions of drug-entity tokens."""
    norms: list[int]
    starts: list[int]
    bounds: list[tuple[int, int]]
    drug_tokens: list[int]


@dataclass
class Rule:
    """One rule row, matched only where its anchor words occur: a pattern of one slot of words and
    phrases (``phrases``: anchor -> [(the anchor's place in the phrase, the phrase's NORMs)]) by
    comparing the phrase at each hit; any other pattern by its own Matcher on a window around each
    hit (the pattern's longest length either side, within the sentence) when the sentence has a word
    of each slot that needs one (``required``)."""
    key: int
    group: str
    anchors: frozenset[int] | None
    before: int  # tokens a match can have before the anchor word, and after it
    after: int
    matcher: Matcher | None
    phrases: dict[int, list[tuple[int, tuple[int, ...]]]] = field(default_factory=dict)
    patterns: list[list[dict]] = field(default_factory=list)  # its Matcher patterns (also for tests)
    need: frozenset[int] | None = None  # words one of which the sentence needs besides the pattern's
    required: tuple[frozenset[int], ...] = ()
    pattern: str = ""


# --------------------------------------------------------------------- decisions

# Words that may open a sentence before its verb ("Then cut my oxy in half", "Just stopped my Norco").
_OPENERS = frozenset({"then", "and", "just", "also", "finally", "suddenly", "so", "now", "today", "basically"})


def _first_word(doc: Doc, sentence: Span) -> int:
    """The first token of the sentence that is no punctuation, space or opener word."""
    for token in sentence:
        if not (token.is_punct or token.is_space or token.lower_ in _OPENERS):
            return token.i
    return sentence.start


@dataclass
class SentenceFacts:
    """What the matchers found in one sentence (token offsets in the doc)."""
    start: int
    end: int
    cues: list[tuple[int, int, str, str]] = field(default_factory=list)  # (start, end, mechanism, needs)
    context: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    actors: list[tuple[int, int, str]] = field(default_factory=list)
    ents: list[Span] = field(default_factory=list)  # the sentence's entities
    # Actors of the sentence before, for a sentence that starts with its cue ("Saw my PCP today. Cut my oxy in half.").
    previous_actors: list[tuple[int, int, str]] = field(default_factory=list)

    def has(self, category: str) -> bool:
        return bool(self.context.get(category))


class AccessLoss:
    """The ``fms_access_loss`` pipeline component."""

    def __init__(self, nlp: Language, name: str = "fms_access_loss", *, fear_window: int = FEAR_WINDOW,
                 modal_window: int = MODAL_WINDOW, negation_window: int = NEGATION_WINDOW):
        self.nlp = nlp
        self.name = name
        self.fear_window = fear_window
        self.modal_window = modal_window
        self.negation_window = negation_window
        self.rules: dict[str, list[list[str]]] | None = None
        self._keys: dict[int, tuple[str, str, str]] = {}
        # Per scope (cue: cues and stigma words, looked for in every text; context: context words and
        # actors, in sentences with a cue; consequence: in texts with a loss) the rules by anchor word
        # (NORM hash) and those without one.
        self._index: dict[str, dict[int, list[Rule]]] = {scope: {} for scope in SCOPES}
        self._unanchored: dict[str, list[Rule]] = {scope: [] for scope in SCOPES}

    # -- data ------------------------------------------------------------------------
    def initialize(self, get_examples: Callable[[], Iterable] | None = None, *, nlp: Language | None = None,
                   rules: dict[str, list[list[str]]] | None = None) -> None:
        """Load the rules: ``rules`` ({file: rows}) or the shipped ``vocab/access_loss/`` files."""
        if rules is not None:
            validate_rules(rules, "the rules passed to initialize")
        self.set_rules(shipped_rules() if rules is None else rules)

    def set_rules(self, rules: dict[str, list[list[str]]]) -> None:
        self.rules = {k: [list(r) for r in rows] for k, rows in rules.items()}
        macros = {name.lstrip("@"): words.split("|") for name, words in rules["macros"]}
        tokenizer = self.nlp.tokenizer

        @cache
        def norms(text: str) -> tuple[str, ...]:
            return tuple(t.norm_ for t in tokenizer(text))

        self._keys = {}
        self._drug_types = tuple(self.nlp.vocab.strings.add(t) for t in ("DRUG", "DRUG_CLASS"))
        self._index = {scope: {} for scope in SCOPES}
        self._unanchored = {scope: [] for scope in SCOPES}
        strings = self.nlp.vocab.strings

        def add(scope: str, group: str, label: str, extra: str, pattern: str,
                need: frozenset[int] | None = None) -> Rule:
            key = strings.add(f"{group}|{label}|{extra}")
            self._keys[key] = (group, label, extra)
            try:
                elements = parse_pattern(pattern, macros, norms)
                patterns = _token_patterns(elements)
            except ValueError as error:
                raise ValueError(f"access-loss rule {group} {label} {pattern!r}: {error}") from error
            if not patterns:
                raise ValueError(f"access-loss rule {group} {label} {pattern!r}: the pattern matches nothing")
            only = elements[0]
            if len(elements) == 1 and not (only.wildcards or only.optional or only.excluded or only.drug):
                # One slot of words and phrases: compared where its anchor word is, no Matcher needed.
                phrases: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
                for phrase in only.words:
                    anchor = min(phrase, key=lambda w: (w in STOP_WORDS, -len(w)))
                    phrases.setdefault(strings.add(anchor), []).append(
                        (phrase.index(anchor), tuple(strings.add(w) for w in phrase)))
                longest = max(len(t) for t in only.words)
                rule = Rule(key, scope, frozenset(phrases), longest - 1, longest - 1, None,
                            required=() if need is None else (need,), phrases=phrases, patterns=patterns, need=need,
                            pattern=pattern)
            else:
                matcher = Matcher(self.nlp.vocab)
                matcher.add(key, patterns)
                anchor = anchor_slot(elements)
                anchors = None if anchor is None else anchor[1]
                slot = 0 if anchor is None else anchor[0]
                lengths = [_slot_length(element) for element in elements]
                before, after = sum(lengths[:slot + 1]) - 1, sum(lengths[slot:]) - 1
                required = tuple(frozenset(strings.add(w) for w in words) for words in required_words(elements))
                required += () if need is None else (need,)
                # strings.add("") is 0: the mark that the sentence has a drug entity token (see _match).
                rule = Rule(key, scope, None if anchors is None else frozenset(strings.add(w) for w in anchors),
                            before, after, matcher, required=required, patterns=patterns, need=need,
                            pattern=pattern)
            if rule.anchors is None:
                self._unanchored[scope].append(rule)
            else:
                for anchor in rule.anchors:
                    self._index[scope].setdefault(anchor, []).append(rule)
            return rule

        # Anchor words of the context and actor rules: a sentence without one of those a cue needs
        # (a medication word or a drug, a place of care, the pharmacy, hospital, insurer named) has
        # no valid cue of that need, so the cue is not looked for there.
        found: dict[str, set[int] | None] = {}
        for group, rows in (("context", rules["context"]), ("actor", rules["actors"])):
            for label, pattern in rows:
                anchors = add("context", group, label, "", pattern).anchors
                known = found.setdefault(label, set())
                found[label] = None if anchors is None or known is None else known | anchors

        def union(*labels: str) -> frozenset[int] | None:
            sets = [found.get(label, set()) for label in labels]
            return None if any(s is None for s in sets) else frozenset().union(*sets)

        needs_words = {"-": None, "med": union("medication"), "agent": None, "med+agent": union("medication"),
                       "care": union("medication", "care"),
                       "place": union("care"), "pharmacy": union("pharmacy"), "hospital": union("hospital"),
                       "insurer": union("insurer")}
        for need in ("med", "med+agent", "care"):
            if needs_words[need] is not None:
                needs_words[need] |= {0}  # DRUG_MARK: a drug in the sentence meets them too
        for mechanism, needs, pattern in rules["cues"]:
            # A closure cue counts for the mechanism even where its need is unmet (_decide).
            add("cue", "cue", mechanism, needs, pattern, None if mechanism == "clinic_closed" else needs_words[needs])
        for label, pattern in rules["consequences"]:
            # Stigma words are looked for in every text, so they go with the cues.
            add("cue" if label == "stigma" else "consequence", "consequence", label, "", pattern)

    def view(self, doc: Doc, array: numpy.ndarray | None = None) -> TextView:
        """The text as ``_match`` reads it (``array``: the doc's NORM, SENT_START, ENT_TYPE columns)."""
        array = doc.to_array([NORM, SENT_START, ENT_TYPE]) if array is None else array
        # SENT_START is 1 at a sentence's first token (-1 and 0 elsewhere; the array is unsigned).
        starts = [0] + [i for i in numpy.flatnonzero(array[:, 1] == 1).tolist() if i > 0]
        drug, drug_class = self._drug_types
        return TextView(norms=array[:, 0].tolist(), starts=starts, bounds=list(zip(starts, starts[1:] + [len(doc)])),
                        drug_tokens=numpy.flatnonzero((array[:, 2] == drug) | (array[:, 2] == drug_class)).tolist())

    def _match(self, scope: str, doc: Doc, view: TextView, sentences: list[int] | None) -> list[tuple[int, int, int]]:
        """(key, start, end) of the scope's rules in these sentences (None: all): each rule only where
        one of its anchor words occurs (word and phrase rules compared there, others by their Matcher
        on a window around it), rules without an anchor on the whole sentence."""
        index = self._index[scope]
        unanchored = self._unanchored[scope]
        norms, starts, bounds, drug_tokens = view.norms, view.starts, view.bounds, view.drug_tokens
        found: list[tuple[int, int, int]] = []
        windows: dict[int, tuple[Rule, list[tuple[int, int]]]] = {}
        if sentences is None:
            hits = [(i, h) for i, h in enumerate(norms) if h in index]
        else:
            hits = [(i, h) for k in sentences for i, h in enumerate(norms[bounds[k][0]:bounds[k][1]], bounds[k][0])
                    if h in index]
        sentence_words: dict[int, set[int]] = {}

        def words_of(k: int) -> set[int]:
            words = sentence_words.get(k)
            if words is None:
                s, e = bounds[k]
                words = sentence_words[k] = set(norms[s:e])
                if drug_tokens and bisect_left(drug_tokens, s) < bisect_left(drug_tokens, e):
                    words.add(0)  # DRUG_MARK: the sentence has a drug
            return words

        possible: dict[tuple[int, int], bool] = {}
        for i, h in hits:
            k = bisect_right(starts, i) - 1
            s, e = bounds[k]
            for rule in index[h]:
                if rule.matcher is None:
                    if rule.required:
                        ok = possible.get((id(rule), k))
                        if ok is None:
                            ok = possible[(id(rule), k)] = not any(map(words_of(k).isdisjoint, rule.required))
                        if not ok:
                            continue
                    for offset, phrase in rule.phrases[h]:
                        if offset == 0 and len(phrase) == 1:
                            found.append((rule.key, i, i + 1))
                            continue
                        start = i - offset
                        end = start + len(phrase)
                        if s <= start and end <= e and tuple(norms[start:end]) == phrase:
                            found.append((rule.key, start, end))
                    continue
                ok = possible.get((id(rule), k))
                if ok is None:
                    # The Matcher runs only where the sentence has a word of every slot that needs one.
                    ok = possible[(id(rule), k)] = not any(map(words_of(k).isdisjoint, rule.required))
                if ok:
                    windows.setdefault(id(rule), (rule, []))[1].append(
                        (max(s, i - rule.before), min(e, i + rule.after + 1)))
        for rule in unanchored:
            for k in range(len(bounds)) if sentences is None else sentences:
                if not any(map(words_of(k).isdisjoint, rule.required)):
                    windows.setdefault(id(rule), (rule, []))[1].append(bounds[k])
        for rule, spans in windows.values():
            merged: list[list[int]] = []
            for lo, hi in sorted(spans):
                if merged and lo < merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], hi)
                else:
                    merged.append([lo, hi])
            for lo, hi in merged:
                found.extend((m, lo + a, lo + b) for m, a, b in rule.matcher(doc[lo:hi]))
        return found

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = util.ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "rules.json", self._require_rules())

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> AccessLoss:
        file = util.ensure_path(path) / "rules.json"
        rules = srsly.read_json(file)
        if not isinstance(rules, dict):
            raise ValueError(f"{file}: expected a JSON object of rule rows")
        validate_rules(rules, str(file))
        self.set_rules(rules)
        return self

    def _require_rules(self) -> dict:
        if self.rules is None:
            raise ValueError(f"{self.name}: no access-loss rules loaded; call nlp.initialize() or load a saved "
                             "pipeline (spacy.load) first")
        return self.rules

    # -- the component ----------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        self._require_rules()
        if not len(doc):
            doc.spans[SPANS_KEY] = []
            return doc
        array = doc.to_array([NORM, SENT_START, ENT_TYPE])
        if self._index["cue"].keys().isdisjoint(array[:, 0].tolist()) and not self._unanchored["cue"]:
            doc.spans[SPANS_KEY] = []  # no cue word at all: most texts stop here
            return doc
        view = self.view(doc, array)
        starts, bounds = view.starts, view.bounds
        cue_matches = self._match("cue", doc, view, None)
        if not cue_matches:
            doc.spans[SPANS_KEY] = []
            return doc
        keys = self._keys
        cues = [(s, e, *keys[m][1:]) for m, s, e in cue_matches if keys[m][0] == "cue"]
        stigma = [(s, e) for m, s, e in cue_matches if keys[m][0] == "consequence"]
        cue_sentences = sorted({bisect_right(starts, s) - 1 for s, *_ in cues})
        context_sentences = set(cue_sentences) | {bisect_right(starts, s) - 1 for s, _ in stigma}
        context: dict[str, list[tuple[int, int]]] = {}
        actors: list[tuple[int, int, str]] = []
        for m, s, e in self._match("context", doc, view, sorted(context_sentences)):
            group, label, _ = keys[m]
            if group == "context":
                context.setdefault(label, []).append((s, e))
            else:
                actors.append((s, e, label))
        # Who is named in the sentence before a cue sentence (actors only: its negations and fears are its own).
        before = sorted({n - 1 for n in cue_sentences if n > 0} - context_sentences)
        earlier_actors = actors + [(s, e, keys[m][1]) for m, s, e in self._match("context", doc, view, before)
                                   if keys[m][0] == "actor"] if before else actors
        negations = self._negations(doc, context)
        stigma = [(s, e) for s, e in stigma if not self._negated(s, negations)]
        spans: list[Span] = [Span(doc, s, e, label="stigma") for s, e in _longest(stigma)]
        losses: list[Span] = []
        fears: list[Span] = []
        doc_ents = list(doc.ents) if cue_sentences else []
        for number in cue_sentences:
            sentence = Span(doc, *bounds[number])
            facts = SentenceFacts(sentence.start, sentence.end)
            facts.ents = [e for e in doc_ents if sentence.start <= e.start and e.end <= sentence.end]
            facts.cues = [c for c in cues if sentence.start <= c[0] < sentence.end]
            if not facts.cues:
                continue
            facts.context = {k: [(s, e) for s, e in v if sentence.start <= s < sentence.end]
                             for k, v in context.items()}
            if number > 0:
                facts.previous_actors = [a for a in earlier_actors if bounds[number - 1][0] <= a[0] < sentence.start]
            facts.actors = [a for a in actors if sentence.start <= a[0] < sentence.end]
            found = self._decide(doc, sentence, facts, negations)
            if found is None:
                continue
            label, cue, mechanism = found
            drugs = self._drugs(doc, sentence, facts)
            for drug, named in drugs:
                span = Span(doc, cue[0], cue[1], label=label, span_id=drug)
                span._.drug = drug
                if named:
                    span._.drug_named = True
                if label == "access_loss":
                    span._.mechanism = mechanism
                    span._.actors = self._actors(doc, facts, mechanism)
                    losses.append(span)
                else:
                    span._.actors = self._actors(doc, facts, None)
                    fears.append(span)
                spans.append(span)
        if losses:
            # What it cost is looked for in the whole text, with the negations of its sentences.
            consequences = [(s, e, keys[m][1]) for m, s, e in
                            self._match("consequence", doc, view, None)]
            more = sorted({bisect_right(starts, s) - 1 for s, *_ in consequences} - context_sentences)
            for m, s, e in self._match("context", doc, view, more):
                if keys[m][0] == "context" and keys[m][1] in ("negation", "pseudo"):
                    context.setdefault(keys[m][1], []).append((s, e))
            negations = self._negations(doc, context)
            found_consequences = tuple(sorted(
                {label for s, e, label in consequences if not self._negated(s, negations)},
                key=CONSEQUENCES.index))
            for span in losses:
                if found_consequences:
                    span._.consequences = found_consequences
                    if "suicidal" in found_consequences:
                        span._.needs_care = True
                if stigma:
                    span._.stigma = True
        if losses or fears:
            self._add_outcomes(doc, losses, fears, starts, bounds)
        doc.spans[SPANS_KEY] = sorted(spans, key=lambda s: (s.start, s.end, s.label_))
        return doc

    @staticmethod
    def _negations(doc: Doc, context: dict[str, list[tuple[int, int]]]) -> list[int]:
        """Token positions of negations that are not part of a pseudo-negation ("no warning")."""
        pseudo = context.get("pseudo", [])
        return sorted(s for s, e in context.get("negation", [])
                      if not any(ps <= s < pe for ps, pe in pseudo))

    def _negated(self, start: int, negations: list[int]) -> bool:
        return any(0 < start - n <= self.negation_window + 1 for n in negations)

    def _decide(self, doc: Doc, sentence: Span, facts: SentenceFacts,
                negations: list[int]) -> tuple[str, tuple, str | None] | None:
        """(label, deciding cue, mechanism) of a sentence with cues, or None."""
        has_drug = any(e.label_ in ("DRUG", "DRUG_CLASS") and e.ent_id_ not in NOT_LOST for e in facts.ents)
        medication = has_drug or facts.has("medication")
        actor_names = {a[2] for a in facts.actors}
        agent = bool(self._agents(doc, facts)) or facts.has("agent") or (
            bool(facts.previous_actors) and min(c[0] for c in facts.cues) == _first_word(doc, sentence)
            and not facts.has("self_act"))
        satisfied = {"-": True, "med": medication, "agent": agent, "med+agent": medication and agent,
                     "care": medication or facts.has("care"), "place": facts.has("care"),
                     "pharmacy": "pharmacy" in actor_names, "hospital": "hospital" in actor_names,
                     "insurer": "insurer" in actor_names}
        pseudo = facts.context.get("pseudo", [])
        valid = [c for c in facts.cues if satisfied[c[3]] and not self._negated(c[0], negations)
                 and not any(s <= c[0] and c[1] <= e for s, e in pseudo)]  # the "taper" of "no taper"
        if not valid:
            return None
        if facts.has("not_loss") or facts.has("continued") or facts.has("own_wish"):
            return None
        if facts.has("voluntary") and not facts.has("involuntary"):
            return None
        question = sentence.text.rstrip().endswith("?")
        loss = [c for c in valid if not (question or self._feared(doc, c, facts))]
        if not loss:
            cue = min(valid)
            return "access_fear", cue, None
        # Once a loss is reported, a cue that lacked what it needs still tells how ("my doctor
        # retired and nobody will touch me": a closure).
        telling = [c for c in facts.cues if c not in valid and c[2] == "clinic_closed"
                   and not self._negated(c[0], negations)
                   and not any(s <= c[0] and c[1] <= e for s, e in pseudo) and not self._feared(doc, c, facts)]
        return "access_loss", min(loss), self._mechanism(loss + telling, facts, actor_names)

    @staticmethod
    def _agents(doc: Doc, facts: SentenceFacts) -> list[tuple[int, int, str]]:
        """The actors that can be who did it: not "he"/"she" after someone other than a prescriber ("My sister was
        on Cymbalta and she stopped it")."""
        anyone = [s for s, _ in facts.context.get("other_person", [])]
        men = anyone + [s for s, _ in facts.context.get("other_he", [])]
        women = anyone + [s for s, _ in facts.context.get("other_she", [])]
        return [a for a in facts.actors
                if not (doc[a[0]].lower_ == "he" and any(s < a[0] for s in men))
                and not (doc[a[0]].lower_ == "she" and any(s < a[0] for s in women))]

    def _feared(self, doc: Doc, cue: tuple, facts: SentenceFacts) -> bool:
        if facts.has("fear_sentence"):
            return True
        start = cue[0]
        if any(e <= start and start - e <= self.fear_window for _, e in facts.context.get("fear", [])):
            return True
        for s, e in facts.context.get("modal", []):
            if e <= start and start - e <= self.modal_window and e < len(doc) and doc[e].norm_ not in (
                    "not", "no", "never", "longer", "n't"):
                return True
        return False

    @staticmethod
    def _mechanism(loss: list[tuple], facts: SentenceFacts, actor_names: set[str]) -> str:
        candidates = {c[2] for c in loss}
        candidates |= {ACTOR_MECHANISM[a] for a in actor_names if a in ACTOR_MECHANISM}
        if facts.has("telehealth"):
            candidates.add("telehealth")
        return next(m for m in MECHANISMS if m in candidates)

    def _actors(self, doc: Doc, facts: SentenceFacts, mechanism: str | None) -> tuple[str, ...]:
        primary, secondary = set(), set()
        for start, _end, actor in facts.actors:
            before = {t.norm_ for t in doc[max(start - 3, facts.start):start]}
            (secondary if actor == "clinic" and before & LOCATION_WORDS else primary).add(actor)
        found = primary or (secondary if mechanism in ("dismissed", "clinic_closed") else set())
        own = {a for a, m in ACTOR_MECHANISM.items() if m == mechanism and a not in REGULATORS}
        if own:
            found = {a for a in found if a in own or a in REGULATORS}
        return tuple(a for a in ACTORS if a in found)

    def _drugs(self, doc: Doc, sentence: Span, facts: SentenceFacts) -> list[tuple[str, bool]]:
        """(drug, named in the text) of each event of the sentence."""
        generic_spans = facts.context.get("generic", [])
        replacements = facts.context.get("replacement", [])
        specific: list[str] = []
        generic = False
        for ent in facts.ents:
            if ent.label_ not in ("DRUG", "DRUG_CLASS") or ent.ent_id_ in NOT_LOST:
                continue
            if any(e <= ent.start and ent.start - e < REPLACEMENT_WINDOW for _, e in replacements):
                continue  # "switched to kratom", "bought fentanyl on the street"
            if any(ent.end <= s and s - ent.end < 2 for s, e in replacements if doc[s].norm_ == "instead"):
                continue  # "take ibuprofen instead"
            if ent.label_ == "DRUG_CLASS" and any(s <= ent.start < e for s, e in generic_spans):
                generic = True
            elif ent.ent_id_ and ent.ent_id_ not in specific:
                specific.append(ent.ent_id_)
        if specific:
            # A class beside a named drug is what the drug belongs to ("the dilaudid ... done with opioids").
            named = [e.ent_id_ for e in facts.ents if e.label_ == "DRUG"]
            return [(d, True) for d in specific if d in named or not any(n in specific for n in named)]
        stated = doc._.stated_drug
        if stated:
            return [(stated, False)]
        return [(DEFAULT_DRUG, generic)]

    @staticmethod
    def _add_outcomes(doc: Doc, losses: list[Span], fears: list[Span], starts: list[int],
                      bounds: list[tuple[int, int]]) -> None:
        """Each loss as an ``access_loss`` outcome, and its sentence's sentiment signed accordingly;
        each fear as a hypothetical ``access_loss`` outcome (the outcomes' way of saying "feared")."""
        outcomes = list(doc.spans.get("outcomes", []))
        labelled: dict[int, set[str]] = {}
        for span in outcomes:
            labelled.setdefault(bisect_right(starts, span.start) - 1, set()).add(span.label_)
        touched: set[int] = set()
        for span in losses + fears:
            # The outcomes name a drug only where the text does, as the other outcome labels do.
            drug = span._.drug if span._.drug_named else None
            outcome = Span(doc, span.start, span.end, label="access_loss", span_id=drug or "")
            if drug:
                outcome._.drug = drug
            outcomes.append(outcome)
            if span.label_ == "access_fear":
                outcome._.hypothetical = True
            else:
                touched.add(bisect_right(starts, span.start) - 1)
        doc.spans["outcomes"] = outcomes
        change = 0.0
        for number in sorted(touched):
            before = labelled.get(number, set())
            if "access_loss" in before:
                continue
            sent = Span(doc, *bounds[number])
            old = sent._.sentiment
            sent._.sentiment = sentiment.signed(old, before | {"access_loss"})
            change += sent._.sentiment - old
            if not before and Span.has_extension("tone"):
                sent._.tone = sentiment.adjusted(sent._.tone, {"access_loss"})
        if change:
            # The document's sentiment is its sentences' mean (fms_outcomes): moved by the change.
            doc._.sentiment += change / len(bounds)


def access_rows(doc: Doc, doc_id: str, cid: str | None, sentence_of: Callable[[int], int], char_offset: int = 0,
                sentence_offset: int = 0) -> list[dict]:
    """The staged ``access_mentions`` rows of one processed text (see ``rows.doc_rows``)."""
    owner = cid or f"{doc_id}:a"
    rows = []
    for span in doc.spans.get(SPANS_KEY, []):
        start = span.start_char + char_offset
        drug, drug_named, mechanism, actors, consequences, needs_care, stigma = extensions.values(
            doc, span, ACCESS_ROW_EXTENSIONS)
        rows.append({
            "access_id": f"{owner}:{start}:{span.label_}:{drug or ''}",
            "document_id": doc_id,
            "comment_id": cid,
            "label": span.label_,
            "drug": drug,
            "drug_named": drug_named,
            "mechanism": mechanism,
            "actors": list(actors),
            "consequences": list(consequences),
            "needs_care": needs_care,
            "stigma": stigma or span.label_ == "stigma",
            "text": span.text,
            "start_char": start,
            "end_char": span.end_char + char_offset,
            "sentence": sentence_of(span.start_char) + sentence_offset,
        })
    return rows


def _longest(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Non-overlapping spans, the longest of overlapping ones."""
    kept: list[tuple[int, int]] = []
    for s, e in sorted(spans, key=lambda x: (x[0], -(x[1] - x[0]))):
        if kept and s < kept[-1][1]:
            continue
        kept.append((s, e))
    return kept


@Language.factory(
    "fms_access_loss",
    default_config={"fear_window": FEAR_WINDOW, "modal_window": MODAL_WINDOW, "negation_window": NEGATION_WINDOW},
    assigns=["doc.spans", "span._.drug", "span._.mechanism", "span._.actors", "span._.consequences",
             "span._.needs_care", "span._.stigma", "span._.sentiment", "doc._.sentiment"],
    requires=["doc.ents", "doc.sents"],
)
def make_access_loss(nlp: Language, name: str, fear_window: int, modal_window: int,
                     negation_window: int) -> AccessLoss:
    return AccessLoss(nlp, name, fear_window=fear_window, modal_window=modal_window, negation_window=negation_window)

