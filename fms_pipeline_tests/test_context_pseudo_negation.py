"""Pseudo-negation: phrases that contain a negation word but do not negate what follows."""

from __future__ import annotations

import pytest

from fms_pipeline_tests.conftest import read_as_review


def context_of(nlp, sentence: str, canonical: str):
    doc = nlp(sentence)
    matches = [e for e in doc.ents if e.ent_id_ == canonical]
    assert matches, f"{canonical} not found in {sentence!r}: {[(e.text, e.ent_id_) for e in doc.ents]}"
    return matches[0]


@pytest.mark.parametrize(
    ("sentence", "canonical"),
    [
        ("Not only does gabapentin help my fibromyalgia, it helps me sleep.", "gabapentin"),
        ("Not only does gabapentin help my fibromyalgia, it helps me sleep.", "fibromyalgia"),
        ("There is no doubt that oxycodone works for my pain.", "oxycodone"),
        ("Without a doubt Savella is the best thing I have tried.", "milnacipran"),
        ("I can't believe how well Lyrica works.", "pregabalin"),
        ("I cannot believe how well Cymbalta works for me.", "duloxetine"),
        ("I can't believe how much Lyrica helped.", "pregabalin"),
        ("No wonder my fibro flared, I ran out of tramadol.", "fibromyalgia"),
        ("It is not just the fibromyalgia, my back is bad too.", "fibromyalgia"),
        ("I'm not sure if it's the Lyrica but I sleep better.", "pregabalin"),
        ("I'm not sure whether the methadone or the rest helped.", "methadone"),
        ("Not to mention the brain fog.", "brain fog"),
        ("No matter what, Tylenol never touched it.", "acetaminophen"),
    ],
)
def test_pseudo_negation_does_not_negate(nlp, sentence, canonical):
    assert not context_of(nlp, sentence, canonical)._.negated


def test_not_sure_if_is_not_hypothetical_either(nlp):
    assert not context_of(nlp, "I'm not sure if it's the Lyrica but I sleep better.", "pregabalin")._.hypothetical


@pytest.mark.parametrize(("sentence", "canonical", "hypothetical"), [
    # A worry about *my* effect is about one the writer has ...
    ("My doctor was concerned about my weight gain on Lyrica.", "weight gain", False),
    ("I was worried about my hair loss since starting Cymbalta.", "hair loss", False),
    # ... a worry about an effect is about one they may get.
    ("I was worried about weight gain on Lyrica.", "weight gain", True),
    ("I am concerned about nausea with Savella.", "nausea", True),
])
def test_a_worry_about_my_effect_is_no_fear_of_one(nlp, sentence, canonical, hypothetical):
    assert context_of(nlp, sentence, canonical)._.hypothetical is hypothetical


@pytest.mark.parametrize(
    ("sentence", "canonical"),
    [
        # The same words as above outside a pseudo-trigger still negate.
        ("Gabapentin does not help my fibromyalgia.", "fibromyalgia"),
        ("No oxycodone for me since the new law.", "oxycodone"),
        ("I can't take Lyrica anymore.", "pregabalin"),
        # A real negation after a pseudo-trigger in the same sentence still counts.
        ("Not only did I stop, I have no Lyrica left.", "pregabalin"),
    ],
)
def test_real_negation_still_negates(nlp, sentence, canonical):
    assert context_of(nlp, sentence, canonical)._.negated


def _asserted(doc) -> list[tuple]:
    return [(s.label_, s._.drug, s._.events) for s in doc.spans["outcomes"] if not (s._.negated or s._.hypothetical)]


def test_stopping_a_drug_negates_the_drug_and_its_outcomes_not_the_symptoms_that_followed(nlp):
    """"stopped taking" says the drug is no longer taken; the headaches after it were had (they were
    negated, and the withdrawal outcome had no event, before session 14), as withdrawal only."""
    assert context_of(nlp, "When I stopped taking Effexor I had terrible headaches.", "venlafaxine")._.negated
    assert not context_of(nlp, "When I stopped taking it I had terrible headaches.", "headache")._.negated
    assert _asserted(nlp("When I stopped taking Effexor I had terrible headaches.")) == [
        ("withdrawal", "venlafaxine", ("headache",))]
    assert _asserted(read_as_review(nlp, "When I stopped taking it I had terrible headaches.", "Effexor")) == [
        ("withdrawal", "venlafaxine", ("headache",))]
    # Feeling better after stopping is no effect of the drug.
    assert _asserted(read_as_review(nlp, "I stopped taking it and feel so much better.", "Cymbalta")) == []


def test_what_a_stopped_drug_did_is_its_adverse_effect_and_what_stopping_did_withdrawal(nlp):
    assert _asserted(nlp("I stopped taking Lyrica since it made me dizzy.")) == [
        ("adverse_effect", "pregabalin", ("dizziness",))]
    assert _asserted(nlp("Coming off Effexor gave me brain zaps.")) == [("withdrawal", "venlafaxine", ("brain zaps",))]


def test_nothing_but_is_only_not_none(nlp):
    """"nothing but weight gain" is weight gain and nothing else (it was a negation trigger until session 14)."""
    assert not context_of(nlp, "Lyrica gave me nothing but weight gain.", "weight gain")._.negated
    assert _asserted(nlp("Cons: nothing but weight gain on Lyrica.")) == [("adverse_effect", "pregabalin", ("weight gain",))]


def test_negation_scope_stops_at_but_and_the_sentence_end(nlp):
    doc = nlp("No gabapentin for me but methadone did help. Lyrica was fine.")
    by_id = {e.ent_id_: e for e in doc.ents}
    assert by_id["gabapentin"]._.negated
    assert not by_id["methadone"]._.negated and not by_id["pregabalin"]._.negated


def test_unknown_trigger_category_is_a_clear_error(monkeypatch):
    from fms_pipeline.nlp import context

    class Text:
        def joinpath(self, *parts):
            return self

        def read_text(self, encoding):
            return "# header\nnegatd\tforward\tno\n"

    context.triggers.cache_clear()
    monkeypatch.setattr(context.resources, "files", lambda package: Text())
    try:
        with pytest.raises(ValueError, match="line 2: unknown category 'negatd'"):
            context.triggers()
    finally:
        monkeypatch.undo()
        context.triggers.cache_clear()
