"""A processed spaCy ``Doc`` -> the rows of the staged NLP tables (entity_mentions,
outcome_mentions, sentences, access_mentions)."""

from __future__ import annotations

import bisect

from fms_pipeline.nlp import access_loss, extensions

ENTITY_EXTENSIONS = ("negated", "hypothetical", "historical", "experiencer", "icd10")
OUTCOME_EXTENSIONS = ("drug", "events", "negated", "hypothetical")
SENTENCE_EXTENSIONS = ("sentiment", "tone")


def doc_rows(doc, doc_id: str, cid: str | None, char_offset: int = 0, sentence_offset: int = 0) -> dict[str, list[dict]]:
    """The staging rows of one processed text (an article body or a comment), or of one piece of
    a long text that starts at ``char_offset`` and after ``sentence_offset`` sentences."""
    owner = cid or f"{doc_id}:a"
    sents = list(doc.sents)
    sentence_starts = [s.start_char for s in sents]
    o, so = char_offset, sentence_offset
    mentions = []
    for ent in doc.ents:
        negated, hypothetical, historical, experiencer, icd10 = extensions.values(doc, ent, ENTITY_EXTENSIONS)
        start = ent.start_char
        mentions.append({
            "mention_id": f"{owner}:{start + o}",
            "document_id": doc_id,
            "comment_id": cid,
            "label": ent.label_,
            "text": (text := ent.text),
            "canonical": ent.ent_id_ or " ".join(text.lower().split()),
            "start_char": start + o,
            "end_char": ent.end_char + o,
            "sentence": _sentence_index(sentence_starts, start) + so,
            "negated": negated,
            "hypothetical": hypothetical,
            "historical": historical,
            "experiencer": experiencer,
            "icd10_code": icd10,
        })
    outcomes = []
    for span in doc.spans.get("outcomes", []):
        drug, events, negated, hypothetical = extensions.values(doc, span, OUTCOME_EXTENSIONS)
        start, label = span.start_char, span.label_
        outcomes.append({
            "outcome_id": f"{owner}:{start + o}:{label}:{drug or ''}",
            "document_id": doc_id,
            "comment_id": cid,
            "outcome": label,
            "drug": drug,
            "events": list(events),
            "text": span.text,
            "start_char": start + o,
            "end_char": span.end_char + o,
            "sentence": _sentence_index(sentence_starts, start) + so,
            "negated": negated,
            "hypothetical": hypothetical,
        })
    # A drug named twice in a sentence ("weaning off Lexapro ... because Lexapro stopped working")
    # can give the same outcome twice: one row per outcome_id (the warehouse declares it unique).
    outcomes = list({row["outcome_id"]: row for row in reversed(outcomes)}.values())[::-1]
    sentences = []
    for number, sentence in enumerate(sents):
        sentiment, tone = extensions.values(doc, sentence, SENTENCE_EXTENSIONS)
        sentences.append({
            "document_id": doc_id,
            "comment_id": cid,
            "sentence": number + so,
            "start_char": sentence.start_char + o,
            "end_char": sentence.end_char + o,
            "sentiment": sentiment,
            "tone": tone,
        })
    access = access_loss.access_rows(doc, doc_id, cid, lambda char: _sentence_index(sentence_starts, char), o, so)
    return {"entity_mentions": mentions, "outcome_mentions": outcomes, "sentences": sentences,
            "access_mentions": access}


def _sentence_index(sentence_starts: list[int], char: int) -> int:
    return max(bisect.bisect_right(sentence_starts, char) - 1, 0)
