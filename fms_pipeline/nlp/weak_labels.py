"""Weak outcome labels from DrugLib reviewers' own ratings, extra training sentences beside PsyTAR.

A DrugLib review (``reviews.py``) has an effectiveness rating, a side-effect rating and three
texts. The ratings say something about some sentences of some texts, never everything:

=======================  ================================  =========================================
group                    sentences of                      says
=======================  ================================  =========================================
``no_side_effects``      side-effect texts rated           not ``adverse_effect`` ("None", "N/A",
                         "No Side Effects"                 "no side effects noticed", "minimal")
``severe``               side-effect texts rated Severe /  ``adverse_effect``, for sentences that
                         Extremely Severe                  name a symptom or condition
``ineffective``          benefits texts of reviews rated   not ``effective``
                         "Ineffective"
``highly_effective``     benefits texts of reviews rated   not ``ineffective``
                         "Highly Effective"
=======================  ================================  =========================================

Measured in cross-validation on the training data (PsyTAR train, DrugLib reviews not held back)
before settling on this: benefits texts as weak *positives* ("Ineffective" -> ineffective,
"Highly Effective" -> effective) cost 0.03-0.09 PsyTAR F1 at any weight and taught the model that
"None" is ineffective (found in 50-60% of 'No Side Effects' texts, from 8%); as negatives only
they cost at most 0.02 F1 and lower ``effective`` in reviews rated Ineffective (24% -> 21% at
weight 1).

Only reviews that are not held back are used (``Review.held_back``: the held-back fifth is what
``fms-pipeline evaluate`` measures); the builder drops held-back reviews itself, whatever it is given.
Each sentence carries only the labels its group speaks about (``known``); the classifier's
per-label fits use a sentence for a label only where it is known, with a weight below PsyTAR's
gold labels (``evaluation.train`` picks it by cross-validation).

Everything is deterministic: the same reviews and pipeline give the same sentences in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fms_pipeline.nlp import outcome_model
from fms_pipeline.nlp.outcome_model import MODEL_LABELS, SentenceFeatures
from fms_pipeline.nlp.outcomes import by_sentence
from fms_pipeline.nlp.reviews import NO_SIDE_EFFECTS, SEVERE, Review

GROUPS = ("no_side_effects", "severe", "ineffective", "highly_effective")
SYMPTOM_LABELS = ("SYMPTOM", "CONDITION")
_COLUMN = {label: j for j, label in enumerate(MODEL_LABELS)}
# group -> {label: 0/1}: what the rating says about every (kept) sentence of the group's texts.
GROUP_LABELS = {
    "no_side_effects": {"adverse_effect": 0},
    "severe": {"adverse_effect": 1},
    "ineffective": {"effective": 0},
    "highly_effective": {"ineffective": 0},
}


def group_texts(reviews: list[Review]) -> list[tuple[int, str, str]]:
    """(review id, group, text) of every text a rating speaks about, in review order; held-back
    reviews are never taken."""
    out = []
    for r in reviews:
        if r.held_back:
            continue
        if r.side_effects_text and r.side_effects == NO_SIDE_EFFECTS:
            out.append((r.review_id, "no_side_effects", r.side_effects_text))
        elif r.side_effects_text and r.side_effects in SEVERE:
            out.append((r.review_id, "severe", r.side_effects_text))
        if r.benefits and r.effectiveness == "Ineffective":
            out.append((r.review_id, "ineffective", r.benefits))
        elif r.benefits and r.effectiveness == "Highly Effective":
            out.append((r.review_id, "highly_effective", r.benefits))
    return out


@dataclass
class WeakSentences:
    features: SentenceFeatures
    labels: np.ndarray  # (n, len(MODEL_LABELS)) 0/1
    known: np.ndarray  # (n, len(MODEL_LABELS)) bool: the labels the rating speaks about
    groups: np.ndarray  # (n,) index into GROUPS
    review_ids: np.ndarray  # (n,)
    texts: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def keep_sentence(group: str, sentence) -> bool:
    """A severe side-effect text's sentence is a weak adverse effect only when it names a
    symptom or condition ("I stopped taking it" in such a text is not one)."""
    if not sentence.text.strip():
        return False
    if group == "severe":
        return any(e.label_ in SYMPTOM_LABELS for e in sentence.ents)
    return True


def weak_sentences(nlp, reviews: list[Review]) -> WeakSentences:
    """The weakly labelled sentences of the reviews not held back (module docstring)."""
    component = nlp.get_pipe("fms_outcomes")
    items = group_texts(reviews)
    sentences, cues, rows = [], [], []
    for (review_id, group, _), doc in zip(items, nlp.pipe([t for _, _, t in items], disable=["fms_outcomes"],
                                                          batch_size=64)):
        doc_sentences = list(doc.sents)
        for sentence, sentence_cues in zip(doc_sentences, by_sentence(doc_sentences, component.cues(doc))):
            if keep_sentence(group, sentence):
                sentences.append(sentence)
                cues.append(sentence_cues)
                rows.append((review_id, GROUPS.index(group)))
    features = component.sentence_features(sentences, cues, [list(s.ents) for s in sentences])
    labels = np.zeros((len(sentences), len(MODEL_LABELS)), dtype=np.int64)
    known = np.zeros(labels.shape, dtype=bool)
    groups = np.array([g for _, g in rows], dtype=np.int64)
    for g, group in enumerate(GROUPS):
        for label, value in GROUP_LABELS[group].items():
            labels[groups == g, _COLUMN[label]] = value
            known[groups == g, _COLUMN[label]] = True
    return WeakSentences(features, labels, known, groups, np.array([i for i, _ in rows], dtype=np.int64),
                         [s.text for s in sentences])


def subset(weak: WeakSentences, index: np.ndarray) -> WeakSentences:
    return WeakSentences(outcome_model.subset(weak.features, index), weak.labels[index], weak.known[index],
                         weak.groups[index], weak.review_ids[index], [weak.texts[i] for i in index.tolist()])
