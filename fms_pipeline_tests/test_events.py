"""Adverse events: the vocabulary, events tied to the drug an outcome is about, what is not an event,
and the evaluation's reading of its annotated files (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fms_pipeline.nlp import event_evaluation, icd10
from fms_pipeline.nlp.drug_lexicon import _vocabulary_rows, read_vocabulary
from fms_pipeline_tests.conftest import read_as_review


def harm(doc) -> dict[tuple[str, str | None], set[str]]:
    """{(label, drug): events} of the asserted adverse_effect and withdrawal outcomes."""
    out: dict = {}
    for span in doc.spans["outcomes"]:
        if span.label_ in ("adverse_effect", "withdrawal") and not span._.negated and not span._.hypothetical:
            out.setdefault((span.label_, span._.drug), set()).update(span._.events)
    return out


def asserted_events(doc) -> set[str]:
    return {e for events in harm(doc).values() for e in events}


# --- the vocabulary ---------------------------------------------------------------------

def test_the_event_vocabulary_has_hundreds_of_terms_each_variant_once_and_codes_that_fit():
    rows = list(_vocabulary_rows(icd10.EVENT_VOCABULARY))
    assert len(rows) >= 300
    seen: dict[str, str] = {}
    for _, term, _, variants in rows:
        for variant in {v.lower() for v in variants} | {term}:
            assert seen.setdefault(variant, term) == term, f"{variant!r} is a variant of {seen[variant]!r} and {term!r}"
    conditions = {v.lower() for vs in read_vocabulary("conditions.tsv").values() for v in vs}
    assert not conditions & set(seen), "a condition's name is matched as CONDITION, not as an event"
    assert sum(1 for _, _, code, _ in rows if code) >= 0.6 * len(rows)
    # Every code is one of the code set's (checked when the code-set cache is built), and a few by meaning:
    codes = icd10.curated_codes()
    assert codes["nausea"].startswith("R11") and codes["weight gain"] == "R63.5" and codes["constipation"].startswith("K59")


# --- events tied to drugs ---------------------------------------------------------------

def test_each_event_is_tied_to_the_drug_that_caused_it(nlp):
    doc = nlp("Lyrica made me gain 20 lbs and lose my hair.")
    assert harm(doc) == {("adverse_effect", "pregabalin"): {"weight gain", "hair loss"}}
    doc = nlp("Lyrica made me gain weight and Cymbalta gave me terrible nausea.")
    assert harm(doc) == {("adverse_effect", "pregabalin"): {"weight gain"},
                         ("adverse_effect", "duloxetine"): {"nausea"}}


def test_a_list_of_drugs_shares_the_event_and_a_caused_event_is_an_adverse_effect(nlp):
    doc = nlp("Cymbalta, Lyrica and Savella all gave me nausea.")
    assert harm(doc) == {("adverse_effect", d): {"nausea"} for d in ("duloxetine", "pregabalin", "milnacipran")}


@pytest.mark.parametrize("text, drug_class, event", [
    ("My joints ache since I started the statin.", "statin", "joint pain"),
    ("The cholesterol meds made my muscles weak.", "statin", "muscle weakness"),
    ("My beta blocker makes me so tired.", "beta blocker", "fatigue"),
    ("PPIs gave me diarrhea.", "proton pump inhibitor", "diarrhea"),
    ("My joints were painful on the statins.", "statin", "joint pain"),
])
def test_a_drug_class_named_as_the_cause_carries_the_event(nlp, text, drug_class, event):
    """AskaPatient-style reviews blame "the statin" as often as Lipitor (CADEC)."""
    assert harm(nlp(text)) == {("adverse_effect", drug_class): {event}}


def test_the_classes_know_their_members():
    from fms_pipeline.nlp.drug_lexicon import class_of

    assert class_of(("atorvastatin",)) == "statin" and class_of(("ezetimibe", "simvastatin")) == "statin"
    assert class_of(("metoprolol",)) == "beta blocker" and class_of(("omeprazole",)) == "proton pump inhibitor"


def test_a_sentence_without_a_drug_is_about_the_drug_named_just_before(nlp):
    doc = nlp("I started Savella in May. It gave me nausea and headaches for two weeks.")
    assert asserted_events(doc) >= {"nausea", "headache"}
    assert {drug for _, drug in harm(doc)} == {"milnacipran"}


def test_what_the_drug_treats_or_relieved_is_no_event(nlp):
    doc = nlp("I take Cymbalta for my fibromyalgia and it gave me terrible nausea.")
    assert asserted_events(doc) == {"nausea"}
    doc = nlp("Lyrica helps my pain but gave me weight gain.")
    assert asserted_events(doc) == {"weight gain"}


@pytest.mark.parametrize("text", [
    "Side effects: none.",
    "No side effects at all with tramadol.",
    "Side effects: N/A",
    "I didn't notice any side effects on Cymbalta.",
    "Side effects: minimal.",
    "I'm scared Lyrica will make me gain weight.",
    "My sister says Cymbalta gave her nausea.",
    "Cymbalta never gave me nausea.",
])
def test_no_side_effects_fears_and_someone_elses_are_no_events(nlp, text):
    assert asserted_events(nlp(text)) == set()


@pytest.mark.parametrize(("text", "drug", "found"), [
    ("I quit Cymbalta because of the nausea.", None, {("adverse_effect", "duloxetine"): {"nausea"}}),
    ("I had to stop Lyrica due to the weight gain.", None, {("adverse_effect", "pregabalin"): {"weight gain"}}),
    ("Eventually stopped taking Oracea because of the yeast infections.", None,
     {("adverse_effect", "doxycycline"): {"yeast infection"}}),
    ("I had to stop taking it because of the headaches.", "Effexor", {("adverse_effect", "venlafaxine"): {"headache"}}),
    ("I had to stop Cymbalta 30mg because of the nausea and the dizziness.", None,
     {("adverse_effect", "duloxetine"): {"dizziness", "nausea"}}),
    # The reason is the drug's adverse effect; what followed the stop is the withdrawal's.
    ("I quit Cymbalta because of the nausea and had brain zaps for weeks.", None,
     {("adverse_effect", "duloxetine"): {"nausea"}, ("withdrawal", "duloxetine"): {"brain zaps"}}),
])
def test_why_a_drug_was_stopped_is_its_adverse_effect(nlp, text, drug, found):
    """It reported nothing before session 14: "because of" is a relief cue ("I take it because of my pain") and a
    stopped drug makes a sentence's events withdrawal."""
    doc = read_as_review(nlp, text, drug) if drug else nlp(text)
    assert harm(doc) == found


@pytest.mark.parametrize("text", [
    "I stopped taking Lyrica because of my insurance and got terrible headaches.",  # the reason is no symptom
    "Did you stop taking it because of the weight gain?",  # a question
    "I stopped Lyrica because of the nausea from Cymbalta.",  # another drug's
    "I stopped taking Lyrica because of the pain.",  # what it was taken for
    "I stopped Cymbalta because my depression came back.",
    "I take Zofran because of the nausea.",  # no stop
    "I quit Cymbalta because of the nausea and dizziness Lyrica gave me.",
    # A stop that did not happen, or was hard: why it could not be stopped is withdrawal.
    "I can't stop Cymbalta because of the brain zaps.",
    "It was hard to quit Cymbalta because of the dizziness.",
    "I never stopped Cymbalta because of the nausea.",
    "I'm thinking of stopping Lyrica because of the weight gain.",
    "I can't quit Effexor because of the withdrawal and brain zaps.",
    "Anyone stop Lyrica because of the weight gain",  # a forum title asks without its question mark
    "My husband stopped taking it because of the headaches.",  # someone else's
    "I stopped taking it because my anxiety was under control.",  # relieved
    "I worked as a teacher but had to stop because of the fatigue.",  # a bare stop: a job as often as a drug
])
def test_what_is_not_why_a_drug_was_stopped(nlp, text):
    from fms_pipeline.nlp.events import stop_reasons

    doc = nlp(text)
    assert stop_reasons(doc[:]) == frozenset()


def test_a_reason_named_again_after_the_stop_stays_a_withdrawal_event(nlp):
    found = harm(nlp("I quit Lyrica because of the dizziness, and when I quit I had anxiety, dizziness and sweating."))
    assert found[("adverse_effect", "pregabalin")] == {"dizziness"}
    assert found[("withdrawal", "pregabalin")] == {"anxiety", "dizziness", "sweating"}


def test_withdrawal_carries_the_symptoms_felt_when_stopping(nlp):
    doc = nlp("When I came off Cymbalta I had brain zaps and dizziness for weeks.")
    assert {"brain zaps", "dizziness"} <= harm(doc)[("withdrawal", "duloxetine")]


# --- the evaluation's files -------------------------------------------------------------

