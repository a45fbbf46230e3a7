"""The adverse events an ``adverse_effect`` or ``withdrawal`` outcome reports, and the drug each is of.

An event is a SYMPTOM entity (the adverse-event vocabulary, ``vocab/adverse_events.tsv``) or a
CONDITION entity ("depression" after starting a drug) in the outcome's sentence that the patient
asserts having: not negated ("no nausea"), not hypothetical ("if it makes me gain weight"), not
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

from functools import cache

from spacy.tokens import Span

from fms_pipeline.nlp.drug_lexicon import _vocab_text

EVENT_LABELS = ("SYMPTOM", "CONDITION")
NO_EVENT = "withdrawal"  # the canonical of "withdrawal symptoms": the outcome itself, not one of its events
LIST_JOINERS = frozenset({",", "and", "or", "&", "/", "nor", "both", "+", "plus"})
CUE_WINDOW = 4  # filler words between a cue and its symptom, at most


@cache
def cue_table() -> tuple[dict[str, frozenset[tuple[str, ...]]], frozenset[str]]:
    """({"relief": cue phrases, "cause": cue phrases} as word tuples, filler words), from
    ``vocab/event_cues.tsv``."""
    cues: dict[str, set[tuple[str, ...]]] = {"relief": set(), "cause": set()}
    fillers: set[str] = set()
    for number, line in enumerate(_vocab_text("event_cues.tsv").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        kind, sep, phrases = line.partition("\t")
        if not sep or kind not in ("relief", "cause", "filler"):
            raise ValueError(f"vocab/event_cues.tsv line {number}: expected 'relief|cause|filler<TAB>phrases'")
        for phrase in phrases.split("|"):
            words = tuple(phrase.strip().lower().split())
            if words:
                (fillers.update(words) if kind == "filler" else cues[kind].add(words))
    return {kind: frozenset(phrases) for kind, phrases in cues.items()}, frozenset(fillers)


def preceded_by(entity: Span, kind: str) -> bool:
    """Whether a ``kind`` cue ("relief", "cause") stands right before the entity in its sentence,
    fillers aside: "helps my nerve pain" (relief), "gave me terrible nausea" (cause)."""
    cues, fillers = cue_table()
    sentence_start = entity.sent.start
    doc = entity.doc
    i = entity.start - 1
    skipped = 0
    while i >= sentence_start and doc[i].lower_ in fillers and skipped < CUE_WINDOW:
        i -= 1
        skipped += 1
    for length in (4, 3, 2, 1):
        start = i - length + 1
        if start >= sentence_start and tuple(t.lower_ for t in doc[start:i + 1]) in cues[kind]:
            return True
    return False


def is_relieved(entity: Span) -> bool:
    """Whether the symptom is what the drug treats or relieved ("helps my nerve pain")."""
    return preceded_by(entity, "relief")


def is_caused(entity: Span) -> bool:
    """Whether the sentence says something caused the symptom ("gave me terrible nausea")."""
    return preceded_by(entity, "cause")


def asserted_events(ents: list[Span]) -> list[Span]:
    """The event entities of a sentence the patient asserts having (see the module docstring)."""
    return [e for e in ents
            if e.label_ in EVENT_LABELS and e.ent_id_ != NO_EVENT and not e._.negated and not e._.hypothetical
            and e._.experiencer != "other" and not is_relieved(e)]


def events_by_drug(events: list[Span], drugs: list[Span]) -> dict[Span | None, list[str]]:
    """{drug entity (None when the sentence names none): the event canonicals tied to it, in text order}.

    A drug in a list ("Cymbalta, Lyrica and Savella all gave me nausea") shares its events with the
    whole list."""
    out: dict[Span | None, list[str]] = {}
    for event in events:
        before = [d for d in drugs if d.end <= event.start]
        after = [d for d in drugs if d.start >= event.end]
        nearest = before[-1] if before else (after[0] if after else None)
        for drug in (_listed_with(nearest, drugs) if nearest is not None else [None]):
            terms = out.setdefault(drug, [])
            if event.ent_id_ not in terms:
                terms.append(event.ent_id_)
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
