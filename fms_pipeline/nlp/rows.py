"""A processed spaCy ``Doc`` -> the rows of the staged NLP tables (entity_mentions,
outcome_mentions, sentences, access_mentions)."""

from __future__ import annotations

import bisect

from fms_pipeline.nlp import access_loss


def doc_rows(doc, doc_id: str, cid: str | None, char_offset: int = 0, sentence_offset: int = 0) -> dict[str, list[dict]]:
    """The staging rows of one processed text (an article body or a comment), or of one piece of
    a long text that starts at ``char_offset`` and after ``sentence_offset`` sentences."""
    owner = cid or f"{doc_id}:a"
    sentence_starts = [s.start_char for s in doc.sents]
    o, so = char_offset, sentence_offset
    mentions = [
        {
            "mention_id": f"{owner}:{ent.start_char + o}",
            "document_id": doc_id,
            "comment_id": cid,
            "label": ent.label_,
            "text": ent.text,
            "canonical": ent.ent_id_ or " ".join(ent.text.lower().split()),
            "start_char": ent.start_char + o,
            "end_char": ent.end_char + o,
            "sentence": _sentence_index(sentence_starts, ent.start_char) + so,
            "negated": ent._.negated,
            "hypothetical": ent._.hypothetical,
            "historical": ent._.historical,
            "experiencer": ent._.experiencer,
            "icd10_code": ent._.icd10 if ent.has_extension("icd10") else None,
        }
        for ent in doc.ents
    ]
    outcomes = [
        {
            "outcome_id": f"{owner}:{span.start_char + o}:{span.label_}:{span._.drug or ''}",
            "document_id": doc_id,
            "comment_id": cid,
            "outcome": span.label_,
            "drug": span._.drug,
            "events": list(span._.events),
            "text": span.text,
            "start_char": span.start_char + o,
            "end_char": span.end_char + o,
            "sentence": _sentence_index(sentence_starts, span.start_char) + so,
            "negated": span._.negated,
            "hypothetical": span._.hypothetical,
        }
        for span in doc.spans.get("outcomes", [])
    ]
    # A drug named twice in a sentence ("weaning off Lexapro ... because Lexapro stopped working")
    # can give the same outcome twice: one row per outcome_id (the warehouse declares it unique).
    outcomes = list({row["outcome_id"]: row for row in reversed(outcomes)}.values())[::-1]
    sentences = [
        {
            "document_id": doc_id,
            "comment_id": cid,
            "sentence": number + so,
            "start_char": sentence.start_char + o,
            "end_char": sentence.end_char + o,
            "sentiment": sentence._.sentiment,
            "tone": sentence._.tone if sentence.has_extension("tone") else None,
        }
        for number, sentence in enumerate(doc.sents)
    ]
    access = access_loss.access_rows(doc, doc_id, cid, lambda char: _sentence_index(sentence_starts, char), o, so)
    return {"entity_mentions": mentions, "outcome_mentions": outcomes, "sentences": sentences,
            "access_mentions": access}


def _sentence_index(sentence_starts: list[int], char: int) -> int:
    return max(bisect.bisect_right(sentence_starts, char) - 1, 0)