@pytest.mark.parametrize("text, withdrawal, adverse", [
    # DrugLib training side-effect texts rated No Side Effects (338, 1082, 3098, 2406): what a missed dose or a stop
    # brought is no effect of taking the drug
    ("Side effects review: Headaches if missed dosages.", {"headache"}, set()),
    ("Side effects review: severe hair loss after terminating the pill, but no others whilst on it", {"hair loss"}, set()),
    ("Side effects review: I once missed a few days in a row and became very depressed.", {"depressed mood"}, set()),
    ("Side effects review: There were none except the anxiety returned when the drug wore off.", {"anxiety"}, set()),
    # both in one sentence: the list right before the miss, or after it, is the miss's (PsyTAR-like wordings)
    ("I am sweating like crazy all the time, and if I miss a dose I get dizzy.", {"dizziness"}, {"sweating"}),
    ("loss of libido, weight gain, nausea and vomiting upon missed dose.", {"nausea", "vomiting"},
     {"sexual dysfunction", "weight gain"}),
    # DrugLib 'No Side Effects' training texts (3272, 799, 2388; session 18): a dose taken down, a stop or a dose not
    # taken brought it, where the classifier says nothing or says adverse effect
    ("Side effects review: When I tried to take it down to 25 mg, I got really depressed again.",
     {"depressed mood"}, set()),
    ("Side effects review: I did have trouble with insomnia after I discontinued the treatment.", {"insomnia"}, set()),
    ("Side effects review: I do realize that if I do not take the medicine as indicated that I get tired more "
     "frequently.", {"fatigue"}, set()),
    ("Side effects review: When I haven't taken it for a day I get brain zaps.", {"brain zaps"}, set()),
    # a comparison with not taking it, or how it was taken, is no dose missed (real-set 3446, 1409)
    ("Side effects review: I felt more bloated than when I was not taking it.", set(), {"bloating"}),
    ("Side effects review: I had trouble falling asleep if I didn't take it early enough in the morning.",
     set(), {"insomnia"}),
    # a sentence that lists the symptoms the withdrawal before it named (DrugLib 338; session 18)
    ("Side effects review: If I miss a couple of dosages I have moderate withdrawal symptoms. These symptoms include "
     "itchiness, irritability and headaches.", {"itching", "irritability", "headache"}, set()),
    ("Coming off it was hell. The symptoms were dizziness, nausea and brain zaps.",
     {"dizziness", "nausea", "brain zaps"}, set()),
    # not after an adverse effect
    ("It made me gain weight. The side effects were nausea and sweating.", set(),
     {"weight gain", "nausea", "sweating"}),
])
def test_what_a_missed_dose_or_a_stop_brought_is_withdrawal_not_an_adverse_effect(nlp, text, withdrawal, adverse):
    found = harm(read_as_review(nlp, text, "venlafaxine"))
    assert found.get(("withdrawal", "venlafaxine"), set()) == withdrawal
    assert found.get(("adverse_effect", "venlafaxine"), set()) == adverse


@pytest.mark.parametrize("text, withdrawal, adverse", [
    # a stop of something else than a drug is none (review, session 17)
    ("After I left the hospital I started Lyrica and got dizzy.", {}, {"pregabalin": {"dizziness"}}),
    ("When I quit smoking I started Chantix and had vivid dreams.", {}, {"varenicline": {"vivid dreams"}}),
    # after the miss, "got" is no cause; a clause that turns to another drug is that drug's
    ("When the tramadol wore off I got the sweats and chills.", {"tramadol": {"sweating", "chills"}}, {}),
    ("If I miss a dose of Cymbalta I get brain zaps but Lyrica makes me dizzy.", {"duloxetine": {"brain zaps"}},
     {"pregabalin": {"dizziness"}}),
    # a dose lowered, a pharmacy out of the drug
    ("I reduced my Effexor to 75mg and now I get brain zaps and dizziness.",
     {"venlafaxine": {"brain zaps", "dizziness"}}, {}),
    ("I lowered my dose of gabapentin and got really anxious and sweaty.", {"gabapentin": {"anxiety", "sweating"}}, {}),
    ("My pharmacy was out of Effexor for 3 days and I had brain zaps.", {"venlafaxine": {"brain zaps"}}, {}),
])
def test_withdrawal_follows_a_drug_stopped_lowered_or_worn_off_and_nothing_else(nlp, text, withdrawal, adverse):
    found = harm(nlp(text))
    assert {d: e for (label, d), e in found.items() if label == "withdrawal"} == withdrawal
    assert {d: e for (label, d), e in found.items() if label == "adverse_effect"} == adverse


@pytest.mark.parametrize("text", [
    "Side effects review: I stopped it because of the rash.",  # why it was stopped
    "Side effects review: Effexor made me dizzy so I stopped taking it.",  # the drug did it
    "Side effects review: Total sexual dysfunction which has continued with no improvement after stopping it.",
])
def test_an_effect_that_made_the_patient_stop_or_outlasted_the_stop_stays_an_adverse_effect(nlp, text):
    assert ("adverse_effect", "venlafaxine") in harm(read_as_review(nlp, text, "venlafaxine"))


@pytest.mark.parametrize("text, drug", [
    ("Since starting Lipitor I have muscle weakness and my joints hurt.", "atorvastatin"),
    ("After the third day on Effexor I found myself in the ER with vertigo, dizziness and nausea.", "venlafaxine"),
])
def test_symptoms_with_no_stop_named_are_no_withdrawal(nlp, text, drug):
    found = harm(nlp(text))
    assert ("adverse_effect", drug) in found and not any(label == "withdrawal" for label, _ in found)


@pytest.mark.parametrize("text, event", [
    # DrugLib training side-effect texts (odd ids 3117, 587, 1151): cramps take their sense from the sentence
    ("Side effects review: Heavy Cycle, Cramps, Hot Flashes, Fatigue.", "menstrual cramps"),
    ("Side effects review: spotting/cramping between periods.", "menstrual cramps"),
    ("Side effects review: Severe cramping, headaches, incredible nausea.", "stomach cramps"),
    ("Side effects review: cramping and twitching at night.", "muscle spasms"),  # no other sense named
    ("Side effects review: For a short period I had cramps.", "muscle spasms"),  # no "my period"
    ("Side effects review: Cramping in my calves and gas.", "muscle spasms"),  # a body part named after it
])
def test_cramps_are_the_events_their_sentence_says(nlp, text, event):
    found = asserted_events(read_as_review(nlp, text, "norethindrone"))
    assert event in found and not ({"menstrual cramps", "stomach cramps", "muscle spasms"} - {event}) & found


@pytest.mark.parametrize("text", [
    # DrugLib training side-effect texts rated No Side Effects (149, 749): other medicines' effects, unnamed
    "Side effects review: I've experienced no side effects with this medication as opposed to some others which "
    "have given me problems, especially stomach discomfort/upset.",
    "Side effects review: I had significant side effects from all the pills I had ever tried for my hay fever "
    "(dry mouth and drowsiness).",
])
def test_other_unnamed_medicines_effects_are_not_the_texts_drugs(nlp, text):
    assert not asserted_events(read_as_review(nlp, text, "fluticasone"))


@pytest.mark.parametrize("text, event", [
    # the drug named, or a turn back to it, keeps the events (second review, session 17)
    ("I take Lyrica with my other meds and get really dizzy.", "dizziness"),
    ("Lyrica works better than the other meds I tried but it made me gain weight.", "weight gain"),
    ("Side effects review: Unlike some others, this one gave me a rash.", "rash"),
    # in a caregiver's column, what comes before another person named is still the patient's
    ("Side effects review: My son became very aggressive and hit his sister.", "aggression"),
])
def test_events_before_another_medicine_or_person_or_after_a_turn_are_kept(nlp, text, event):
    assert event in asserted_events(read_as_review(nlp, text, "pregabalin"))


def test_hay_fever_is_a_condition_not_a_fever(nlp):
    doc = nlp("My hay fever is bad this year.")
    assert [(e.label_, e.ent_id_) for e in doc.ents] == [("CONDITION", "allergic rhinitis")]


@pytest.mark.parametrize("text, events", [
    # what the patient has, not what the drug did: an indication, an event only when a cue says the drug caused it
    ("I have hay fever and Lyrica made me drowsy.", {"drowsiness"}),
    ("My seasonal allergies are terrible and Lyrica made me dizzy.", {"dizziness"}),
])
def test_hay_fever_had_is_no_adverse_event(nlp, text, events):
    assert asserted_events(nlp(text)) == events


@pytest.mark.parametrize("text, adverse", [
    # "reduced" as an adjective, or lowering something that is no drug, is no dose lowered (review of session 17)
    ("My reduced libido on Cymbalta is a problem.", {"duloxetine": {"sexual dysfunction"}}),
    ("My reduced appetite on Topamax was welcome.", {"topiramate": {"loss of appetite"}}),
    ("I reduced my hours because Lyrica made me so tired.", {"pregabalin": {"fatigue"}}),
])
def test_a_reduced_thing_that_is_no_dose_is_no_withdrawal(nlp, text, adverse):
    found = harm(nlp(text))
    assert not {d for (label, d) in found if label == "withdrawal"}
    assert {d: e for (label, d), e in found.items() if label == "adverse_effect"} == adverse


def test_events_had_beside_a_denied_drug_are_the_texts_drugs(nlp):
    # DrugLib training review 3881: "unlike zyprexa" is no drug acting; the drowsiness is the reviewed drug's
    doc = read_as_review(nlp, "Side effects review: I became drowsy, however, there were no hangover effects, unlike "
                              "zyprexa, for instance.", "abilify")
    assert harm(doc) == {("adverse_effect", "aripiprazole"): {"drowsiness"}}


@pytest.mark.parametrize("path", [event_evaluation.DEV_FILE, event_evaluation.TUNING_FILE])
def test_the_annotated_event_sets_are_well_formed_and_large_enough(path):
    rows = event_evaluation.read_event_set(path)
    assert len(rows) >= (300 if path == event_evaluation.DEV_FILE else 150)
    kinds = {r["kind"] for r in rows}
    assert kinds == set(event_evaluation.KINDS)
    assert all(r["text"][s:e] == text for r in rows for s, e, text in r["events"])


