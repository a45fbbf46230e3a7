"""A processed spaCy ``Doc`` -> the rows of the staged NLP tables (entity_mentions,
outcome_mentions, sentences)."""

from __future__ import annotations

import bisect


def doc_rows(doc, doc_id: str, cid: str | None) -> dict[str, list[dict]]:
    """The staging rows of one processed text (an article body or a comment)."""
    owner = cid or f"{doc_id}:a"
    sentence_starts = [s.start_char for s in doc.sents]
    mentions = [
        {
            "mention_id": f"{owner}:{ent.start_char}",
            "document_id": doc_id,
            "comment_id": cid,
            "label": ent.label_,
            "text": ent.text,
            "canonical": ent.ent_id_ or " ".join(ent.text.lower().split()),
            "start_char": ent.start_char,
            "end_char": ent.end_char,
            "sentence": _sentence_index(sentence_starts, ent.start_char),
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
            "outcome_id": f"{owner}:{span.start_char}:{span.label_}:{span._.drug or ''}",
            "document_id": doc_id,
            "comment_id": cid,
            "outcome": span.label_,
            "drug": span._.drug,
            "symptom": span._.symptom,
            "text": span.text,
            "start_char": span.start_char,
            "end_char": span.end_char,
            "sentence": _sentence_index(sentence_starts, span.start_char),
            "negated": span._.negated,
            "hypothetical": span._.hypothetical,
        }
        for span in doc.spans.get("outcomes", [])
    ]
    sentences = [
        {
            "document_id": doc_id,
            "comment_id": cid,
            "sentence": number,
            "start_char": sentence.start_char,
            "end_char": sentence.end_char,
            "sentiment": sentence._.sentiment,
        }
        for number, sentence in enumerate(doc.sents)
    ]
    return {"entity_mentions": mentions, "outcome_mentions": outcomes, "sentences": sentences}


def _sentence_index(sentence_starts: list[int], char: int) -> int:
    return max(bisect.bisect_right(sentence_starts, char) - 1, 0)
