"""Outcomes in DrugLib reviewers' words: denied side effects, deciding phrases, and the weak
labels the classifier is trained on beside PsyTAR (``weak_labels``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fms_pipeline.nlp import outcome_model, reviews

REPO = Path(__file__).resolve().parents[1]
DRUGLIB = REPO / "data" / "druglib" / "reviews_train.tsv"


@pytest.mark.parametrize("text", ["Side effects: none.", "Side effects - none", "Side Effects: None noted.",
                                  "Side effects: minimal.", "Minimal.", "None that I noticed.", "N/A",
                                  "Nothing that I noticed.", "I didn't notice any side effects."])
def test_denied_side_effects_are_not_adverse_effects(nlp, text):
    assert "adverse_effect" not in reviews.counted_outcomes(nlp(text))


@pytest.mark.parametrize("text", ["Nausea at first, now none.", "minimal nausea", "Side effects: nausea and headaches."])
def test_a_symptom_named_before_the_denial_is_not_denied(nlp, text):
    from fms_pipeline.nlp import outcomes

    doc = nlp(text)
    component = nlp.get_pipe("fms_outcomes")
    sentence = doc[:]
    assert not outcomes.denies_adverse_effects(sentence, component.rule_cues(doc), list(doc.ents))
    if text.startswith("Side effects"):  # the others' adverse effect is the classifier's call ("minimal")
        assert "adverse_effect" in reviews.counted_outcomes(doc)


@pytest.mark.parametrize("text", ["It was not effective.", "It never worked for me.", "It has not helped me at all."])
def test_a_negated_effective_phrase_decides_nothing(nlp, text):
    doc = nlp(text)
    labels = {s.label_ for s in doc.spans["outcomes"]}
    assert "ineffective" in labels and "effective" not in labels


def test_weak_labels_never_take_held_back_reviews(nlp):
    from fms_pipeline.nlp import evaluation, weak_labels

    druglib = reviews.read_druglib(DRUGLIB)
    held_back = {r.review_id for r in druglib if r.held_back}
    assert weak_labels.group_texts([r for r in druglib if r.held_back]) == []
    assert not {i for i, _, _ in evaluation.review_texts(druglib)} & held_back
    weak = weak_labels.weak_sentences(nlp, druglib[:400])
    assert len(weak) > 100 and not set(weak.review_ids.tolist()) & held_back
    # Each group speaks only about its labels: "None." in a 'No Side Effects' text is not an adverse effect.
    none = weak.groups == weak_labels.GROUPS.index("no_side_effects")
    ade = outcome_model.MODEL_LABELS.index("adverse_effect")
    assert none.any() and (weak.labels[none, ade] == 0).all() and weak.known[none, ade].all()
    assert not weak.known[none][:, [outcome_model.MODEL_LABELS.index("withdrawal")]].any()


def test_weak_labels_are_deterministic(nlp):
    from fms_pipeline.nlp import weak_labels

    druglib = reviews.read_druglib(DRUGLIB)[:200]
    a, b = weak_labels.weak_sentences(nlp, druglib), weak_labels.weak_sentences(nlp, list(druglib))
    assert a.texts == b.texts and (a.labels == b.labels).all() and (a.features.words != b.features.words).nnz == 0