def test_the_annotated_sets_share_no_text():
    dev = {r["text"].lower() for r in event_evaluation.read_event_set(event_evaluation.DEV_FILE)}
    tuning = {r["text"].lower() for r in event_evaluation.read_event_set(event_evaluation.TUNING_FILE)}
    assert not dev & tuning


def test_a_row_whose_event_is_not_in_its_text_is_refused_with_file_and_row(tmp_path: Path):
    bad = tmp_path / "events.tsv"
    bad.write_text("id\ttext\tkind\tdrug\tevents\nx1\tLyrica made me dizzy.\tadverse_effect\tpregabalin\tnausea\n",
                   encoding="utf-8")
    with pytest.raises(ValueError, match=r"events\.tsv row 2 \(x1\): event 'nausea' is not in the text"):
        event_evaluation.read_event_set(bad)


def test_the_evaluation_counts_overlaps_both_ways(nlp, tmp_path: Path):
    path = tmp_path / "events.tsv"
    path.write_text(
        "id\ttext\tkind\tdrug\tevents\n"
        "a\tLyrica gave me terrible nausea and a rash.\tadverse_effect\tpregabalin\tterrible nausea | itchy skin\n"
        "b\tSide effects: none.\tnegative\t\t\n", encoding="utf-8")
    # "itchy skin" is not in the text: the reader refuses it; with the right marks the figures are exact.
    with pytest.raises(ValueError):
        event_evaluation.read_event_set(path)
    path.write_text(
        "id\ttext\tkind\tdrug\tevents\n"
        "a\tLyrica gave me terrible nausea and a rash.\tadverse_effect\tpregabalin\tterrible nausea\n"
        "b\tSide effects: none.\tnegative\t\t\n", encoding="utf-8")
    figures = event_evaluation.evaluate_events(nlp, path)
    assert figures["recall"] == 1.0 and figures["drug_accuracy"] == 1.0
    assert figures["precision"] == 0.5  # the rash is found and not marked
    assert figures["negative_false_positive_rate"] == 0.0


@pytest.mark.parametrize(("text", "drug"), [
    ("I started taking vitamin c for my immune system.", "ascorbic acid"),
    ("Cataflam helped the cramps but upset my stomach.", "diclofenac"),
    ("Vytorin gave me muscle pain in my legs.", "ezetimibe/simvastatin"),
    ("My doctor switched me from Lipex to something else.", "simvastatin"),
    ("Baycol was pulled from the market after I had taken it a year.", "cerivastatin"),
    ("The fentanyl patch made me itch.", "fentanyl"),
    ("hydrocodone/apap makes my stomach hurt", "hydrocodone/acetaminophen"),
])
def test_brand_and_supplement_names_patients_use_are_drugs(nlp, text, drug):
    assert drug in {e.ent_id_ for e in nlp(text).ents if e.label_ == "DRUG"}


def test_what_patients_take_drugs_for_is_an_event_only_when_caused(nlp):
    doc = nlp("Oxycodone makes me constipated, and chronic pain rules my life.")
    assert asserted_events(doc) == {"constipation"}
    assert asserted_events(nlp("Since Lyrica I have pain every day, it gave me pain I never had.")) == {"pain"}


# --- issue 17, recall: lay wording and the rules that lost asserted events ------------------

@pytest.mark.parametrize("text, drug, event", [
    ("on venlafaxine I sweat like a pig and cannot reach orgasm", "venlafaxine", "inability to orgasm"),
    ("oxycodone withdrawal: diarrhea, yawning and I couldn't stop shaking", "oxycodone", "tremor"),
    ("Cymbalta had my heart racing all night", "duloxetine", "palpitations"),
    ("percocet constipates me", "oxycodone/acetaminophen", "constipation"),
    ("since Lyrica I have been dizzy", "pregabalin", "dizziness"),
    ("two days without cymbalta and I'm dizzy", "duloxetine", "dizziness"),
    ("Lyrica really messed with my memory", "pregabalin", "memory problems"),
    ("On simvastatin my knees started hurting", "simvastatin", "knee pain"),
    ("gaba makes my hair start falling out", "gabapentin", "hair loss"),
    ("Naproxen made me tired", "naproxen", "fatigue"),
    ("Paxil dried out my mouth and my lips", "paroxetine", "dry mouth"),
    ("ever since topamax I keep losing my words on the phone", "topiramate", "word finding difficulty"),
    ("oxycontin had me breathing too shallow at night", "oxycodone", "slowed breathing"),
    ("on Zocor my thighs ache after the stairs", "simvastatin", "leg pain"),
    ("Effexor put my heart rate through the roof", "venlafaxine", "rapid heartbeat"),
    ("since Celebrex my stomach is always upset", "celecoxib", "upset stomach"),
    ("Zoloft flattened me out completely", "sertraline", "emotional blunting"),
    ("On Voltaren I ended up in the ER with an ulcer", "diclofenac", "stomach ulcer"),
    ("Zocor wrecked my muscles, my CK level was elevated", "simvastatin", "elevated ck"),
    ("Since Lipitor the backs of my legs are on fire", "atorvastatin", "burning pain"),
    # "they" of the writer's own legs is no one else.
    ("On Lipitor my legs ache and they swell up at night", "atorvastatin", "leg pain"),
    # session 15, from the wording of DrugLib training side-effect texts
    ("I gained ten pounds on Seroquel", "quetiapine", "weight gain"),
    ("I put on about 8kg on Lexapro", "escitalopram", "weight gain"),
    ("Seroquel made me sleep 14 hours a day", "quetiapine", "hypersomnia"),
    ("Methotrexate made my hair fall out", "methotrexate", "hair loss"),
    ("Percocet backed me up for days", "oxycodone/acetaminophen", "constipation"),
    ("Topamax gave me hunger pains all day", "topiramate", "increased appetite"),
    ("Accutane made my face peel and my lips crack", "isotretinoin", "chapped lips"),
    ("Cymbalta made me lose my sense of smell", "duloxetine", "loss of smell"),
    ("On Topamax I have a hard time recalling words", "topiramate", "word finding difficulty"),
    ("Tramadol caused a drop in my blood pressure", "tramadol", "low blood pressure"),
])
def test_lay_wording_and_unmarked_ties_are_events_of_the_drug(nlp, text, drug, event):
    assert any(d == drug and event in events for (_, d), events in harm(nlp(text)).items())


def test_a_list_of_events_takes_the_drug_of_the_next_sentence_when_that_one_reports_none(nlp):
    assert asserted_events(nlp("SE: drowsy, dizzy, puffy hands. Neurontin 900 a day for sciatica.")) >= {
        "drowsiness", "dizziness"}


@pytest.mark.parametrize("text", [
    "I'm so tired of the pain that I tried Lyrica",
    "Been on Cymbalta 2 years, zero weight gain",
    "my doctor warned me Lyrica can cause swelling",
    "suboxone keeps my cravings away",
    "Since starting Savella my fatigue is much better",
    "Prilosec eliminated symptoms such as heartburn and coughing.",
    "On Celebrex the swelling in my ankles went down.",
])
def test_fed_up_hearsay_none_and_eased_are_not_events(nlp, text):
    assert not asserted_events(nlp(text))


# --- issue 17, DrugLib "No Side Effects": hearsay, hedges and "not a problem" are no adverse effect ---

def counted_adverse_effects(doc) -> list:
    """The adverse_effect outcomes drug_outcomes would count (not negated, not hypothetical)."""
    return [s for s in doc.spans["outcomes"] if s.label_ == "adverse_effect" and not s._.negated
            and not s._.hypothetical]


@pytest.mark.parametrize("text", [
    "The possible side effects range from nausea to weight gain.",
    "Nausea is a possible side effect of Savella but I had none.",
    "Other people get terrible dry mouth on it.",
    "The tiredness may be due to my thyroid rather than the pill.",
    "Since starting Lyrica, dizziness was not a problem.",
    "Higher doses carry an increased risk of stomach bleeding.",
    "The flu itself can have body aches and fever.",
])
def test_possible_effects_other_peoples_and_effects_that_were_no_problem_are_not_counted(nlp, text):
    assert not counted_adverse_effects(nlp(text))


@pytest.mark.parametrize("text", [
    "Lyrica gave me slight nausea.",
    "Lyrica made me dizzy, which was not a problem at first.",
    "Cymbalta may be the cause, possibly, but I got headaches every day.",
])
def test_an_effect_the_patient_had_is_still_counted_beside_a_hedge(nlp, text):
    assert counted_adverse_effects(nlp(text))


@pytest.mark.parametrize("text, event", [
    # A denial's reach ends where the writer says when things changed (DrugLib training review 3382).
    ("On Lipitor, after several months with no side effects I suddenly had bad neck pain and stiffness.", "neck pain"),
    ("Lipitor gave me no trouble whatsoever till the leg cramps started in my calves.", "muscle cramps"),
])
def test_a_denial_ends_at_until_or_suddenly(nlp, text, event):
    assert event in asserted_events(nlp(text))


