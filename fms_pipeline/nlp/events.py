"""The adverse events an ``adverse_effect`` or ``withdrawal`` outcome reports, and the drug each is of.

An event is a SYMPTOM entity (the adverse-event vocabulary, ``vocab/adverse_events.tsv``) or a
CONDITION entity ("depression" after starting a drug, reported as "depressed mood": ``condition_events``) in the
outcome's sentence that the patient asserts having (in a review table's side-effects column, the row's patient,
whoever writes it): not negated ("no nausea"), not hypothetical ("if it makes me gain weight"), not
someone else's ("my sister got a rash"), and not what the drug treats or relieved: a symptom right
after a relief cue of ``vocab/event_cues.tsv`` ("Cymbalta for my depression", "Lyrica helps
my pain", "tramadol took away my headaches"). The same words elsewhere are a condition, not an
event: only the outcome's sentence is read.

Each event is tied to one drug of the sentence: the nearest drug named before it ("Lyrica made me
gain weight and Cymbalta made me sweat": weight gain to pregabalin, sweating to duloxetine), else
the nearest after it ("Weight gain from Lyrica"). A sentence that names no drug leaves that to the
outcome (the review table's drug, or the drug of the sentences before).

No spaCy component: ``outcomes.DrugOutcomes`` calls ``events_by_drug`` for the sentences it labels.
"""

from __future__ import annotations

import re
from functools import cache

from spacy.attrs import LOWER
from spacy.strings import hash_string
from spacy.tokens import Doc, Span

from fms_pipeline.nlp.context import DRUG_LABELS, FIRST_PERSON
from fms_pipeline.nlp.drug_lexicon import _vocab_text, drug_classes, read_vocabulary
from fms_pipeline.nlp.phrase_syntax import alternatives

EVENT_LABELS = ("SYMPTOM", "CONDITION")
NO_EVENT = "withdrawal"  # the canonical of "withdrawal symptoms": the outcome itself, not one of its events
LIST_JOINERS = frozenset({",", "and", "or", "&", "/", "nor", "both", "+", "plus"})
CUE_KINDS = ("relief", "relief_after", "cause", "other_person", "drug_before", "drug_after", "drug_stopped",
             "drug_earlier", "drug_started", "reason_after", "drug_exonerated", "remedy_after", "stop_reason")
_DOSE = re.compile(r"^(\d[\d.,/]*\s*(mg|mcg|mgs|ml|g|µg)?|mg|mcg|mgs|er|xr|sr|cr|ir|la|xl|hcl|\(|\)|once|twice|"
                   r"times|x|a|per|day|daily|nightly|at|night|bedtime|morning|mornings|one|two|three|four)$")
_LOWER_KEY = "fms_lower"
_QUESTION_MARK = hash_string("?")
# "the guy in my group gained 40 lbs on Seroquel", "The person who previously reviewed had an allergic reaction"
PERSON_NOUNS = frozenset({"guy", "guys", "woman", "lady", "friend", "friends", "mom", "mother", "dad", "father",
                          "husband", "wife", "son", "daughter", "sister", "brother", "grandma", "grandmother",
                          "grandpa", "aunt", "uncle", "cousin", "boyfriend", "girlfriend", "coworker", "neighbor",
                          "neighbour", "person", "reviewer", "reviewers"})
_PERSON_NOUNS = frozenset(hash_string(w) for w in PERSON_NOUNS)
_THIRD_PERSON = frozenset(hash_string(w) for w in ("he", "she", "they", "him", "her", "them", "his", "their", "he's",
                                                    "she's", "they're", "hers", "theirs")) | _PERSON_NOUNS
NEGATION_WORDS = frozenset({"not", "n't", "nt", "never", "cannot", "cant", "n’t"})
_NOT = frozenset(hash_string(w) for w in NEGATION_WORDS)
_THEY = frozenset(hash_string(w) for w in ("they", "them", "their", "they're", "theirs"))
_MY = hash_string("my")
_BODY_PARTS = frozenset(hash_string(w) for w in (
    "legs", "feet", "hands", "arms", "knees", "joints", "muscles", "eyes", "ears", "hips", "ankles", "wrists",
    "fingers", "toes", "teeth", "gums", "lips", "breasts", "kidneys", "calves", "thighs", "shoulders", "elbows",
    "nerves", "bones", "lungs", "palms", "shins", "nails", "eyelids", "sinuses"))


def _my_body_parts(sentence: Span) -> bool:
    """Whether the sentence names the writer's own body parts: "my" and, at most two words on, a plural one
    ("my legs", "the backs of my legs", "my poor swollen ankles")."""
    words = lower_words(sentence.doc)
    return any(words[i] == _MY and any(w in _BODY_PARTS for w in words[i + 1:min(i + 4, sentence.end)])
               for i in range(sentence.start, sentence.end))
# The patient as the one speaking: context's first-person words less the possessives ("my sister ...").
_FIRST_PERSON_SUBJECT = frozenset(hash_string(w) for w in (FIRST_PERSON - {"my", "mine"}) | {"ive"})
# "tired of the pain", "sick of doctors": fed up, not a symptom.
_FED_UP = frozenset({"tired", "sick", "so tired", "so sick", "really tired", "really sick", "very tired", "weary"})
_OF = hash_string("of")
# "anti-anxiety and anti-seizure drugs", "an anti nausea pill": what a medicine is against, not an event had.
_ANTI, _HYPHEN = hash_string("anti"), hash_string("-")
CUE_WINDOW = 4  # filler words between a cue and its symptom, at most


