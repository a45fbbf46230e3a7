"""The spaCy pipeline on real sentences of the sample."""

from __future__ import annotations

import pytest

from fms_pipeline.nlp import LABELS, load_nlp
from fms_pipeline.nlp.pipeline import match_misspelling


def ents(nlp, text):
    return {(e.label_, e.ent_id_) for e in nlp(text).ents}


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "Until I was taken off of successful pain management with small amounts of Methadone and Ativan, "
            "I was able to be independent from assisted care.",
            {("DRUG", "methadone"), ("DRUG", "lorazepam")},
        ),
        (
            "The absolute worse were Lyrica and Neurotin or the generic for it.",
            {("DRUG", "pregabalin"), ("DRUG", "gabapentin")},
        ),
        ("Predisone is not normally in the cards for me as I have Osteoporosis.",
         {("DRUG", "prednisone"), ("CONDITION", "osteoporosis")}),
        ("for the long lasting pain instead of Oxy because of the constant need to up dosage.",
         {("DRUG", "oxycodone")}),
        ("The opioid crisis manufacturers knew this and pushed their false claims re. so called “non addictive” "
         "opioids eg OxyContin , on populations", {("DRUG", "oxycodone"), ("DRUG_CLASS", "opioid")}),
        ("Opiates don’t work for every case of FMS.", {("DRUG_CLASS", "opioid"), ("CONDITION", "fibromyalgia")}),
        ("Some resulted in A Fib trips to the ER, others side effects that were bad, or the least Hives.",
         {("CONDITION", "atrial fibrillation"), ("SYMPTOM", "hives")}),
        ("I’d rather deal with Fibro Fog than the PEA SOUP fog of Cymbalta.",
         {("SYMPTOM", "brain fog"), ("DRUG", "duloxetine")}),
        ("Advil and Tylenol does not work for moderate to severe pain that is 24/7",
         {("DRUG", "ibuprofen"), ("DRUG", "acetaminophen"), ("SYMPTOM", "severe pain")}),
        ("I take hydrocodone for debilitating intracable chronic pancreatitis.",
         {("DRUG", "hydrocodone"), ("CONDITION", "pancreatitis")}),
        ("The NIH does not want objective research, that is why they chose to fund Stanford’s research.",
         {("ORG", "national institutes of health"), ("ORG", "stanford university")}),
        ("Sounds like something Medscape would report.", {("ORG", "medscape")}),
        ("should the DEA challenge my dose", {("ORG", "drug enforcement administration")}),
        ("Stanford and @Duke Anesthesia researchers find brain data to explain why fibromyalgia patients may feel "
         "benefit from opioids", {("ORG", "stanford university"), ("ORG", "duke university"),
                                  ("CONDITION", "fibromyalgia"), ("DRUG_CLASS", "opioid")}),
        ("So many patients have been profiled and stripped of there Opoids only to be labeled drug addict.",
         {("DRUG_CLASS", "opioid")}),
    ],
)
def test_sample_sentences(nlp, sentence, expected):
    assert expected <= ents(nlp, sentence)


def test_drugs_of_the_whole_sample(nlp, sample_page):
    texts = [sample_page.body] + [c.body for c in sample_page.comments]
    drugs = {e.ent_id_ for doc in nlp.pipe(texts) for e in doc.ents if e.label_ == "DRUG"}
    assert drugs == {
        "methadone", "lorazepam", "ibuprofen", "acetaminophen", "oxycodone", "hydrocodone",
        "prednisone", "pregabalin", "gabapentin", "duloxetine", "milnacipran",
    }


def test_every_entity_has_a_lowercase_canonical_and_valid_label(nlp, sample_page):
    for doc in nlp.pipe(c.body for c in sample_page.comments):
        for e in doc.ents:
            assert e.label_ in LABELS
            assert e.ent_id_ and e.ent_id_ == e.ent_id_.lower(), e.text


@pytest.mark.parametrize(
    "sentence",
    [
        "I hope today will be better, I take care and rest with my family and a good bell.",
        "As an RN who developed fibromyalgia I have noted this same consenses while wiating for help.",
        "It is weird how many guys do that and never forget that they did the rejection.",
        "Ms Smith said it was ok, we were in the era of plan b and all clear.",
    ],
)
def test_everyday_words_and_misspellings_are_not_drugs(nlp, sentence):
    assert not {e for e in nlp(sentence).ents if e.label_ == "DRUG"}


@pytest.mark.parametrize(
    ("word", "canonical"), [("neurotin", "gabapentin"), ("predisone", "prednisone"), ("methadon", "methadone"),
                            ("tramadoll", "tramadol")],
)
def test_fuzzy_matcher_catches_misspelt_drugs(word, canonical):
    match = match_misspelling(word)
    assert match is not None and match[:2] == ("DRUG", canonical)


@pytest.mark.parametrize("word", ["intracable", "irretractable", "consenses", "opiophobia", "britishl", "hospital",
                                  "medical", "neurologist", "realtor"])
def test_fuzzy_matcher_leaves_other_words_alone(word):
    assert match_misspelling(word) is None


def test_pipeline_needs_no_statistical_model(nlp):
    assert nlp.pipe_names == ["sentencizer", "fms_entity_ruler", "fms_case_ruler", "fms_misspelled_entities",
                              "fms_context", "fms_outcomes"]
    assert not any(hasattr(proc, "model") for _, proc in nlp.pipeline)


def test_sentences_and_offsets(nlp):
    text = "I take hydrocodone. It helps my FMS."
    doc = nlp(text)
    assert [s.text for s in doc.sents] == ["I take hydrocodone.", "It helps my FMS."]
    for e in doc.ents:
        assert text[e.start_char:e.end_char] == e.text


def test_a_statistical_model_can_be_layered_underneath(tmp_path):
    """A saved spaCy pipeline with an NER (untrained here) keeps its components; ours run before its ner."""
    import spacy

    base = spacy.blank("en")
    base.add_pipe("ner").add_label("PERSON")
    base.initialize()
    base.to_disk(tmp_path / "model")
    layered = load_nlp(model=str(tmp_path / "model"))
    assert layered.pipe_names.index("fms_case_ruler") < layered.pipe_names.index("ner")
    assert ("DRUG", "oxycodone") in ents(layered, "I was on OxyContin for years.")