def test_a_benefit_in_its_own_column_is_no_side_effect(nlp):
    """DrugLib training review 1117's columns, headed as the review-table parser heads them: the anxiety the drug
    relieved is no event of it; the nausea is."""
    doc = read_as_review(nlp, "Benefits review: reduction of panic attacks and depression to almost nil\n\n"
                              "Side effects review: nausea for the first two weeks", "venlafaxine")
    assert asserted_events(doc) == {"nausea"}


@pytest.mark.parametrize("text, event", [
    ("Side effects review: I have trouble waking up. I yawn excessively.", "yawning"),
    ("SE: Increased urination.", "frequent urination"),
    ("Side effects: Some dizziness, but nothing major.", "dizziness"),
])
def test_a_symptom_under_a_side_effects_heading_is_the_drugs_adverse_effect(nlp, text, event):
    found = harm(read_as_review(nlp, text, "citalopram"))
    assert set(found) == {("adverse_effect", "citalopram")} and event in found["adverse_effect", "citalopram"]


@pytest.mark.parametrize("text, label", [
    # A list under a side-effects heading is what the drug did while taken (the classifier read withdrawal).
    ("Side effects review: Joint pain, back pain and cramping", "adverse_effect"),
    ("Side effects review: Flu like symptoms- aches, fever", "adverse_effect"),
    # Unless it says the drug was stopped, cut or not taken.
    ("Side effects review: When I do not take this medicine it puts me in a bad mood and causes my stomach to ache "
     "(like bad hunger pains even though I am not hungry)", "withdrawal"),  # DrugLib training review 264
    ("Side effects review: weight loss, irritability when trying to cut back", "withdrawal"),
])
def test_under_a_side_effects_heading_withdrawal_needs_a_stop(nlp, text, label):
    found = {lab for lab, _ in harm(read_as_review(nlp, text, "doxycycline"))}
    assert label in found and (label == "withdrawal" or "withdrawal" not in found)


@pytest.mark.parametrize("text", [
    # what a test looks for, and anyone's (DrugLib training reviews 1553 and 1159)
    "Side effects review: I had blood work every month to check for liver damage.",
    "Side effects review: none. I would recommend it to anyone who experiences vertigo and nausea.",
])
def test_under_a_side_effects_heading_what_a_test_looks_for_and_anyones_are_no_events(nlp, text):
    assert not asserted_events(read_as_review(nlp, text, "methotrexate"))


def test_a_symptom_under_another_heading_or_naming_another_drug_is_not_made_an_effect(nlp):
    assert not harm(read_as_review(nlp, "Comments review: I take it for nausea and vomiting.", "ondansetron"))
    doc = read_as_review(nlp, "Side effects review: none. My doctor prescribed Nexium which gave me hives.", "omeprazole")
    assert not any(d == "omeprazole" and events for (_, d), events in harm(doc).items())


@pytest.mark.parametrize("text, event", [
    # wordings of DrugLib training side-effect texts (the odd-numbered read ones) no entity covered
    ("Side effects review: fatigue- more pronounced when I first started", "fatigue"),  # a dash against the word
    ("Side effects review: Photo-sensitivity.", "sun sensitivity"),
    ("Side effects review: My breasts hurt like no other and they itched.", "itching"),  # no negation
    ("Side effects review: knee tenderness", "knee pain"),
    ("Side effects review: cognitive impairments; difficulty remembering names", "brain fog"),
    ("Side effects review: Dry skin, minor irritation", "skin irritation"),
    ("Side effects review: I just couldn't drink enough water", "excessive thirst"),
    ("Side effects review: an intoxicated feeling and slurred speech", "feeling drugged"),
    # a body part said to be dry, sex drive both ways, a denial's reach ending at "and was" (session 16)
    ("Side effects review: My lips are very dry and nothing seems to help.", "chapped lips"),
    ("Side effects review: My mouth is also dry first thing in the morning.", "dry mouth"),
    ("Side effects review: Not too interested in sex anymore.", "sexual dysfunction"),
    ("Side effects review: It also increased my sex drive, but this stopped after a while.", "increased libido"),
    ("Side effects review: I couldn't drink enough water and was occasionally drowsy.", "drowsiness"),
    # a habitual "would" is no hypothesis
    ("Side effects review: When I first started taking it, I would get drowsy.", "drowsiness"),
    ("Side effects review: Full doses would make my heart race.", "palpitations"),
    ("Side effects review: I had to take it with food or I would get a little upset stomach.", "upset stomach"),
    ("Side effects review: I don't have as much energy, I have to force myself to take a walk.", "fatigue"),
    # from the second batch of read texts (odd ids)
    ("Side effects review: My orgasm was delayed and not satisfying.", "delayed orgasm"),
    ("Side effects review: It made me want to end it.", "suicidal thoughts"),
    ("Side effects review: I also experienced loss of my word finding skills.", "word finding difficulty"),
    ("Side effects review: a bit rundown and not clear-headed", "brain fog"),
    # session 17, from DrugLib training side-effect texts outside the read set
    ("Side effects review: Skin rashes and sexual dificulties", "sexual dysfunction"),
    ("Side effects review: Night waking, restlessness, mild mania.", "insomnia"),
    # session 17 vocabulary, from odd-id misses and DrugLib training side-effect texts
    ("Side effects review: I could not breath during the infusion.", "shortness of breath"),
    ("Side effects review: dry mouth, restless, no appitite", "loss of appetite"),
    ("Side effects review: Erections were not as firm as before.", "erectile dysfunction"),
    ("Side effects review: After an hour my back started to ache.", "back pain"),
    ("Side effects review: It stuffs up my nose at night.", "nasal congestion"),
    ("Side effects review: altered mental status for about five minutes", "confusion"),
    ("Side effects review: stomach slightly upset", "upset stomach"),
    ("Side effects review: It thins your skin, so you can't wax.", "skin thinning"),
    ("Side effects review: It caused my liver function tests to become elevated.", "elevated liver enzymes"),
    ("Side effects review: a mild burning in my eyes after the drops", "eye irritation"),
    ("Side effects review: My lips are always very dry.", "chapped lips"),
    ("Side effects review: My skin was really red for the first month.", "redness"),
    ("Side effects review: my skin got really irritated and peeled", "skin irritation"),
    ("Side effects review: Within a day my breasts became sore.", "breast tenderness"),
    ("Side effects review: dizziness and pounding heartbeat", "palpitations"),
    ("Side effects review: My joints began to ache and swell.", "joint pain"),
    ("Side effects review: I gained like 7lb while on it.", "weight gain"),
    ("Side effects review: Appetite is reduced, and it is easy to forget to eat.", "loss of appetite"),
    ("Side effects review: Total lack of desire for sex.", "sexual dysfunction"),
    ("Side effects review: First 2 days wicked nasea.", "nausea"),
    ("Side effects review: a feeling of complete disassociation from reality", "dissociation"),
])
def test_side_effect_column_wordings_are_events(nlp, text, event):
    assert event in asserted_events(read_as_review(nlp, text, "tretinoin"))


@pytest.mark.parametrize("text", [
    "Side effects review: Addiction risk.",
    "Side effects review: Some patients develop flushing, chest tightness and palpitations. I never have.",
])
def test_a_risk_or_other_patients_effects_are_no_events(nlp, text):
    assert not asserted_events(read_as_review(nlp, text, "butalbital"))


@pytest.mark.parametrize("text, events", [
    # A caregiver writing a review table's side-effects column writes of the row's patient (DrugLib training
    # reviews 1863, 3201, 1979: a son, a daughter, "pt").
    ("Side effects review: My son developed an allergic reaction to the drug - a red rash that covered his body.",
     {"allergic reaction", "rash"}),
    ("Side effects review: She became restless and agitated and had a hard time sleeping.",
     {"restlessness", "agitation", "insomnia"}),
    ("Side effects review: pt became very agitated. couldn't sit still.", {"agitation"}),
])
def test_a_caregivers_side_effects_column_reports_the_patients_events(nlp, text, events):
    found = harm(read_as_review(nlp, text, "amoxicillin/clavulanate"))
    assert events <= found.get(("adverse_effect", "amoxicillin/clavulanate"), set())


@pytest.mark.parametrize("text", [
    # the writer is the patient (I, me, or a denial first), or the sentence names another person (review, session 17)
    "Side effects review: I had no problems but my sister got a rash on it.",
    "Side effects review: None for me, but my husband had terrible nausea on it.",
    "Side effects review: Nothing. My sister had suicidal thoughts on it though.",
    "Side effects review: My daughter had no side effects. Her friend got a rash.",
])
def test_in_a_side_effects_column_other_peoples_effects_stay_theirs(nlp, text):
    assert not asserted_events(read_as_review(nlp, text, "lyrica"))


def test_someone_elses_effects_outside_a_review_tables_column_stay_theirs(nlp):
    # the same words in a forum post (no row, no drug column) or in a row's comments column
    assert not asserted_events(nlp("Side effects: My son developed a rash on Augmentin."))
    assert not asserted_events(read_as_review(nlp, "Comments review: My son developed a rash on it.", "amoxicillin"))


@pytest.mark.parametrize("text, event", [
    ("Lyrica gave me depression.", "depressed mood"),
    ("Lyrica made me depressed.", "depressed mood"),
    ("Mirtazapine gave me restless legs syndrome.", "restless legs"),
    ("Lyrica gave me migraines.", "migraine"),  # no event term says the same: the condition's own name
])
def test_a_condition_reported_as_an_effect_is_counted_under_its_event_term(nlp, text, event):
    assert asserted_events(nlp(text)) == {event}


