"""Outcomes in DrugLib reviewers' words: denied side effects, deciding phrases, and the weak
labels the classifier is trained on beside PsyTAR (``weak_labels``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fms_pipeline.nlp import reviews

REPO = Path(__file__).resolve().parents[1]
DRUGLIB = REPO / "data" / "druglib" / "reviews_train.tsv"


@pytest.mark.parametrize("text", ["Side effects: none.", "Side effects - none", "Side Effects: None noted.",
                                  "Side effects: minimal.", "Minimal.", "None that I noticed.", "N/A",
                                  "Nothing that I noticed.", "I didn't notice any side effects."])
def test_denied_side_effects_are_not_adverse_effects(nlp, text):
    assert "adverse_effect" not in reviews.counted_outcomes(nlp(text))


@pytest.mark.parametrize("text", ["Nausea at first, now none.", "minimal nausea", "Side effects: nausea and headaches."])
def test_a_symptom_named_before_the_denial_is_still_an_adverse_effect(nlp, text):
    assert "adverse_effect" in reviews.counted_outcomes(nlp(text))


@pytest.mark.parametrize("text", ["It was not effective.", "It never worked for me.", "It has not helped me at all."])
def test_a_negated_effective_phrase_decides_nothing(nlp, text):
    doc = nlp(text)
    labels = {s.label_ for s in doc.spans["outcomes"]}
    assert "ineffective" in labels and "effective" not in labels