@cache
def cue_table() -> tuple[dict[str, frozenset[tuple[int, ...]]], frozenset[int], frozenset[str]]:
    """({kind: cue phrases}, filler words, indications) from ``vocab/event_cues.tsv``; cue and filler
    words as the hashes of their lower-case forms (what ``doc.to_array(LOWER)`` holds: no Token
    objects when matching), indications as canonical names."""
    cues: dict[str, set[tuple[int, ...]]] = {kind: set() for kind in CUE_KINDS}
    fillers: set[int] = set()
    indications: set[str] = set()
    for number, line in enumerate(_vocab_text("event_cues.tsv").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        kind, sep, phrases = line.partition("\t")
        if not sep or kind not in (*CUE_KINDS, "filler", "indication"):
            raise ValueError(f"vocab/event_cues.tsv line {number}: expected one of "
                             f"{', '.join((*CUE_KINDS, 'filler', 'indication'))}, a tab and phrases")
        if kind == "indication":  # canonical names, not words to match
            indications.update(p.lower() for p in alternatives(phrases, where=f"vocab/event_cues.tsv line {number}"))
            continue
        for phrase in alternatives(phrases, where=f"vocab/event_cues.tsv line {number}"):
            words = tuple(hash_string(w) for w in phrase.lower().split())
            if words:
                (fillers.update(words) if kind == "filler" else cues[kind].add(words))
    return {kind: frozenset(phrases) for kind, phrases in cues.items()}, frozenset(fillers), frozenset(indications)


def lower_words(doc: Doc) -> list[int]:
    """The doc's lower-case word hashes, computed once per doc."""
    words = doc.user_data.get(_LOWER_KEY)
    if words is None:
        words = doc.user_data[_LOWER_KEY] = doc.to_array(LOWER).tolist()
    return words


def _matches_before(words: list[int], end: int, sentence_start: int, phrases: frozenset, fillers: frozenset) -> bool:
    """Whether a phrase ends at word ``end - 1`` or, skipping up to CUE_WINDOW filler words back, at
    one of them ("gave her" where "her" is also a filler of "for her back pain")."""
    return _phrase_start_before(words, end, sentence_start, phrases, fillers) is not None


def _phrase_start_before(words: list[int], end: int, sentence_start: int, phrases: frozenset,
                         fillers: frozenset) -> int | None:
    """The first word of the phrase ``_matches_before`` finds, or None."""
    i = end - 1
    for _ in range(CUE_WINDOW + 1):
        if i < sentence_start:
            return None
        for length in (5, 4, 3, 2, 1):
            start = i - length + 1
            if start >= sentence_start and tuple(words[start:i + 1]) in phrases:
                return start
        if words[i] not in fillers:
            return None
        i -= 1
    return None


def _phrase_end_at(words: list[int], start: int, sentence_end: int, phrases: frozenset) -> int | None:
    """The index after the longest phrase starting at ``start``, or None."""
    for length in (5, 4, 3, 2, 1):
        if start + length <= sentence_end and tuple(words[start:start + length]) in phrases:
            return start + length
    return None


def _matches_after(words: list[int], start: int, sentence_end: int, phrases: frozenset, fillers: frozenset) -> bool:
    """Whether a phrase starts at word ``start``, after skipping up to CUE_WINDOW filler words."""
    i = start
    skipped = 0
    while i < sentence_end and words[i] in fillers and skipped < CUE_WINDOW:
        i += 1
        skipped += 1
    return _phrase_end_at(words, i, sentence_end, phrases) is not None


def preceded_by(span: Span, kind: str, sentence: Span) -> bool:
    """Whether a ``kind`` cue stands right before the span in its sentence, fillers aside:
    "helps my nerve pain" (relief), "gave me terrible nausea" (cause), "came off Cymbalta" (drug_stopped)."""
    cues, fillers, _ = cue_table()
    return _matches_before(lower_words(span.doc), span.start, sentence.start, cues[kind], fillers)


def followed_by(span: Span, kind: str, sentence: Span) -> bool:
    """Whether a ``kind`` cue comes right after the span: "my depression lifted" (relief_after)."""
    cues, fillers, _ = cue_table()
    return _matches_after(lower_words(span.doc), span.end, sentence.end, cues[kind], fillers)


def is_relieved(entity: Span, sentence: Span) -> bool:
    """Whether the symptom is what the drug treats or relieved ("helps my nerve pain", "spasms better");
    not the exception to a denial ("none except for slight tiredness", "aside from a little dry mouth"),
    whose "for" and "from" are no relief. A pain's joined body parts stand between ("relief from hip and shoulder
    pain")."""
    start = coordination_start(entity)
    if start < entity.start:
        entity = entity.doc[start:entity.end]
    return ((preceded_by(entity, "relief", sentence) and not is_caused(entity, sentence)
             and not _after_an_exception(entity, sentence) and not _from_a_drug(entity, sentence))
            or followed_by(entity, "relief_after", sentence))


# What makes an exception to a denial ("no side effects except ...", "none other than ...").
EXCEPTION_PHRASES = ("except", "except for", "other than", "aside from", "apart from", "besides", "save for", "but")
_EXCEPTION_PAIRS = frozenset(tuple(hash_string(w) for w in p.split()) for p in EXCEPTION_PHRASES if " " in p)


def _from_a_drug(entity: Span, sentence: Span) -> bool:
    """"the itching from the oxy": a drug's effect, whatever stops it."""
    words = lower_words(entity.doc)
    i = entity.end
    if i >= sentence.end or words[i] != _FROM:
        return False
    i += 1
    if i < sentence.end and words[i] in _FILLER_ARTICLES:
        i += 1
    return i < sentence.end and entity.doc[i].ent_type_ in ("DRUG", "DRUG_CLASS")


def is_dose(word: str) -> bool:
    """Whether a lower-case token is part of a dose ("60mg", "60", "mg", "xr")."""
    return bool(_DOSE.match(word))


def _word_before(words: list[int], end: int, sentence_start: int, fillers: frozenset) -> int:
    """The index of the last word before ``end`` that is no filler, or ``sentence_start - 1``."""
    i = end - 1
    while i >= sentence_start and words[i] in fillers:
        i -= 1
    return i


def _after_an_exception(entity: Span, sentence: Span) -> bool:
    """Whether "except for", "aside from", "apart from" or "other than" stands right before the entity, fillers aside."""
    _, fillers, _ = cue_table()
    words = lower_words(sentence.doc)
    i = _word_before(words, entity.start, sentence.start + 1, fillers)
    return i > sentence.start and (words[i - 1], words[i]) in _EXCEPTION_PAIRS


def is_caused(entity: Span, sentence: Span) -> bool:
    """Whether the sentence says something caused the symptom ("gave me terrible nausea"), or gives it as why a drug
    was stopped ("I quit Cymbalta because of the nausea", ``stop_reasons``)."""
    return preceded_by(entity, "cause", sentence) or entity.start in stop_reasons(sentence)


# Verbs that stop a drug when "taking" or "using" and the drug, or nothing, follow them ("stopped taking it because
# of ...", "had to quit because of ..."). Narrower than the drug_stopped cues, whose "off" and "without" say less.
_STOP_VERBS = frozenset(hash_string(w) for w in ("stopped", "stop", "stopping", "quit", "quitting", "discontinued",
                                                 "discontinue"))
_TAKING = frozenset(hash_string(w) for w in ("taking", "using"))
_STOPPED_PRONOUNS = frozenset(hash_string(w) for w in ("it", "them", "this", "these"))
_SWITCH_VERBS = frozenset(hash_string(w) for w in ("switched", "switch", "switching", "changed", "change", "changing",
                                                   "moved", "swapped", "went", "go", "going"))
_TO, _FROM, _ME = hash_string("to"), hash_string("from"), hash_string("me")
_STOP_REASONS_KEY = "fms_stop_reasons"


RISK_WORDS = frozenset({"risk", "risks", "warning", "warnings", "concern", "concerns", "worries", "fear", "fears"})


def stop_reasons(sentence: Span) -> frozenset[int]:
    """The first tokens of the symptoms the sentence gives as why a drug was stopped: right after a ``stop_reason``
    cue (fillers aside) that comes right after a stopped drug ("I quit Cymbalta because of the nausea", "had to stop
    taking it due to the weight gain"; ``_stopped_before``), and those listed with them ("the nausea and headaches").
    Not in a question, not what the drug is taken for, not when a drug follows the list ("because of the nausea from
    Cymbalta" is Cymbalta's). Not after a bare "had to stop" either: that is as often a job or a sport. Computed once
    a sentence."""
    doc = sentence.doc
    cached = doc.user_data.setdefault(_STOP_REASONS_KEY, {})
    if sentence.start in cached:
        return cached[sentence.start]
    found: set[int] = set()
    cues, fillers, _ = cue_table()
    words = lower_words(doc)
    firsts = _first_words("stop_reason")
    if (any(words[i] in firsts for i in range(sentence.start, sentence.end)) and not is_question(sentence)
            and words[next((t.i for t in sentence if not t.is_space), sentence.start)] not in _ASKING):
        ents = [e for e in sentence.ents if e.label_ in ("SYMPTOM", "DRUG", "DRUG_CLASS")]
        for i in range(sentence.start + 1, sentence.end):
            end = _phrase_end_at(words, i, sentence.end, cues["stop_reason"]) if words[i] in firsts else None
            if end is None or not _stopped_before(doc, words, i, sentence, ents, cues["drug_stopped"], fillers):
                continue
            listed = _listed_after(words, end, sentence, ents, fillers)
            # "because of the nausea I had on Cymbalta", "caused by the tramadol": another drug's.
            # "because of the seizure risk": a risk, not an effect had.
            listed = [e for e in listed if e.end >= sentence.end or doc[e.end].lower_ not in RISK_WORDS]
            # (a drug after a clause break is not the list's: "because of the sweating, and Savella gave me ...")
            if listed and not any(e.label_ != "SYMPTOM" and listed[-1].end <= e.start <= listed[-1].end + 6
                                  and not any(doc[k].lower_ in (",", ";", "and", "but")
                                              for k in range(listed[-1].end, e.start)) for e in ents):
                found.update(e.start for e in listed)
    cached[sentence.start] = frozenset(found)
    return cached[sentence.start]


@cache
def _first_words(kind: str) -> frozenset[int]:
    return frozenset(phrase[0] for phrase in cue_table()[0][kind])


def _switch(drug: Span, sentence: Span, ents: list[Span], joined_by: int) -> tuple[Span, int] | None:
    """(the other drug, the switch verb's index) when ``drug`` is the second of a switch, ``joined_by`` ("to" or
    "from") right before it: "switched from Cymbalta to Savella", "switched to Savella from Cymbalta", "went from
    Lyrica to gabapentin", "my doctor switched me from Lyrica to gabapentin"; else None."""
    words = lower_words(sentence.doc)
    first_word = _FROM if joined_by == _TO else _TO
    j = drug.start - 1
    if j <= sentence.start or words[j] != joined_by:
        return None
    other = next((e for e in ents if e.label_ != "SYMPTOM" and e.end == j), None)
    if other is None or other.start - 2 < sentence.start or words[other.start - 1] != first_word:
        return None
    verb = other.start - 2
    if words[verb] == _ME and verb - 1 >= sentence.start:
        verb -= 1
    return (other, verb) if words[verb] in _SWITCH_VERBS else None


def switched_from(drug: Span, sentence: Span, ents: list[Span]) -> Span | None:
    """The drug the writer switched from when ``drug`` is the one switched to ("switched from Cymbalta to Savella");
    else None."""
    found = _switch(drug, sentence, ents, _TO)
    return found[0] if found else None


def reason_owner(nearest: Span, sentence: Span, drugs: list[Span]) -> Span:
    """The drug a reason given after ``nearest`` belongs to: the one switched from when ``nearest`` is the drug switched
    to ("switched from Cymbalta to Savella because of the sweating" is Cymbalta's), else ``nearest``."""
    source = switched_from(nearest, sentence, list(sentence.ents))
    return nearest if source is None else next((d for d in drugs if d.start == source.start), nearest)


def _a_stop_the_writer_made(words: list[int], stop: int, sentence: Span, mine: bool = False) -> bool:
    """Whether the stop at ``stop`` is not governed by a negation, a modal or a difficulty ("can't", "hard to") and,
    unless ``mine`` ("they switched me ..."), not someone else's ("My friend stopped ...")."""
    return not any(words[k] in _NOT_A_STOP for k in range(max(sentence.start, stop - 4), stop)) and (
        mine or not any(words[k] in _THIRD_PERSON or words[k] in _other_people() for k in range(sentence.start, stop)))


def _stopped_before(doc, words: list[int], cue_start: int, sentence: Span, ents: list[Span], stop_cues: frozenset,
                    fillers: frozenset) -> bool:
    """Whether what ends right before ``cue_start`` is a drug the writer stopped: a drug or "it" (dose aside) after a
    drug_stopped cue or a stop verb (and "taking"), the stop not governed by a negation, a modal or a difficulty
    ("I can't stop Cymbalta because of the brain zaps" is withdrawal; "I never stopped ...", "hard to quit ...") and
    not someone else's ("My friend stopped Lyrica because of ...")."""
    i = cue_start - 1
    while i > sentence.start and _DOSE.match(doc[i].lower_):
        i -= 1
    drug = next((e for e in ents if e.label_ != "SYMPTOM" and e.end == i + 1), None)
    thing = drug or (doc[i:i + 1] if words[i] in _STOPPED_PRONOUNS else None)
    if thing is None or (drug is not None and drug._.experiencer == "other"):
        return False
    # "switched from Cymbalta to Savella because of ..." (or "to Savella from Cymbalta"): Cymbalta was stopped
    switch = drug and (_switch(drug, sentence, ents, _TO) or _switch(drug, sentence, ents, _FROM))
    if switch:
        verb = switch[1]
        return _a_stop_the_writer_made(words, verb, sentence, mine=words[verb + 1] == _ME)  # "they switched me ..."
    j = thing.start - 1
    if j > sentence.start and words[j] in _FILLER_ARTICLES:
        j -= 1  # "stopped taking the Lyrica"
    if words[j] in _STOP_VERBS:  # "had to stop Lyrica due to"
        stop = j
    elif j > sentence.start and words[j] in _TAKING and words[j - 1] in _STOP_VERBS:
        stop = j - 1
    else:
        stop = _phrase_start_before(words, thing.start, sentence.start, stop_cues, fillers)
    return stop is not None and _a_stop_the_writer_made(words, stop, sentence)


@cache
def _other_people() -> frozenset[int]:
    """The people of the context rules' "other" triggers ("my husband", "a friend"): their stop is not the writer's."""
    from fms_pipeline.nlp.context import triggers

    return frozenset(hash_string(phrase.split()[-1]) for phrase, found in triggers().items()
                     if any(t.category == "other" for t in found) and phrase.startswith(("my ", "a ")))


_FILLER_ARTICLES = frozenset(hash_string(w) for w in ("the", "my", "this", "that"))
# Words before a stop that make it no stop the writer made ("can't", "never", "would not", "hard to", "took me months
# to", "afraid to", "want to"): what follows "because of" is then why stopping is hard, often withdrawal.
_NOT_A_STOP = frozenset(hash_string(w) for w in (
    "n't", "not", "never", "can", "ca", "could", "cannot", "unable", "hard", "harder", "impossible", "difficult",
    "would", "wo", "should", "afraid", "scared", "try", "trying", "tried", "want", "wanted", "wants", "took", "struggle",
    "struggled", "struggling", "if", "whether", "why", "thinking", "considering", "planning", "plan", "going", "gonna",
    "might", "may", "will", "need", "needs"))
# First words of a sentence that asks, with or without its question mark (forum titles: "Anyone stop Lyrica because
# of the weight gain").
_ASKING = frozenset(hash_string(w) for w in ("did", "does", "do", "has", "have", "anyone", "anybody", "why", "should",
                                             "how", "is", "are", "can", "could", "would", "will", "what"))


def _listed_after(words: list[int], start: int, sentence: Span, ents: list[Span], fillers) -> list[Span]:
    """The symptom right after ``start`` (fillers aside, at most CUE_WINDOW) and those listed with it, joined only by
    LIST_JOINERS and fillers ("the nausea and the headaches"); none when the first is what drugs are taken for, when
    one is withdrawal itself ("because of the withdrawal and brain zaps": why it could not be stopped) or is said to
    be relieved ("because my anxiety was under control")."""
    symptoms = [e for e in ents if e.label_ == "SYMPTOM" and e.start >= start]
    if not symptoms or symptoms[0].start - start > CUE_WINDOW or any(
            words[k] not in fillers for k in range(start, symptoms[0].start)) or is_indication(symptoms[0].ent_id_):
        return []
    listed = [symptoms[0]]
    for e in symptoms[1:]:
        if all(words[k] in _JOINER_HASHES or words[k] in fillers for k in range(listed[-1].end, e.start)):
            listed.append(e)
        else:
            break
    if any(e.ent_id_ == NO_EVENT or _said_relieved(words, e, sentence) for e in listed):
        return []
    return [e for e in listed if not is_indication(e.ent_id_)]


_JOINER_HASHES = frozenset(hash_string(w) for w in LIST_JOINERS)
_LINKING = frozenset(hash_string(w) for w in ("was", "is", "were", "are", "had", "has", "have", "been", "got", "finally",
                                              "now", "all", "well", "much"))


def _said_relieved(words: list[int], entity: Span, sentence: Span) -> bool:
    """Whether a ``relief_after`` cue follows the symptom, "was", "had been" and the like aside ("because my anxiety
    was under control"): relieved, no reason to stop."""
    cues, fillers, _ = cue_table()
    k = entity.end
    while k < sentence.end and k - entity.end < 3 and words[k] in _LINKING:
        k += 1
    return _matches_after(words, k, sentence.end, cues["relief_after"], fillers)


# Subjects of a causing verb that are the drug acting, not the stopping of it: "I stopped taking Lyrica since it made
# me dizzy" (an adverse effect), not "Coming off Effexor gave me brain zaps" (withdrawal).
_ACTING_SUBJECTS = frozenset(hash_string(w) for w in ("it", "they", "which", "that", "this", "these", "those"))


def caused_by_it(entity: Span, sentence: Span) -> bool:
    """Whether a causing verb right before the symptom has a pronoun for the drug as its subject ("it made me
    dizzy", "which gave me headaches")."""
    causing, fillers = _causing_cues()
    words = lower_words(sentence.doc)
    start = _phrase_start_before(words, entity.start, sentence.start, causing, fillers)
    return start is not None and start > sentence.start and words[start - 1] in _ACTING_SUBJECTS


def drug_context(sentence: Span, drugs: list[Span], ents: list[Span], events: list[Span] = ()) -> str | None:
    """"withdrawal" when the sentence names withdrawal or a drug of it is being stopped or missed
    ("came off Cymbalta", "missed a dose of Effexor"); "adverse_effect" when a drug is said to act on
    the patient ("on Lyrica", "Lyrica made me", "Percocet 7.5: ...") or one of ``events`` follows the
    drug right away ("percocet constipates me", "Mobic upset my stomach", "lyrica 150mg, dizzy");
    else None."""
    if events and all(caused_by_it(e, sentence) for e in events):
        return "adverse_effect"  # "I stopped taking Lyrica since it made me dizzy": the drug did it, not the stop
    if events and all(e.start in stop_reasons(sentence) for e in events):
        return "adverse_effect"  # "I quit Cymbalta because of the nausea": why it was stopped, not what stopping did
    if any(e.ent_id_ == NO_EVENT for e in ents) or any(preceded_by(d, "drug_stopped", sentence) for d in drugs):
        return "withdrawal"
    cues, fillers, _ = cue_table()
    for drug in drugs:
        doc = drug.doc
        after = _after_dose(drug, sentence)
        if preceded_by(drug, "drug_before", sentence) or _matches_after(
                lower_words(doc), after, sentence.end, cues["drug_after"], fillers):
            return "adverse_effect"
        if after < sentence.end and doc[after].text == ",":
            after += 1
        if any(e.start == after for e in events):
            return "adverse_effect"
    return None


def asserted_events(sentence: Span, ents: list[Span], column_patient: str | None = None) -> list[Span]:
    """The event entities of a sentence the patient asserts having (see the module docstring); none
    in a question ("does gabapentin cause hair loss?"). ``column_patient``: the sentence answers a review table's
    side-effects column written of someone else (``column_patient``, below): he, she or that person ("my son") is
    the row's patient, not someone else, up to another person the sentence names ("My son became very aggressive
    and hit his sister"; "Her friend got a rash" is the friend's)."""
    candidates = [e for e in ents if e.label_ in EVENT_LABELS and e.ent_id_ != NO_EVENT]
    patients_column = column_patient is not None
    if not candidates or is_question(sentence) or (not patients_column and _about_someone_else(sentence)):
        return []
    words = lower_words(sentence.doc)
    denied = _denied_with_list(candidates, sentence, ents)
    others_from, others_to = _other_medicines_at(sentence, ents)
    if patients_column:
        # what follows another person named is no longer the column's patient's
        others_from, others_to = min(others_from, _other_person_at(sentence, column_patient)), sentence.end
    return [e for e in candidates
            if not (others_from <= e.start < others_to)
            and not (e.end < sentence.end and words[e.end] == _OF and e.text.lower() in _FED_UP)
            and not _after_anti(e, words, sentence.start)
            # "a bipolar medication", "my anxiety meds": what a medicine is for, not an event had
            # (not after a causing verb: "Effexor caused so much nausea medication couldn't fix it")
            and not (e.end < sentence.end and words[e.end] in _MEDICINE_NOUNS and not preceded_by(e, "cause", sentence))
            and e not in denied and not _denied_problem(e, sentence) and (patients_column or (
                e._.experiencer != "other" and not preceded_by(e, "other_person", sentence)))
            and (not is_indication(e.ent_id_) or is_caused(e, sentence))
            # "Side effects review: ... the migraine came back" on Imitrex: what the drug is taken for
            and not is_the_drugs_indication(e, sentence, ents)]


# A symptom that holds its negation ("no appetite", "had no energy"), followed by a word for trouble, denies the
# trouble: "I had no appetite problems on Lyrica", "no energy issues" (session 19).
# ("Can't sleep issues" holds "n't" but names the trouble; "the no sex drive side effect" is one: neither is denied.)
_NEGATION_HEADS = frozenset(hash_string(w) for w in ("no", "zero", "without"))
_TROUBLE_WORDS = frozenset(hash_string(w) for w in (
    "problem", "problems", "issue", "issues", "trouble", "troubles", "changes", "change", "loss", "difficulties",
    "complaints", "concerns",
    # "had no appetite suppressing effect", "no energy boost": what the drug did not do
    "suppressing", "suppression", "suppressant", "boost", "boosting", "increase", "decrease"))


def _after_anti(entity: Span, words: list[int], start: int) -> bool:
    """Whether "anti" or "anti-" comes right before the event ("anti-anxiety drugs")."""
    i = entity.start - 1
    if i >= start and words[i] == _HYPHEN:
        i -= 1
    return i >= start and words[i] == _ANTI


def _denied_problem(entity: Span, sentence: Span) -> bool:
    """Whether the symptom holds a negation and a word for trouble follows it ("no appetite problems")."""
    words = lower_words(entity.doc)
    return (entity.end < sentence.end and words[entity.end] in _TROUBLE_WORDS
            and any(words[i] in _NEGATION_HEADS for i in range(entity.start, min(entity.start + 3, entity.end))))


def all_denied(sentence: Span, ents: list[Span]) -> bool:
    """Whether the sentence names symptoms or conditions and says of each that the patient does not
    have it from the drug: negated, hypothetical or relieved ("Drowsiness has not been an issue",
    "possible effects range from nausea to weight gain", "it relieved my heartburn"). Someone else's
    are not denied: a caregiver's report of a drug's harm is one."""
    candidates = [e for e in ents if e.label_ in EVENT_LABELS and e.ent_id_ != NO_EVENT]
    denied = _denied_with_list(candidates, sentence, ents)
    return bool(candidates) and all(e in denied or is_relieved(e, sentence) or _denied_problem(e, sentence)
                                    or is_the_drugs_indication(e, sentence, ents) for e in candidates)


DRUG_STOPPED = "drug_stopped"  # the outcome rule cues (``vocab/outcome_rule_cues.tsv``) that say a drug was stopped


def relief_of_stopping(sentence: Span, rule_cues: list[Span], drugs: list[Span]) -> bool:
    """Whether the sentence says the patient stopped a drug and names no other drug taken: its relief
    is the relief of stopping ("I feel great since I stopped taking it", "after coming off Paxil my
    memory improved"), not a drug working; "I quit Lyrica and Cymbalta helped" is not."""
    stops = [c for c in rule_cues if c.label_ == DRUG_STOPPED]
    # "I feel better without Lyrica" says it as well, but not "I couldn't function without Lyrica".
    off = bool(drugs) and all(preceded_by(d, "drug_stopped", sentence) for d in drugs) and not any(
        w in _NOT for w in lower_words(sentence.doc)[sentence.start:drugs[0].start])
    return (bool(stops) or off) and all(
        any(c.start <= d.start <= c.end + 1 for c in stops) or preceded_by(d, "drug_stopped", sentence)
        for d in drugs)


OTHER_TREATMENT = "other_treatment"  # the outcome rule cues (``vocab/outcome_rule_cues.tsv``) naming a treatment that is no medicine


def other_treatment_helped(sentence: Span, rule_cues: list[Span], drugs: list[Span]) -> bool:
    """Whether the sentence credits a treatment that is no medicine and names no drug, drug class or
    medicine word: "The counselling does wonders for me", "Yoga has helped my fibro more than anything";
    not "Cymbalta along with therapy saved my life" nor "the meds and physical therapy together helped"."""
    return any(c.label_ == OTHER_TREATMENT for c in rule_cues) and _names_no_medicine(sentence, drugs)


def _names_no_medicine(sentence: Span, drugs: list[Span]) -> bool:
    """No drug, drug class or medicine word ("the meds", "pills") in the sentence."""
    return not drugs and not any(w in _MEDICINE_WORDS for w in lower_words(sentence.doc)[sentence.start:sentence.end])


# Verbs by which a treatment right before them causes what follows: "Yoga gave me a headache".
_CAUSED_BY_TREATMENT = frozenset(hash_string(w) for w in (
    "made", "makes", "make", "gave", "gives", "left", "leaves", "caused", "causes", "triggered", "triggers",
    "aggravated", "aggravates", "worsened", "worsens"))


def other_treatment_caused(sentence: Span, rule_cues: list[Span], drugs: list[Span]) -> bool:
    """Whether the sentence blames a treatment that is no medicine, the subject of a causing verb, and
    names no drug, drug class or medicine word: "Yoga gave me a headache", "Physical therapy made my back
    pain worse" (no drug's adverse effect); not "I diet and exercise and still gained 20 lbs"."""
    if not _names_no_medicine(sentence, drugs):
        return False
    words = lower_words(sentence.doc)
    return any(c.label_ == OTHER_TREATMENT and any(
        words[i] in _CAUSED_BY_TREATMENT for i in range(c.end, min(c.end + 3, sentence.end))) for c in rule_cues)


BENEFIT = "benefit"  # the outcome rule cues that name what a working drug gives
_DENIALS = frozenset({"no", "not", "n't", "nt", "never", "without", "nor", "zero", "none", "hardly", "barely", "n’t"})
_DENIAL_REACH = 5  # words between a denial and the benefit it denies, at most
# What ends a denial's reach, or turns it into praise: "not only relief", "never had such relief",
# "never this much relief", "no better relief".
_DENIAL_BREAKS = frozenset({",", ";", ":", "but", "side", "effects", "effect", "and", "or", ".", "worth", "only",
                            "just", "such", "so", "this", "better", "greater", "as"})


def denied_benefit(sentence: Span, rule_cues: list[Span]) -> bool:
    """Whether the sentence denies the drug any benefit: a denial a few words before a benefit word, with
    no comma, "but", "and" or side effect between ("I did not experience any benefits", "never got any
    relief", "it made no real difference", "very little improvement"); not "no side effects and great relief"
    nor "a little relief"."""
    doc = sentence.doc
    for cue in rule_cues:
        if cue.label_ != BENEFIT:
            continue
        for i in range(cue.start - 1, max(cue.start - 1 - _DENIAL_REACH, sentence.start - 1), -1):
            word = doc[i].lower_
            if word in _DENIAL_BREAKS:
                break
            if word in _DENIALS or (word == "little" and (i == sentence.start or doc[i - 1].lower_ != "a")):
                return True
    return False


# Words that stand for a drug not named: "it was the flu, not the medication", "I felt dizzy on the meds".
MEDICINE_NOUN_WORDS = frozenset((
    "pill", "pills", "med", "meds", "medication", "medications", "medicine", "medicines", "drug", "drugs", "tablet",
    "tablets", "treatment"))
_MEDICINE_NOUNS = frozenset(hash_string(w) for w in MEDICINE_NOUN_WORDS)


# "some others which have given me problems", "the previous meds", "all the pills I had ever tried": medicines other
# than the one the text is about, unnamed.
_OTHER_WORDS = frozenset({"other", "previous", "prior", "former", "earlier", "older"})
_OTHER_MEDICINES = frozenset(MEDICINE_NOUN_WORDS | {"ones", "antibiotics", "treatments", "prescriptions"})
_TRIED = frozenset({"tried", "taken", "used", "had"})
_OTHERS_END = frozenset({"but", "though", "although", "however", ";", "it", "this", "whereas"})


def _other_medicines_at(sentence: Span, ents: list[Span]) -> tuple[int, int]:
    """The tokens (start, end) where the sentence speaks of other medicines it does not name ("as opposed to some
    others which have given me problems, especially stomach upset", "side effects from all the pills I had ever tried
    (dry mouth and drowsiness)", "None of the previous meds ... cause me to shake"): the events there are theirs, not
    the text's drug's. From the phrase to a turn back ("but", "though", "it", "this": "Lyrica works better than the
    other meds I tried but it made me gain weight"); none where a drug is named in the sentence (before: the writer's
    own, "I take Lyrica with my other meds and get really dizzy"; after: the events are tied to it)."""
    if any(e.label_ in DRUG_LABELS for e in ents):
        return sentence.end, sentence.end
    words = [t.lower_ for t in sentence]
    for k, word in enumerate(words):
        before = words[k - 1] if k else None
        if ((word in _OTHER_WORDS and any(w in _OTHER_MEDICINES for w in words[k + 1:k + 3]))
                or (word == "others" and before in ("some", "the", "many", "all"))
                or (word in _OTHER_MEDICINES and before in ("the", "all") and "i" in words[k + 1:k + 3]
                    and any(w in _TRIED for w in words[k + 2:k + 6]))):
            end = next((j for j in range(k + 1, len(words)) if words[j] in _OTHERS_END), len(words))
            return sentence.start + k, sentence.start + end
    return sentence.end, sentence.end


# A sentence with one of these speaks of a medicine ("the side effects hit hard", "since upping the dose").
_MEDICINE_WORDS = frozenset(hash_string(w) for w in (MEDICINE_NOUN_WORDS - {"treatment"}) | {
    "side", "se", "ses", "dose", "doses", "dosage", "capsule", "capsules", "patch", "shot", "shots", "injection",
    "starting", "upped", "upping", "prescription", "prescribed", "script"})


_THE = hash_string("the")
_DETERMINERS = frozenset(hash_string(w) for w in ("the", "this", "these", "that", "those"))


def medicine_words(sentence: Span) -> list[Span]:
    """The sentence's medicine words after "the", "this", "these", "that" or "those" ("on the medication",
    "these pills made me"): stand-ins for the drug a text is about where it names none."""
    words = lower_words(sentence.doc)
    found = [sentence.doc[i:i + 1] for i in range(sentence.start + 1, sentence.end)
             if words[i] in _MEDICINE_NOUNS and words[i - 1] in _DETERMINERS]
    # "before I began taking this drug": the time before it, as for a named drug (``before_the_drug``); "not
    # taking the drug", "never took the pills": not taken.
    cues, fillers, _ = cue_table()
    return [w for w in found
            if not any(words[j] in _NOT for j in range(max(sentence.start, w.start - 4), w.start))
            and not any(_matches_before(words, j, sentence.start, cues["drug_earlier"], fillers)
                        for j in range(sentence.start, w.start + 1))]


def exonerated(sentence: Span, drugs: list[Span]) -> tuple[frozenset[str], bool]:
    """(the drugs the sentence clears of what it reports, whether it clears "the medication" unnamed): a
    ``drug_exonerated`` cue right before the drug (or "the" and the drug) or right before "the" and a medicine
    word ("I was tired, but that was the infection, not the Zithromax", "mostly due to menopause rather than
    the treatment itself"). A drug named elsewhere in the sentence without such a cue, or named as a cause,
    is not cleared ("Lyrica made me gain 20 pounds, and the fatigue was my thyroid, not the Lyrica"; "I take
    Lyrica rather than Cymbalta because Cymbalta gave me nausea"); nor is "it is not a drug I would take"."""
    cues, _, _ = cue_table()
    words = lower_words(sentence.doc)
    phrases = cues["drug_exonerated"]

    def cleared_at(start: int) -> bool:  # a cue ends right before ``start``, "the" aside
        if start > sentence.start and words[start - 1] == _THE:
            start -= 1
        return _matches_before(words, start, sentence.start, phrases, frozenset())

    by_name: dict[str, list[bool]] = {}
    for d in drugs:
        by_name.setdefault(d.ent_id_, []).append(cleared_at(d.start) and not preceded_by(d, "cause", sentence)
                                                 and not followed_by(d, "drug_after", sentence))
    named = frozenset(name for name, cleared in by_name.items() if all(cleared))
    unnamed = not drugs and any(words[i] in _MEDICINE_NOUNS and words[i - 1] == _THE and cleared_at(i)
                                for i in range(sentence.start + 1, sentence.end))
    return named, unnamed


_CAUSING = frozenset(hash_string(w) for w in (
    "gave", "gives", "give", "giving", "made", "makes", "make", "making", "caused", "causes", "cause", "causing",
    "led", "leads", "resulted", "results", "triggered", "triggers", "brought", "brings", "left", "leaves", "leaving"))


def speaks_of_a_medicine(sentence: Span, ents: list[Span]) -> bool:
    """Whether a sentence that names no drug still speaks of one's doing: a medicine word ("the side effects
    hit hard", "since upping the dose", "the new pills") or a causing verb before an event ("gave me
    the worst dry mouth"); not a question, nor one that names a condition ("fibro makes me exhausted").
    "I was dizzy for days after the car accident" and "the brain fog is the worst part of this illness"
    are not."""
    if is_question(sentence) or any(e.label_ == "CONDITION" for e in ents):
        return False
    words = lower_words(sentence.doc)[sentence.start:sentence.end]
    if _QUESTION_MARK in words:
        return False
    if any(w in _MEDICINE_WORDS for w in words):
        return True
    agents, fillers = _causing_cues()
    return any(e.label_ in EVENT_LABELS and _matches_before(lower_words(sentence.doc), e.start, sentence.start, agents,
                                                            fillers) for e in ents)


@cache
def _causing_cues() -> tuple[frozenset, frozenset]:
    """The cause cues with a causing verb ("gave me", "made me"; not "I got" or "started having"), and the fillers."""
    cues, fillers, _ = cue_table()
    return frozenset(c for c in cues["cause"] if c[0] in _CAUSING), fillers


def _denied_with_list(candidates: list[Span], sentence: Span, ents: list[Span] = ()) -> set[Span]:
    """The events negated, hypothetical, relieved or had before the drug (``before_the_drug``), and those
    listed after one (joined only by commas, "and", "or"): a trigger reaches a few words, a list further
    ("possible side effects are constipation, headaches, nausea, diarrhea, weight gain"; "no nausea, no
    headaches, dizziness or rash"; "it eliminated heartburn and coughing")."""
    denied: set[Span] = set()
    previous = None
    earlier = _drugs_of_before(sentence, ents) if candidates else ()
    for e in sorted(candidates, key=lambda c: c.start):
        if e._.negated or e._.hypothetical or is_relieved(e, sentence) or (
                earlier and before_the_drug(e, sentence, earlier)) or (
                previous in denied and previous.end <= e.start
                and all(t.lower_ in LIST_JOINERS for t in e.doc[previous.end:e.start])):
            denied.add(e)
        previous = e
    return denied


# Words that end the clause of a "before" drug or of the reason a drug was started: what follows is
# about the time on it ("Before Lyrica I slept fine, but now I'm exhausted").
_CLAUSE_BREAKS = frozenset(hash_string(w) for w in (
    ";", "but", "now", "then", "until", "till", "which", "and", "since", "though", "although", "yet", "however",
    "while", "except", "after", "so", "because", "when"))


def _drugs_of_before(sentence: Span, ents: list[Span]) -> list[tuple[Span, bool]]:
    """(drug, True) for each drug of the sentence named as the time before it ("before starting Cymbalta"),
    (drug, False) for each named as started for a reason ("put on Zoloft after", "started me on
    amitriptyline because"): the ones whose clause holds what the patient had before."""
    cues, fillers, _ = cue_table()
    out = []
    for d in ents:
        if d.label_ not in ("DRUG", "DRUG_CLASS"):
            continue
        if preceded_by(d, "drug_earlier", sentence):
            out.append((d, True))
        elif preceded_by(d, "drug_started", sentence):
            after = _after_dose(d, sentence)
            if _matches_after(lower_words(d.doc), after, sentence.end, cues["reason_after"], fillers):
                out.append((d, False))
    return out


def _after_dose(drug: Span, sentence: Span) -> int:
    """The first word after a drug and its dose ("cymbalta 90mg and I ...": "and")."""
    after = drug.end
    while after < sentence.end and _DOSE.match(drug.doc[after].lower_):
        after += 1
    return after


def before_the_drug(entity: Span, sentence: Span, earlier: list[tuple[Span, bool]]) -> bool:
    """Whether the symptom is what the patient had before a drug, in the clause of a "before" drug
    ("Before starting Cymbalta I had panic attacks", "I was exhausted before I started Lyrica") or of the
    reason a drug was started ("put on Zoloft after a bad bout of depression", "started baclofen so the
    cramps would stop"), with no other drug or clause break between, and no cause cue ("made me")."""
    if is_caused(entity, sentence):
        return False
    words = lower_words(sentence.doc)
    doc = sentence.doc
    for drug, is_before in earlier:
        if entity.start >= drug.end:
            # The word right after the drug (dose aside) is the reason word itself ("so", "because").
            between = range(_after_dose(drug, sentence) + (0 if is_before else 1), entity.start)
        elif is_before:
            between = range(entity.end, drug.start)
        else:
            continue
        if not any(words[i] in _CLAUSE_BREAKS or doc[i].ent_type_ in ("DRUG", "DRUG_CLASS") for i in between):
            return True
    return False


@cache
def _drug_indications() -> dict[str, frozenset[str]]:
    """{drug class or generic drug: what patients take it for} (``vocab/drug_indications.tsv``)."""
    return {key: frozenset(t.lower() for t in terms if t != key)
            for key, terms in read_vocabulary("drug_indications.tsv").items()}


@cache
def taken_for(drug: str | None) -> frozenset[str]:
    """What patients take a drug (a canonical; a combination's ingredients joined by "/") for, by the drug or its
    class (``vocab/drug_indications.tsv``): {"migraine"} for sumatriptan."""
    if not drug:
        return frozenset()
    table, classes = _drug_indications(), drug_classes()
    found: set[str] = set()
    for part in drug.split("/"):
        found |= table.get(part, frozenset()) | table.get(classes.get(part, ""), frozenset())
    return frozenset(found)


def _drug_of(event: Span, sentence: Span, ents: list[Span]) -> str | None:
    """The drug an event would be the effect of: the nearest named before it in the sentence, else the reviewed one
    (one named after it is often its remedy: "Very high cholesterol which requires more medication (lipitor)")."""
    before = [e for e in ents if e.label_ == "DRUG" and e.end <= event.start]
    if before:
        return before[-1].ent_id_
    return sentence.doc._.stated_drug if Doc.has_extension("stated_drug") else None


# Words that say what a drug is taken for was made worse, new or brought on: then it is an effect of the drug
# ("it made my migraines worse", "Zomig made my migraines more frequent", "Lisinopril raised my blood pressure",
# "muscle spasms in my calves that I never had before", "rebound insomnia").
_WORSE_AFTER = frozenset(hash_string(w) for w in (
    "worse", "worsened", "increased", "intensified", "doubled", "more", "up", "higher", "frequent"))
_NEVER, _NEVER_HAD = hash_string("never"), frozenset(hash_string(w) for w in ("had", "experienced", "gotten", "got"))
_WORSE_BEFORE = frozenset(hash_string(w) for w in (
    "worse", "worsened", "worsening", "increased", "more", "aggravated", "rebound", "stronger", "raised", "new",
    "daily", "constant", "frequent"))
# Words of a stop, a missed dose or withdrawal: what a drug is taken for, back after it, is the stop's (rebound).
# Narrower than outcomes.STOPPING_WORDS: no "cut", "reduce", "decrease", "lowering", which say as often what the drug
# did to the complaint it is taken for ("Imitrex cut my migraine short").
_STOPPING = frozenset(hash_string(w) for w in (
    "stop", "stopped", "stopping", "quit", "quitting", "off", "without", "discontinued", "discontinue",
    "discontinuing", "withdrawal", "withdrawals", "missed", "miss", "skipped", "skip", "taper", "tapering", "wean",
    "weaning", "weaned", "turkey"))
_ANY = hash_string("any")
_SIDE, _EFFECT_WORDS, _REVIEW = hash_string("side"), frozenset(hash_string(w) for w in (
    "effect", "effects", "affect", "affects")), hash_string("review")


def _worsened(entity: Span, sentence: Span) -> bool:
    """Whether the symptom is said to be worse, new or more ("it made my migraines worse", "increased migraines")."""
    words = lower_words(entity.doc)
    after = words[entity.end:min(entity.end + 8, sentence.end)]
    return (any(w in _WORSE_AFTER for w in after[:3])
            or any(a == _NEVER and b in _NEVER_HAD for a, b in zip(after, after[1:]))  # "... I never had before"
            or any(w in _WORSE_BEFORE for w in words[max(entity.start - 2, sentence.start):entity.end]))


def _writer_names_side_effects(sentence: Span) -> bool:
    """Whether the writer calls something a side effect in the sentence ("The side effects of Flexeril were muscle
    spasms"), not a review table's heading ("Side effects review: ...")."""
    words = lower_words(sentence.doc)
    return any(words[i] == _SIDE and words[i + 1] in _EFFECT_WORDS
               and (i + 2 >= sentence.end or words[i + 2] != _REVIEW)
               and not any(w in _NEGATION_HEADS or w == _ANY for w in words[max(i - 2, sentence.start):i])
               for i in range(sentence.start, sentence.end - 1))


def is_the_drugs_indication(event: Span, sentence: Span, ents: list[Span]) -> bool:
    """Whether the event is what its drug (``_drug_of``) is taken for (``vocab/drug_indications.tsv``: "Side effects
    review: chest tightness, and the migraine came back" on Imitrex), and nothing says the drug caused it, made it
    worse or new, that it came of a stop, or that it was a side effect: then it is no adverse effect of the drug."""
    if event.ent_id_ not in taken_for(_drug_of(event, sentence, ents)):
        return False
    words = lower_words(sentence.doc)
    return not (is_caused(event, sentence) or _worsened(event, sentence)
                or any(w in _STOPPING for w in words[sentence.start:sentence.end])
                or _writer_names_side_effects(sentence))


def is_indication(canonical: str) -> bool:
    """Whether the symptom or condition is what patients usually take their drugs for ("works for my
    shingles pain", "my pain group", chronic pain, fibromyalgia): an event only when a cue says the
    drug caused it ("it gave me pain"); specific pains (joint, muscle) are events."""
    return canonical in cue_table()[2]


_PERSON = hash_string("person")
_PERSON_NEXT = frozenset(hash_string(w) for w in ("who", "in", "at", "that", "above", "below", "before", "i", "from"))


def _a_person_named(sentence: Span) -> bool:
    """Whether "person" names someone ("the person who reviewed", "a person in my group")."""
    words = lower_words(sentence.doc)
    return any(words[i] == _PERSON and i + 1 < sentence.end and words[i + 1] in _PERSON_NEXT
               for i in range(sentence.start, sentence.end))


_COLUMN_PATIENTS = frozenset({"patient", "pt", "pt.", "child", "baby", "toddler", "infant", "kid"})


def column_patient(paragraph: Span) -> str | None:
    """Who a review table's side-effects column is written of, when its writer is not the patient: no I or me in it,
    and he, she, "pt" or a person named ("My son developed a rash"): the first person word named ("son"; "" for a
    pronoun or "patient" alone); None when the writer writes of himself or of no one."""
    words = lower_words(paragraph.doc)[paragraph.start:paragraph.end]
    if any(w in _FIRST_PERSON_SUBJECT for w in words):
        return None
    for i, (token, word) in enumerate(zip(paragraph, words)):
        # "Memory problems, my wife noticed it first": the writer's, seen by her; not "Daughter said she felt dizzy"
        if _observes(words, i) and not _he_or_she_follows(words, i):
            continue
        if word in _PERSON_NOUNS:
            return token.lower_
        if word in _THIRD_PERSON or token.lower_ in _COLUMN_PATIENTS:
            return ""
    return None


# Who only saw or said it: "my wife noticed it first", "my husband says I snore now", "my kids commented on it".
_OBSERVING = frozenset(hash_string(w) for w in (
    "noticed", "notices", "notice", "said", "says", "told", "tells", "commented", "comments", "mentioned", "saw",
    "sees", "observed", "pointed", "thinks", "thought"))  # not "complained": who complains of it has it
_OBSERVING_ADVERBS = frozenset(hash_string(w) for w in ("first", "also", "even", "had", "has", "have", "always",
                                                        "actually", "finally", "immediately"))
_HE_OR_SHE = frozenset(hash_string(w) for w in ("he", "she", "they", "him", "her", "his"))


def _he_or_she_follows(words: list[int], i: int) -> bool:
    """Whether he, she or they comes within five words after the person at ``i``: "Daughter said she felt dizzy"
    is the daughter's own."""
    return any(w in _HE_OR_SHE for w in words[i + 1:i + 6])


def _observes(words: list[int], i: int) -> bool:
    """Whether the person word at ``i`` of ``words`` is the subject of a seeing or saying verb right after it (an
    adverb between): someone who noticed the writer's effect, not who had it."""
    j = i + 1
    if j < len(words) and words[j] in _OBSERVING_ADVERBS:
        j += 1
    return j < len(words) and words[j] in _OBSERVING


def _other_person_at(sentence: Span, column_patient: str) -> int:
    """Where the sentence first names a person other than the column's patient, else its end."""
    return next((i for i in range(sentence.start, sentence.end)
                 if sentence.doc[i].lower_ in PERSON_NOUNS and sentence.doc[i].lower_ != column_patient), sentence.end)


def _about_someone_else(sentence: Span) -> bool:
    """A sentence with he, she, they or a person ("my friend", "the guy in my group") and no I or me ("my
    sister says Cymbalta gave her nausea", "my husband's doctor put him on tramadol and he threw up"): its
    symptoms are someone else's."""
    in_order = lower_words(sentence.doc)[sentence.start:sentence.end]
    words = set(in_order)
    # who only noticed or said it is no one else who had it ("Memory problems, my wife noticed it first")
    others = {w for i, w in enumerate(in_order) if w in _THIRD_PERSON and not _observes(in_order, i)}
    if _PERSON in others and not _a_person_named(sentence):
        others = others - {_PERSON}  # "felt like a different person", "a drug for a person with anxiety"
    # "My feet feel like they are on fire": "they" of the writer's own body parts (not "my doctors said they").
    if others <= _THEY and _my_body_parts(sentence):
        return False
    return bool(others) and not words & _FIRST_PERSON_SUBJECT


def is_question(sentence: Span) -> bool:
    """Whether the sentence ends with a question mark (in its last three tokens)."""
    return _QUESTION_MARK in lower_words(sentence.doc)[max(sentence.end - 3, sentence.start):sentence.end]


def events_by_drug(events: list[Span], drugs: list[Span], sentence: Span | None = None) -> dict[Span | None, list[str]]:
    """{drug entity (None when the sentence names none): the event canonicals tied to it, in text order}.

    A drug in a list ("Cymbalta, Lyrica and Savella all gave me nausea") shares its events with the
    whole list. A drug taken against what comes before it ("Constipation is brutal, I have to take Linzess
    just to go": a ``remedy_after`` cue right after it) is not tied to those events."""
    out: dict[Span | None, list[str]] = {}
    remedies = remedies_of(drugs, sentence) if sentence is not None else ()
    reasons = stop_reasons(sentence) if sentence is not None else frozenset()
    for event in events:
        before = [d for d in drugs if d.end <= event.start]
        after = [d for d in drugs if d.start >= event.end and d not in remedies]
        nearest = before[-1] if before else (after[0] if after else None)
        if nearest is not None and event.start in reasons:
            nearest = reason_owner(nearest, sentence, drugs)  # "switched from Cymbalta to Savella because of ..."
        listed = [d for d in drugs if d is nearest or d not in remedies]
        for drug in (_listed_with(nearest, listed) if nearest is not None else [None]):
            terms = out.setdefault(drug, [])
            for term in (event_term(event), *coordinated_terms(event)):
                if term not in terms:
                    terms.append(term)
    return out


# Words that join the body parts of one pain ("muscle and joint pain", "bone/muscle/joint pain", "neck, shoulder pain").
_PART_JOINERS = frozenset({"and", "/", "&", ",", "or", "+"})
_PAIN_WORDS = frozenset({"pain", "pains", "ache", "aches", "aching"})


@cache
def condition_events() -> dict[str, str]:
    """{condition canonical: the adverse-event term it is reported under} (``vocab/condition_events.tsv``);
    each side checked against its vocabulary."""
    from fms_pipeline.nlp.drug_lexicon import read_vocabulary
    from fms_pipeline.nlp.icd10 import EVENT_VOCABULARY

    name = "condition_events.tsv"
    conditions, terms = read_vocabulary("conditions.tsv"), read_vocabulary(EVENT_VOCABULARY)
    out: dict[str, str] = {}
    for number, line in enumerate(_vocab_text(name).splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) != 2 or fields[0] not in conditions or fields[1] not in terms or fields[0] in out:
            raise ValueError(f"vocab/{name} line {number}: expected 'condition<TAB>event', a condition of "
                             f"conditions.tsv (once) and a term of {EVENT_VOCABULARY}: {line!r}")
        out[fields[0]] = fields[1]
    return out


def event_term(entity: Span) -> str:
    """The adverse-event term an event entity is reported under: its canonical, or for a condition the event
    term ``condition_events`` names ("depression" is reported as "depressed mood")."""
    if entity.label_ == "CONDITION":
        return condition_events().get(entity.ent_id_, entity.ent_id_)
    return entity.ent_id_


@cache
def _symptom_terms() -> dict[str, str]:
    """{variant or slot phrase, lower case: its term} of the symptom vocabulary."""
    from fms_pipeline.nlp.drug_lexicon import read_vocabulary
    from fms_pipeline.nlp.icd10 import EVENT_VOCABULARY
    from fms_pipeline.nlp.pipeline import event_phrases

    # the slot phrases too ("pain in upper arms"), the vocabulary's own variants winning
    phrases = {p.lower(): term for term, listed in event_phrases().items() for p in listed}
    return phrases | {v.lower(): term for term, variants in read_vocabulary(EVENT_VOCABULARY).items() for v in variants}


def coordination_start(event: Span) -> int:
    """Where the body parts joined before a pain begin ("bone/muscle/joint pain": at "bone"), else the event's start."""
    doc, start = event.doc, event.start
    if event[-1].lower_ in _PAIN_WORDS:
        # not into another entity: "upset stomach and back pain" is no stomach pain, "stiff neck and ..." no neck pain
        while (start >= 2 and doc[start - 1].lower_ in _PART_JOINERS and doc[start - 2].is_alpha
               and not doc[start - 2].ent_type):
            start -= 2
    return start


def coordinated_terms(event: Span) -> list[str]:
    """The terms of the body parts joined to a pain ("muscle and joint pain" is muscle pain and joint pain;
    "bone/muscle/joint pain" bone, muscle and joint pain; "stomach and joint pain"), beside the entity's own term,
    what patients take their drugs for aside (``is_indication``)."""
    pain = event[-1].lower_
    if pain not in _PAIN_WORDS:
        return _shared_head_terms(event)
    doc, terms, start = event.doc, _symptom_terms(), coordination_start(event)
    out = []
    for i in range(start, event.end - 1):
        if doc[i].is_alpha and (i + 1 == event.end - 1 or doc[i + 1].lower_ in _PART_JOINERS):
            term = terms.get(f"{doc[i].lower_} {pain}")
            if term is not None and term != event.ent_id_ and term not in out and not is_indication(term):
                out.append(term)
    return out


def _shared_head_terms(event: Span) -> list[str]:
    """The terms of the words joined to an event of two or more words that share its head or its modifier: "itchy and
    watery eyes" (itchy eyes: eye irritation, beside watery eyes), "dry lips and skin" (dry skin, beside dry lips),
    each only where the joined phrase is itself a variant of the vocabulary; not into another entity."""
    if len(event) < 2:
        return []
    doc, terms, sentence = event.doc, _symptom_terms(), event.sent
    head, modifier = event[-1].lower_, " ".join(t.lower_ for t in event[:-1])
    out = []
    i = event.start
    # (over a one-word entity of the list, which is its own event: "irritated, red, flaking, peeling skin")
    while (i - 2 >= sentence.start and doc[i - 1].lower_ in _PART_JOINERS and doc[i - 2].is_alpha
           and (not doc[i - 2].ent_type or (doc[i - 2].ent_iob_ == "B" and doc[i - 1].ent_iob_ != "I"))):
        if doc[i - 2].ent_type:
            i -= 2
            continue
        term = terms.get(f"{doc[i - 2].lower_} {head}")
        if term is None:
            break
        out.append(term)
        i -= 2
    j = event.end
    while j + 1 < sentence.end and doc[j].lower_ in _PART_JOINERS and doc[j + 1].is_alpha and not doc[j + 1].ent_type:
        term, width = terms.get(f"{modifier} {doc[j + 1].lower_}"), 1
        # a part of two words: "pain in shoulders and upper arms"
        if term is None and j + 2 < sentence.end and doc[j + 2].is_alpha and not doc[j + 2].ent_type:
            term, width = terms.get(f"{modifier} {doc[j + 1].lower_} {doc[j + 2].lower_}"), 2
        if term is None:
            break
        out.append(term)
        j += 1 + width
    return [t for t in dict.fromkeys(out) if t != event.ent_id_ and not is_indication(t)]


# A drug right after these is the one acting, whatever follows it ("gained 30 pounds on Seroquel to sleep").
_ACTING_BEFORE = frozenset(hash_string(w) for w in ("on", "from", "since", "of", "by"))


def remedies_of(drugs: list[Span], sentence: Span) -> list[Span]:
    """The drugs of the sentence taken against something: followed (dose aside) by a ``remedy_after`` cue
    ("I have to take Linzess just to go", "Zofran for that"), and not named as acting ("on Seroquel to
    sleep", "nausea from Tramadol just to get through the day") nor as a cause ("Lyrica gave me ...")."""
    cues, fillers, _ = cue_table()
    words = lower_words(sentence.doc)
    out = []
    for d in drugs:
        after = _after_dose(d, sentence)
        if not _matches_after(words, after, sentence.end, cues["remedy_after"], fillers):
            continue
        before = _word_before(words, d.start, sentence.start, fillers)
        if before >= sentence.start and words[before] in _ACTING_BEFORE:
            continue
        if _matches_after(words, after, sentence.end, cues["drug_after"], fillers):
            continue
        out.append(d)
    return out


def _listed_with(drug: Span, drugs: list[Span]) -> list[Span]:
    """The drugs of the list ``drug`` is in: neighbours joined only by commas, "and", "or", "/"."""
    doc = drug.doc
    ordered = sorted(drugs, key=lambda d: d.start)
    at = ordered.index(drug)
    first = last = at
    while first > 0 and all(t.lower_ in LIST_JOINERS for t in doc[ordered[first - 1].end:ordered[first].start]):
        first -= 1
    while last + 1 < len(ordered) and all(t.lower_ in LIST_JOINERS for t in doc[ordered[last].end:ordered[last + 1].start]):
        last += 1
    return ordered[first:last + 1]