def test_each_condition_reported_as_an_event_names_a_condition_and_an_event_term():
    from fms_pipeline.nlp.events import condition_events

    mapping = condition_events()
    assert mapping["depression"] == "depressed mood"
    assert set(mapping) <= set(read_vocabulary("conditions.tsv"))
    assert set(mapping.values()) <= set(read_vocabulary(icd10.EVENT_VOCABULARY))


def test_the_vocabularies_read_per_event_are_read_once():
    # coordinated_terms reads the symptom vocabulary for every pain event of an outcome (3 ms a read): it is cached,
    # as condition_events is (session 17 moved _symptom_terms' @cache onto condition_events, doubling it there)
    from fms_pipeline.nlp import events

    assert events._symptom_terms() is events._symptom_terms()
    assert events.condition_events() is events.condition_events()
    assert not hasattr(events.condition_events.__wrapped__, "__wrapped__")


@pytest.mark.parametrize("text, events", [
    ("Side effects review: incapacitating bone/muscle/joint pain", {"bone pain", "muscle pain", "joint pain"}),
    ("Side effects review: After two weeks, moderate muscle and joint pain.", {"muscle pain", "joint pain"}),
    ("Side effects review: Leg and foot pain.", {"leg pain", "foot pain"}),
    ("Side effects review: nausea and joint pain", {"nausea", "joint pain"}),  # no "nausea pain"
])
def test_body_parts_joined_before_a_pain_are_each_an_event(nlp, text, events):
    assert asserted_events(read_as_review(nlp, text, "simvastatin")) == events


@pytest.mark.parametrize("text, events", [
    ("Side effects review: dry lips and skin", {"chapped lips", "dry skin"}),  # a modifier shared
    ("Side effects review: dry, itchy eyes", {"dry eyes", "eye irritation"}),  # a head shared
    # over a one-word entity of the list (DrugLib training review 2103)
    ("Side effects review: I had irritated, red, flaking, peeling skin.", {"skin irritation", "redness", "dry skin"}),
])
def test_words_joined_to_an_event_that_share_its_head_or_modifier_are_events_too(nlp, text, events):
    assert events <= asserted_events(read_as_review(nlp, text, "isotretinoin"))


def test_a_complaint_that_disappears_is_relieved_not_an_event(nlp):
    doc = read_as_review(nlp, "Side effects review: tingling in my neck, then my migraine disappears.", "zolmitriptan")
    assert "migraine" not in asserted_events(doc) and "numbness" in asserted_events(doc)


def test_a_relief_before_joined_body_parts_reaches_the_pain(nlp):
    assert not asserted_events(read_as_review(nlp, "Benefits review: Relief from hip and shoulder pain.", "fentanyl"))


def test_a_missed_dose_that_brings_symptoms_on_is_withdrawal_not_a_hypothesis(nlp):
    doc = nlp("If I skip a dose of Cymbalta I get brain zaps and sweats.")
    assert {"brain zaps", "sweating"} <= harm(doc).get(("withdrawal", "duloxetine"), set())
    assert not harm(nlp("If Lyrica makes me dizzy I will stop it."))


# --- issue 17, recall: a harmful sentence with no drug known still carries its events -------

def test_a_sentence_with_no_drug_known_carries_its_events_when_it_speaks_of_a_medicine(nlp):
    assert asserted_events(nlp("The new pills gave me the worst dry mouth and a rash on my neck.")) >= {
        "dry mouth", "rash"}
    assert asserted_events(nlp("Ever since starting these meds I've had terrible headaches.")) >= {"headache"}


@pytest.mark.parametrize("text", [
    "No side effects for me, but possible side effects are constipation, headaches, nausea, diarrhea, weight gain.",
    "My fibromyalgia makes me so exhausted every afternoon.",
    "Will it make my sweating worse? I already have hot flashes.",
    "I take Lyrica every day, and stress gives me headaches at work.",
    "After the flu last month I was dizzy and worn out for a week.",
    "The brain fog is the hardest part of living with this disease.",
    "I started having panic attacks and headaches in college.",
])
def test_without_a_drug_the_illness_a_hedged_list_and_what_was_there_before_are_no_events(nlp, text):
    assert not asserted_events(nlp(text))


def test_with_no_drug_known_a_side_effect_denial_still_holds_beside_a_passing_symptom(nlp):
    doc = nlp("A little dryness at first but it soon faded, so I'd say no bad side effects.")
    assert not counted_adverse_effects(doc)
    # With the drug named, the events asserted beside a denial are still reported.
    assert asserted_events(nlp("Lyrica: no side effects except dizziness.")) == {"dizziness"}


# --- what the patient had before a drug, or why it was started, is no event of it ----------

@pytest.mark.parametrize("text", [
    "Before starting Cymbalta I had panic attacks almost every day.",
    "Prior to starting Lyrica I was exhausted and achy all the time.",
    "My anxiety was through the roof before I started Lexapro.",
    "Was put on Zoloft after a really bad bout of depression and anxiety.",
    "My doctor started me on amitriptyline because I was having insomnia and headaches.",
])
def test_symptoms_before_a_drug_or_the_reason_it_was_started_are_no_events(nlp, text):
    assert not asserted_events(nlp(text))


@pytest.mark.parametrize("text, event", [
    ("I was fine before starting Topamax, now I have tingling in my hands and feet.", "numbness"),
    ("I started Lyrica after my surgery and it made me so dizzy I fell.", "dizziness"),
    # The reason for a switch is the last drug's harm.
    ("My doctor switched me from Lexapro to Wellbutrin because I had gained 18 lbs on it.", "weight gain"),
])
def test_a_symptom_after_the_before_clause_or_caused_by_the_drug_is_still_an_event(nlp, text, event):
    assert event in asserted_events(nlp(text))


@pytest.mark.parametrize("text", [
    "My neighbour put on 30 pounds on Seroquel.",  # someone else, named by a person word
    "My cousin's tramadol made her itch all over.",
    "The leaflet lists nausea, dizziness and dry mouth for Savella.",  # a hedge
    "My insomnia has been so much better since starting melatonin.",  # relieved
    "Meloxicam keeps my knee swelling down enough to walk the dog.",
    "Prednisone is the only thing that calms my joint inflammation during a flare.",  # the flare is the setting
    "I was nervous about starting Lyrica because of the reviews.",  # nerves about the drug, not from it
    "I take Keflex; other medications causing stomach upset were my problem before.",  # another drug's doing
    "On Lyrica. It has been reported that headache is common, but not for me.",  # hearsay, a hedge
    "On Lyrica myself, and I know someone who had hallucinations on it.",  # someone else's
])
def test_someone_elses_effects_a_leaflet_and_what_eased_are_no_events(nlp, text):
    assert not asserted_events(nlp(text))


@pytest.mark.parametrize("text, event", [
    ("Since Lyrica my headaches have been so much worse.", "headache"),  # "so much" is not "so much better"
    ("My friend and I both got nausea from Cymbalta.", "nausea"),  # "I" is there too
    ("I get dizzy during the day on gabapentin.", "dizziness"),
])
def test_a_worse_symptom_or_one_the_patient_shares_is_still_an_event(nlp, text, event):
    assert event in asserted_events(nlp(text))


@pytest.mark.parametrize("text, drug, event, remedy", [
    ("Been on oxy 10mg for 3 years. Constipation is brutal, I have to take Linzess just to go.",
     "oxycodone", "constipation", "linaclotide"),
    ("Nausea all day on Cymbalta, Zofran for that.", "duloxetine", "nausea", "ondansetron"),
])
def test_a_drug_taken_against_an_effect_is_not_its_cause(nlp, text, drug, event, remedy):
    """'..., I have to take Linzess just to go': the effect is the drug's the writer was on, not the remedy's."""
    found = harm(nlp(text))
    assert event in found.get(("adverse_effect", drug), set())
    assert not any(d == remedy for _, d in found)


def test_a_remedy_keeps_the_effects_named_after_it(nlp):
    assert "headache" in harm(nlp("I take Ambien to sleep but it gives me headaches."))[("adverse_effect", "zolpidem")]



@pytest.mark.parametrize("text, drug, event", [
    ("I gained 30 pounds on Seroquel to sleep.", "quetiapine", "weight gain"),  # on it: it acts
    ("I have terrible nausea from Tramadol just to get through the day.", "tramadol", "nausea"),
    ("Like the other reviewer, I got terrible headaches from Cymbalta.", "duloxetine", "headache"),
])
def test_a_drug_acting_is_tied_to_its_events_whatever_follows_it(nlp, text, drug, event):
    assert event in harm(nlp(text)).get(("adverse_effect", drug), set()), text


def test_a_hedged_drug_keeps_its_hedge_and_does_not_pass_its_events_to_another(nlp):
    found = harm(nlp("I was on Lyrica for a year. I could not tolerate Cymbalta, it made me so nauseous."))
    assert "nausea" not in found.get(("adverse_effect", "pregabalin"), set())


@pytest.mark.parametrize("text, absent", [
    ("My doctors said they see a lot of weight gain with Lyrica.", "weight gain"),  # they: the doctors
    ("Since Cymbalta I'm on fire, I cleaned the whole house!", "burning pain"),
    ("Since Flonase I get ulcers in my nose.", "stomach ulcer"),
])
def test_other_people_energy_and_ulcers_elsewhere_are_not_these_events(nlp, text, absent):
    assert absent not in asserted_events(nlp(text)), text



@pytest.mark.parametrize("text, label, event", [
    ("When I forget to take Cymbalta I get brain zaps.", "withdrawal", "brain zaps"),
])
def test_forgetting_to_take_a_drug_is_withdrawal(nlp, text, label, event):
    assert any(lab == label and event in events for (lab, _), events in harm(nlp(text)).items()), text


@pytest.mark.parametrize("text", [
    "Whenever I forget to take the medicine my heartburn returns the next day.",
    "I continue to take this medication because it keeps me from being overly emotional.",  # relieved
    "After two years of not taking the drug there are still feelings of paranoia.",
])
def test_the_medication_unnamed_is_the_drug_only_as_acting_and_taken(nlp, text):
    doc = nlp.make_doc(text)
    doc._.stated_drug = "escitalopram"
    assert not harm(nlp(doc)).get(("adverse_effect", "escitalopram")), text


def test_an_effect_that_made_the_writer_stop_the_medication_is_no_withdrawal(nlp):
    doc = nlp.make_doc("I took myself off the medication because the stomach issues took over my life.")
    doc._.stated_drug = "escitalopram"
    assert not harm(nlp(doc)).get(("withdrawal", "escitalopram"))


@pytest.mark.parametrize("text, event", [
    ("None to speak of except for slight tiredness.", "fatigue"),
    ("I didn't observe any significant side effects aside from a little bit of dry mouth.", "dry mouth"),
    ("I noticed no side effects, other than a one time stomach ache.", "stomach pain"),
    ("None I have noticed other than drowsiness, which is why I take it before bed.", "drowsiness"),
])
def test_the_exception_to_a_side_effect_denial_is_an_effect_had(nlp, text, event):
    doc = nlp.make_doc(text)
    doc._.stated_drug = "pregabalin"
    assert event in harm(nlp(doc)).get(("adverse_effect", "pregabalin"), set()), text


@pytest.mark.parametrize("text", ["No side effects at all.", "No side effects, except that it didn't help my pain.",
                                  "Lyrica is great for my pain."])
def test_a_denial_without_an_exception_or_a_relief_stays_no_effect(nlp, text):
    doc = nlp.make_doc(text)
    doc._.stated_drug = "pregabalin"
    assert not harm(nlp(doc)).get(("adverse_effect", "pregabalin")), text


@pytest.mark.parametrize(("text", "drug", "event"), [
    ("I switched from Cymbalta to Savella because of the sweating.", "duloxetine", "sweating"),
    ("They switched me from Lyrica to gabapentin because of the weight gain.", "pregabalin", "weight gain"),
    ("I went from Lyrica to gabapentin because of the swelling and dizziness.", "pregabalin", "dizziness"),
    ("I switched to Savella from Cymbalta because of the sweating.", "duloxetine", "sweating"),
    ("They switched me to gabapentin from Lyrica due to the weight gain.", "pregabalin", "weight gain"),
])
def test_why_a_drug_was_switched_from_is_its_adverse_effect(nlp, text, drug, event):
    found = harm(nlp(text))
    assert event in found.get(("adverse_effect", drug), set()), found
    assert not any(event in events for (label, d), events in found.items() if d != drug), found


@pytest.mark.parametrize("text", [
    "My sister switched from Cymbalta to Savella because of the sweating.",
    "My sister switched to Savella from Cymbalta because of the sweating.",
    "I might switch from Cymbalta to Savella because of the sweating.",
    "Should I switch from Cymbalta to Savella because of the sweating?",
])
def test_a_switch_that_is_someone_elses_planned_or_asked_gives_no_reason(nlp, text):
    assert not harm(nlp(text))


@pytest.mark.parametrize("text", [
    "One of the first times a bipolar medication has NOT caused side effects for me.",  # what a medicine is for
    "I have not had any effects from the drug other than stopping the depression.",  # relief, not an effect
    "The person who previously reviewed had an allergic reaction.",  # someone else's
])
def test_an_indication_a_relief_or_a_reviewers_effect_is_no_event(nlp, text):
    assert not any(harm(read_as_review(nlp, text, "lamotrigine")).values())


@pytest.mark.parametrize(("text", "drug", "event"), [
    # look-alikes of the rules above (third review of session 15)
    ("Effexor caused so much nausea medication couldn't fix it.", "venlafaxine", "nausea"),
    ("Felt like a different person on Lexapro, totally numb and emotionless.", "escitalopram", "emotional blunting"),
])
def test_an_effect_before_a_medicine_word_or_a_different_person_is_still_had(nlp, text, drug, event):
    found = harm(nlp(text))
    assert event in found.get(("adverse_effect", drug), set()), found


# --- real side-effect texts read by hand --------------------------------------------------

REAL_HEADER = "review_id\tdrug\tevents\talternates\tnote\n"


def test_the_read_side_effect_texts_are_well_formed_training_reviews():
    rows = event_evaluation.read_real_set()
    assert len(rows) >= 150 and sum(len(r["events"]) for r in rows) >= 400
    assert all(r["review_id"] % 5 for r in rows)  # none held back
    assert any(not event_evaluation.is_tuning_text(r["review_id"]) for r in rows)


@pytest.mark.parametrize("row, reason", [
    ("15\tlyrica\tnausea\t\t", "held back"),
    ("x1\tlyrica\tnausea\t\t", "not a whole number"),
    ("11\tlyrica\tnausea\tdizzy\t", "is not 'found->read'"),
])
def test_a_bad_row_of_the_read_texts_is_refused_with_file_and_row(tmp_path: Path, row, reason):
    path = tmp_path / "read.tsv"
    path.write_text("# a comment\n" + REAL_HEADER + row + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"read.tsv row 2: .*{reason}"):
        event_evaluation.read_real_set(path)


def test_withdrawal_read_as_an_event_is_found_as_a_withdrawal_outcome(nlp, tmp_path: Path):
    from fms_pipeline.nlp.reviews import COLUMNS

    druglib = tmp_path / "reviews.tsv"
    druglib.write_text("\t".join(COLUMNS) + "\n" + "\t".join((
        "13", "effexor", "6", "Considerably Effective", "Severe Side Effects", "depression", "",
        "When I missed a dose I had brain zaps and sweats.", "")) + "\n", encoding="utf-8")
    read = tmp_path / "read.tsv"
    read.write_text(REAL_HEADER + "13\teffexor\twithdrawal | brain zaps\t\t\n", encoding="utf-8")
    f = event_evaluation.evaluate_real_events(nlp, druglib, read)
    assert f["recall"] == 1.0 and not f["missed"]


def test_the_real_text_figures_count_accepted_alternates_and_split_tuned_from_unseen(nlp, tmp_path: Path):
    from fms_pipeline.nlp.reviews import COLUMNS

    druglib = tmp_path / "reviews.tsv"
    druglib.write_text("\t".join(COLUMNS) + "\n" + "\n".join("\t".join(cells) for cells in (
        ("11", "lyrica", "6", "Considerably Effective", "Mild Side Effects", "pain", "", "I felt dizzy and drowsy.", ""),
        ("12", "lyrica", "6", "Considerably Effective", "Mild Side Effects", "pain", "", "Slight nausea.", ""),
    )) + "\n", encoding="utf-8")
    read = tmp_path / "read.tsv"
    read.write_text(REAL_HEADER + "11\tlyrica\tdizziness | feeling drugged\tdrowsiness->feeling drugged\t\n"
                    "12\tlyrica\tnausea | headache\t\t\n", encoding="utf-8")
    f = event_evaluation.evaluate_real_events(nlp, druglib, read)
    assert (f["texts"], f["events"], f["found"]) == (2, 4, 3)
    assert (f["precision"], f["recall"]) == (1.0, 0.75) and f["missed"] == {"headache": 1}
    assert (f["tuning"]["recall"], f["unseen"]["recall"]) == (1.0, 0.5)


# --- a review's probes of session 16's changes (forum posts with blank lines, headings, predictions) -------

def asserted_outcomes(doc) -> set[tuple[str, str | None, frozenset]]:
    return {(s.label_, s._.drug, frozenset(s._.events)) for s in doc.spans["outcomes"]
            if not s._.negated and not s._.hypothetical}


@pytest.mark.parametrize("text, drug, label, outcome_drug, events", [
    # a blank line after a sentence already ended, or after a heading's colon, is no new sentence to look back over
    ("Things that helped me:\n\n- Lyrica for the nerve pain\n- Warm baths", None, "effective", "pregabalin", set()),
    ("Cymbalta review.\n\nSide effects: none! My depression is gone and the pain is manageable.", None, "effective",
     "duloxetine", set()),
    ("Amitriptyline 10mg.\n\nSE: none. I sleep better and have less headaches.", None, "effective", "amitriptyline",
     set()),
    ("I have been on Lyrica for a year.\n\nSide effects:\n\n- dizziness\n- weight gain", None, "adverse_effect",
     "pregabalin", {"dizziness", "weight gain"}),
    ("Oxycodone 10mg.\n\nPain relief: good.\n\nSide effects: constipation.", None, "adverse_effect", "oxycodone",
     {"constipation"}),
    # what a test looks for is hypothetical, the drug after it is not
    ("I got tested for sleep apnea after starting methadone because I stop breathing at night.", None, "adverse_effect",
     "methadone", {"slowed breathing"}),
    # "risk" right after a symptom only
    ("I gained 20 pounds on Lyrica and that is a risk I accept.", None, "adverse_effect", "pregabalin", {"weight gain"}),
    # a dose come down is a stop
    ("Side effects review: Coming down from 60 to 30mg gave me brain zaps for two weeks.", "cymbalta", "withdrawal",
     "duloxetine", {"brain zaps"}),
])
def test_blank_lines_headings_tests_and_risks_keep_their_outcomes(nlp, text, drug, label, outcome_drug, events):
    doc = read_as_review(nlp, text, drug) if drug else nlp(text)
    assert any(lab == label and d == outcome_drug and set(ev) >= events for lab, d, ev in asserted_outcomes(doc))


@pytest.mark.parametrize("text, drug, absent", [
    ("Side effects review: None really. My back pain is still there though.", "lyrica", "back pain"),
    ("I had upset stomach and back pain from Cymbalta.", None, "stomach pain"),
    ("Lidocaine cream has a numbing effect that helps my pain.", None, "numbness"),
])
def test_a_denied_column_another_entity_and_a_wanted_effect_are_no_events(nlp, text, drug, absent):
    doc = read_as_review(nlp, text, drug) if drug else nlp(text)
    assert absent not in asserted_events(doc)


@pytest.mark.parametrize("text", [
    "My doctor said Cymbalta would make me feel better.",
    "I feel like gabapentin would make me a zombie.",
    "Do you think gabapentin would make my brain fog worse?",
])
def test_a_predicted_would_stays_hypothetical(nlp, text):
    assert not asserted_outcomes(nlp(text))


@pytest.mark.parametrize("text, events", [
    # pain said to be in a body part, with or without "my", as AskaPatient-style lists write it (session 18)
    ("Side effects review: Pain in shoulders and upper arms, aching in both legs.",
     {"shoulder pain", "arm pain", "leg pain"}),
    ("Side effects review: Sharp pains in my calves and soreness in muscles.", {"leg pain", "muscle pain"}),
    # who only noticed the effect did not have it
    ("Side effects review: Short term memory problems and confusion, my wife noticed it first.",
     {"memory problems", "confusion"}),
    # the habitual past of a side-effects text is had, not hypothetical
    ("Side effects review: In the first weeks I would have frequent low grade headaches.", {"headache"}),
    ("Side effects review: My memory was worse and I'd get dizzy in the afternoons.", {"memory problems", "dizziness"}),
    # with an adverb between (session 19, DrugLib 1529)
    ("Side effects review: The Skelaxin would (at times) make me sleepy.", {"drowsiness"}),
    ("Side effects review: It would often give me headaches in the evening.", {"headache"}),
    # a body function said to be gone (session 19, DrugLib 647)
    ("Side effects review: I didn't have any sex drive at all.", {"sexual dysfunction"}),
    ("Side effects review: I had zero appetite and lost all my energy.", {"loss of appetite", "fatigue"}),
    ("Side effects review: The no sex drive side effect is terrible.", {"sexual dysfunction"}),
    ("Side effects review: Can't sleep issues every night, dry mouth", {"insomnia", "dry mouth"}),
])
def test_pain_in_a_body_part_observers_and_the_habitual_past(nlp, text, events):
    assert asserted_events(read_as_review(nlp, text, "atorvastatin")) == events


@pytest.mark.parametrize("text", [
    "Side effects review: My sister says Lipitor gave her pain in her legs.",  # an observer's verb, her own pain
    "Side effects review: If I took it at night I would get headaches.",  # "if" still makes it hypothetical
    "Side effects review: Apparently it would give me nausea, so I never tried it.",  # a prediction
    "Side effects review: I had no appetite problems and no energy issues.",  # the trouble denied
    "Side effects review: Topamax had no appetite suppressing effect at all.",  # what it did not do
])
def test_an_observer_with_her_own_effect_and_a_condition_stay_no_events(nlp, text):
    assert not asserted_events(read_as_review(nlp, text, "atorvastatin"))


@pytest.mark.parametrize("text", [
    "Thankfully, Lyrica took care of my insomnia from the very first night.",  # relief said as "took care of"
    "Within a week on Cymbalta my anxiety faded.",
])
def test_a_complaint_taken_care_of_is_no_event(nlp, text):
    assert not asserted_events(nlp(text))


def test_ended_up_with_an_effect_is_still_one(nlp):
    assert asserted_events(nlp("Lyrica ended up giving me insomnia.")) == {"insomnia"}


@pytest.mark.parametrize("text, events", [
    # a body part in a state, words between (fms_body_states, vocab/body_part_states.tsv; session 18)
    ("Side effects review: My legs felt so heavy I could barely walk, and my hands were numb in the morning.",
     {"weakness", "numbness", "immobility"}),
    ("Side effects review: I was short of breath and my throat felt constricted.",
     {"shortness of breath", "throat tightness"}),
    ("Side effects review: Red, extremely dry and flaky skin.", {"redness", "dry skin"}),
    ("Side effects review: My ankles were swollen by the evening.", {"swollen ankles"}),  # "swollen" takes the part's
    ("Side effects review: My face was fine but my hands were dry.", {"dry skin"}),
])
def test_a_body_part_in_a_state_is_the_event_the_two_make(nlp, text, events):
    assert asserted_events(read_as_review(nlp, text, "atorvastatin")) == events


@pytest.mark.parametrize("text", [
    "Side effects review: My skin is not dry at all.",  # denied, as any entity
    "My hair is red and my face is round.",  # no pair listed
])
def test_a_body_part_in_no_listed_or_a_denied_state_is_no_event(nlp, text):
    assert not asserted_events(read_as_review(nlp, text, "atorvastatin"))


def test_body_states_round_trip_and_refuse_bad_data(nlp, tmp_path):
    from fms_pipeline.nlp.body_states import BodyStates, parse_states, read_states

    with pytest.raises(ValueError, match="line 2: 'legs' \\+ 'heavy' is listed twice"):
        parse_states("weakness\tlegs\theavy\nfatigue\tlegs\theavy | tired", "states.tsv")
    with pytest.raises(ValueError, match="states.tsv line 1"):
        parse_states("no such term\tlegs\theavy", "states.tsv")

    states = read_states()
    assert states["ankles"]["swollen"] == "swollen ankles" and states["throat"]["constricted"] == "throat tightness"
    component = nlp.get_pipe("fms_body_states")
    component.to_disk(tmp_path)
    loaded = BodyStates(nlp).from_disk(tmp_path)
    assert loaded.states == states
    (tmp_path / "states.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="states.json"):
        BodyStates(nlp).from_disk(tmp_path)


@pytest.mark.parametrize("text, events", [
    # the review of session 18's changes: what they must not take for events
    ("Side effects review: I waited 5 minutes for my face to dry before applying it.", set()),  # care
    ("Side effects review: When my face is clean and dry, I apply a thin layer.", set()),
    ("Side effects review: My skin was less dry than with the cream.", set()),  # eased
    ("Side effects review: My face is not as red as before.", set()),
    ("Side effects review: I soak my feet in cold water at night.", set()),  # a thing after the part
    ("Side effects review: Before going on the pill, I would have awfully irregular periods.", set()),
    ("Side effects review: So I would have lost weight anyway.", set()),  # counterfactual
    ("The pharmacist mentioned I would experience dry mouth.", set()),  # predicted
    ("My LDL went down to 90 and I have been having joint pain.", {"joint pain"}),  # a lab value, no dose cut
    ("If I don't take it on a full stomach I throw up.", set()),  # how it is taken: no withdrawal, a condition
    ("I went down to 150mg and the headaches finally went away.", set()),  # eased after the cut
    ("Mobic barely touches the pain in both hips.", set()),  # what it treats
    # a caregiver's column: who complained or said "she" had it is the patient
    ("Side effects review: My son complained of stomach aches.", {"stomach pain"}),
    ("Side effects review: Daughter said she felt dizzy after each dose.", {"dizziness"}),
])
def test_what_the_review_of_session_18_found(nlp, text, events):
    assert asserted_events(read_as_review(nlp, text, "atorvastatin")) == events


def test_a_lab_value_lowered_is_no_dose_lowered(nlp):
    doc = read_as_review(nlp, "Side effects review: Decreased TSH level from 428 to 1.5. Loss of hair.",
                         "levothyroxine")
    assert ("withdrawal", "levothyroxine") not in harm(doc)


@pytest.mark.parametrize("text, events", [
    ("Side effects review: My period is very speratic and the flow is extremely heavy.",
     {"irregular periods", "heavy periods"}),
    ("Side effects review: My nose seemed to get too dry.", {"dry nose"}),
    ("Side effects review: After sleeping for over 10 hours I am groggy.", {"hypersomnia", "feeling drugged"}),
    ("Side effects review: My sleep cycle is erratic.", set()),  # a cycle of sleep is no period
])
def test_periods_the_nose_and_long_sleep(nlp, text, events):
    assert asserted_events(read_as_review(nlp, text, "ethinylestradiol/etonogestrel")) == events


@pytest.mark.parametrize("text", [
    # the second review of session 18: why the drug was started, the usual state, relief, sleep that is welcome
    "I started Yaz because my periods were so heavy.",
    "Side effects review: My periods used to be really heavy but now they are light.",
    "Side effects review: My periods have always been irregular.",
    "Lyrica made my legs stop hurting.",
    "Since starting Lyrica I finally slept for 10 hours straight without waking up.",
    "Side effects review: I have periods where everything feels heavy.",
])
def test_reasons_usual_states_and_relief_are_no_body_state_events(nlp, text):
    assert not asserted_events(read_as_review(nlp, text, "drospirenone/ethinylestradiol"))


@pytest.mark.parametrize("text, of_the_stop", [
    # the stop's own word is no easing of an event before it (review of the change: "stopped" once hid it)
    ("I had insomnia after I stopped the treatment.", True),
    ("I had bad headaches for a week after I quit taking it.", True),
    # an event before the stop said to ease, or one after it
    ("The headaches went away when I stopped the treatment.", False),
    ("I stopped the treatment and the insomnia finally ceased.", False),
])
def test_events_of_a_stop_and_what_eased(nlp, text, of_the_stop):
    from fms_pipeline.nlp import outcomes

    doc = nlp(text)
    asserted = [e for e in doc.ents if e.label_ == "SYMPTOM"]
    assert outcomes._events_of_a_stop(doc[:], asserted) is of_the_stop


# --- what a drug is taken for (vocab/drug_indications.tsv, session 19) ----------------------------------------------

@pytest.mark.parametrize("text, drug, events", [
    ("Side effects review: chest tightness, and the migraine came back the next day.", "imitrex", {"chest tightness"}),
    ("Side effects review: It made my migraines worse.", "imitrex", {"migraine"}),  # aggravated: an effect
    ("Side effects review: It gave me a migraine the next day.", "imitrex", {"migraine"}),  # caused
    ("Side effects review: very drowsy, but the muscle spasms went away.", "flexeril", {"drowsiness"}),
    ("Side effects review: muscle spasms in my legs", "lipitor", {"muscle spasms"}),  # a statin is no relaxant
    # a drug named after the event is its remedy, not what the reviewed drug is taken for
    ("Side effects review: Very high cholesterol which requires more medication (20mg lipitor per day).", "effexor",
     {"high cholesterol"}),
    # found by the second review (session 19): a stop, rebound, worse or new, the writer's "side effects", another drug
    ("I quit Lunesta and the insomnia returned with a vengeance.", "lunesta", {"insomnia"}),
    ("Side effects review: rebound insomnia", "ambien", {"insomnia"}),
    ("Zomig made my migraines more frequent.", "zomig", {"migraine"}),
    ("Lisinopril raised my blood pressure.", "lisinopril", {"high blood pressure"}),
    ("Side effects review: muscle spasms in my calves that I never had before", "flexeril", {"muscle spasms"}),
    ("The side effects of Flexeril were muscle spasms.", "flexeril", {"muscle spasms"}),
    ("I take Ambien for sleep, but since starting Wellbutrin I have insomnia again.", "ambien", {"insomnia"}),
    ("Side effects review: the migraine never came back and no side effects", "imitrex", set()),
])
def test_what_the_drug_is_taken_for_is_no_adverse_effect_of_it_unless_caused_or_worse(nlp, text, drug, events):
    assert asserted_events(read_as_review(nlp, text, drug)) == events


def test_every_drug_indication_names_a_known_class_or_drug_and_known_terms():
    from fms_pipeline.nlp import events
    from fms_pipeline.nlp.drug_lexicon import drug_classes, drug_lexicon

    known_terms = set(read_vocabulary("adverse_events.tsv")) | set(read_vocabulary("conditions.tsv"))
    classes = set(drug_classes().values())
    drugs = {entry.canonical for entry in drug_lexicon().values()}  # (canonical_drug returns an unknown name as given)
    for key, terms in events._drug_indications().items():
        assert key in classes or key in drugs, key
        assert terms and terms <= known_terms, (key, terms - known_terms)
    assert events.taken_for("sumatriptan") == {"migraine"}  # by its class
    assert events.taken_for("naratriptan") == {"migraine"}  # by itself
    assert events.taken_for("oxycodone/acetaminophen") == frozenset()
    assert events.taken_for(None) == frozenset()


# --- session 20: the eleventh reader's odd-id misses, what a medicine is against --------------------

@pytest.mark.parametrize("text, drug, events", [
    ("Side effects review: Some days it makes me lose my appetite completely.", "lamotrigine", {"loss of appetite"}),
    ("Side effects review: I wouldn't have an appetite.", "lamotrigine", {"loss of appetite"}),
    ("Side effects review: At night my brain wouldn't stop working.", "lamotrigine", {"racing thoughts"}),
    ("Side effects review: This pill has made me gain about ten pounds.", "levonorgestrel", {"weight gain"}),
    ("Side effects review: I cry about absolutely nothing and snap at the smallest things.", "levonorgestrel",
     {"crying spells", "irritability"}),
    ("Side effects review: Dry nose, slight bleeding of nose.", "cetirizine", {"dry nose", "nosebleeds"}),
    ("Side effects review: I experienced blood when I would blow my nose and dryness in the nasal cavities.",
     "fluticasone", {"nosebleeds", "dry nose"}),
    ("Side effects review: Now I can't get off of it.", "lorazepam", {"dependence"}),
    ("Side effects review: My belly seemed inflated all the time.", "levothyroxine", {"bloating"}),
    ("Side effects review: My throat was itchy and scratchy.", "lisinopril", {"itching"}),
    ("Side effects review: Extreme drowsiness, chalky mouth.", "oxycodone", {"drowsiness", "dry mouth"}),
    ("Side effects review: Drowsiness, trembling, blunted affect.", "paroxetine",
     {"drowsiness", "tremor", "emotional blunting"}),
    ("Side effects review: Suicidal thoughts, disconnection from friends and family.", "paroxetine",
     {"suicidal thoughts", "social withdrawal"}),
    ("Side effects review: The injection was very painful.", "onabotulinumtoxinA", {"injection site reaction"}),
    ("Side effects review: Cold hands and feet, my face was white.", "nortriptyline", {"cold hands and feet", "pale skin"}),
])
def test_wordings_the_eleventh_reader_found_missing(nlp, text, drug, events):
    assert asserted_events(read_as_review(nlp, text, drug)) == events


@pytest.mark.parametrize("text", [
    "I have been on Effexor and Wellbutrin XL as well as multiple anti-anxiety and anti-seizure drugs.",
    "I take Lyrica and an anti nausea pill.",
    "Prescribed Cymbalta and it helped overcome depression and anxiety.",
])
def test_what_a_medicine_is_against_or_overcame_is_no_event(nlp, text):
    assert not asserted_events(nlp(text))


def test_an_anti_medicine_beside_an_effect_keeps_the_effect(nlp):
    doc = nlp("Lyrica made me anxious and I needed an anti-anxiety pill.")
    assert harm(doc) == {("adverse_effect", "pregabalin"): {"anxiety"}}



ATORVASTATIN, ARTHROTEC = "atorvastatin", "diclofenac/misoprostol"


@pytest.mark.parametrize("text, drug, term", [
    # statin and NSAID reviews' wordings, written here (session 20)
    ("Side effects review: Increased CK levels.", ATORVASTATIN, "elevated ck"),
    ("Side effects review: My CK levels were elevated.", ATORVASTATIN, "elevated ck"),
    ("Side effects review: Liver function tests were abnormal.", ATORVASTATIN, "elevated liver enzymes"),
    ("Side effects review: My memory got really bad.", ATORVASTATIN, "memory problems"),
    ("Side effects review: My muscles felt like jelly.", ATORVASTATIN, "muscle weakness"),
    ("Side effects review: Every muscle in my body hurt.", ATORVASTATIN, "muscle pain"),
    ("Side effects review: I ached from head to toe.", ATORVASTATIN, "muscle pain"),
    ("Side effects review: Everything tasted funny.", ATORVASTATIN, "taste changes"),
    ("Side effects review: My Achilles tendon hurt.", ATORVASTATIN, "tendon pain"),
    ("Side effects review: My heels hurt.", ATORVASTATIN, "foot pain"),
    # NSAID and statin reviews' wordings, a second round of written probes (session 20)
    ("Side effects review: My bowels were a mess.", ARTHROTEC, "change in bowel habits"),
    ("Side effects review: Passing a lot of wind.", ARTHROTEC, "gas"),
    ("Side effects review: My stools were black and tarry.", ARTHROTEC, "blood in stool"),
    ("Side effects review: My liver enzymes were through the roof.", ARTHROTEC, "elevated liver enzymes"),
    ("Side effects review: I peed all night.", ARTHROTEC, "frequent urination"),
    ("Side effects review: My gums bled when I brushed.", ARTHROTEC, "easy bleeding"),
    ("Side effects review: I caught every cold going around.", ARTHROTEC, "frequent infections"),
])
def test_statin_and_nsaid_review_wordings(nlp, text, drug, term):
    assert asserted_events(read_as_review(nlp, text, drug)) == {term}


@pytest.mark.parametrize("text, term", [
    # iron and bismuth blacken stools harmlessly: only tarry or bloody stools are blood in the stool
    ("My stools were black from the iron pills.", "blood in stool"),
    # running to the toilet is as often to pee as diarrhea: not read as either
    ("I was running to the bathroom all day.", "diarrhea"),
])
def test_black_stools_and_trips_to_the_toilet_are_no_such_event(nlp, text, term):
    assert term not in {e.ent_id_ for e in nlp(text).ents}
