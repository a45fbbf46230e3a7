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
                            ("tramadoll", "tramadol"), ("tramodol", "tramadol"), ("gabapenton", "gabapentin"),
                            ("lyricka", "pregabalin"), ("oxicodone", "oxycodone"), ("hydrocodon", "hydrocodone"),
                            ("klonapin", "clonazepam"), ("symbalta", "duloxetine"), ("percoset", "oxycodone/acetaminophen")],
)
def test_fuzzy_matcher_catches_misspelt_drugs(word, canonical):
    match = match_misspelling(word)
    assert match is not None and match[:2] == ("DRUG", canonical)


@pytest.mark.parametrize("word", ["intracable", "irretractable", "consenses", "opiophobia", "britishl", "hospital",
                                  "medical", "neurologist", "realtor", "relif", "importanly"])
def test_fuzzy_matcher_leaves_other_words_alone(word):
    assert match_misspelling(word) is None


def test_pipeline_needs_no_statistical_model(nlp):
    assert nlp.pipe_names == ["sentencizer", "fms_sentence_cap", "fms_entity_ruler", "fms_case_ruler",
                              "fms_misspelled_entities", "fms_body_states", "fms_event_senses", "fms_condition_codes",
                              "fms_context",
                              "fms_outcomes",
                              "fms_access_loss"]
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


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # Combination products by brand and by the names patients use for them.
        ("Norco and Percocet did nothing for me.",
         {("DRUG", "hydrocodone/acetaminophen"), ("DRUG", "oxycodone/acetaminophen")}),
        ("Arthrotec tore up my stomach, Augmentin too.",
         {("DRUG", "diclofenac/misoprostol"), ("DRUG", "amoxicillin/clavulanic acid")}),
        ("My dentist gave me Tylenol 3, my old doctor gave me Vicodin.",
         {("DRUG", "acetaminophen/codeine"), ("DRUG", "hydrocodone/acetaminophen")}),
        ("a few Percs, some Vikes, an Oxy now and then", {("DRUG", "oxycodone/acetaminophen"),
                                                          ("DRUG", "hydrocodone/acetaminophen"), ("DRUG", "oxycodone")}),
        # Withdrawn and older brands; famous brands that are frequent English words.
        ("Vioxx was the only thing that worked, then Darvocet.",
         {("DRUG", "rofecoxib"), ("DRUG", "dextropropoxyphene/acetaminophen")}),
        ("Xanax, Synthroid and Keflex", {("DRUG", "alprazolam"), ("DRUG", "levothyroxine"), ("DRUG", "cephalexin")}),
        # Supplements, vitamins, herbal and cannabis products.
        ("I take CoQ10, fish oil, magnesium, vitamin D and niacin with red yeast rice.",
         {("DRUG", "ubidecarenone"), ("DRUG", "fish oil"), ("DRUG", "magnesium"), ("DRUG", "vitamin d"),
          ("DRUG", "niacin"), ("DRUG", "red yeast rice")}),
        ("Turmeric, CBD, kratom and marijuana help more than gabapentin.",
         {("DRUG", "turmeric"), ("DRUG", "cannabidiol"), ("DRUG", "kratom"), ("DRUG", "cannabis"),
          ("DRUG", "gabapentin")}),
    ],
)
def test_what_patients_write_about_drugs(nlp, sentence, expected):
    assert expected <= ents(nlp, sentence)


def test_combinations_have_ingredients_and_a_class_from_them():
    from fms_pipeline.nlp.drug_lexicon import drug_reference

    rows = {r["drug"]: r for r in drug_reference(["oxycodone/acetaminophen", "diclofenac/misoprostol", "oxycodone",
                                                   "aspirin/acetaminophen/caffeine"])}
    assert rows["oxycodone/acetaminophen"]["ingredients"] == ["oxycodone", "acetaminophen"]
    assert rows["oxycodone/acetaminophen"]["drug_class"] == "opioid/analgesic"
    assert rows["diclofenac/misoprostol"]["ingredients"] == ["diclofenac", "misoprostol"]
    assert rows["diclofenac/misoprostol"]["drug_class"] == "nsaid"
    assert rows["oxycodone"]["ingredients"] == ["oxycodone"]
    # Excedrin, a combination of the dictionary written with "paracetamol": ingredients normalised.
    assert rows["aspirin/acetaminophen/caffeine"]["ingredients"] == ["aspirin", "acetaminophen", "caffeine"]


@pytest.mark.parametrize(("canonical", "drug_class"), [
    ("ubidecarenone", "supplement"), ("fish oil", "supplement"), ("magnesium", "supplement"),
    ("vitamin d", "supplement"), ("niacin", "supplement"), ("red yeast rice", "herbal"), ("turmeric", "herbal"),
    ("kratom", "herbal"), ("cannabidiol", "cannabinoid"), ("cannabis", "cannabinoid"),
])
def test_supplements_herbals_and_cannabis_have_their_class(canonical, drug_class):
    from fms_pipeline.nlp.drug_lexicon import drug_reference

    assert drug_reference([canonical])[0]["drug_class"] == drug_class


def test_every_curated_combination_names_known_generic_ingredients():
    """Each canonical of drug_combinations.tsv is "a/b" of drugs the lexicon knows by that generic name
    (the build raises otherwise); here: every such ingredient is itself a canonical of the lexicon."""
    from fms_pipeline.nlp.drug_lexicon import drug_lexicon, read_vocabulary

    canonicals = {e.canonical for e in drug_lexicon().values()}
    for combination in read_vocabulary("drug_combinations.tsv"):
        assert combination in canonicals
        for ingredient in combination.split("/"):
            assert ingredient in canonicals, (combination, ingredient)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("changed to Methadone(takes 2 weeks", ["changed", "to", "Methadone", "(", "takes", "2", "weeks"]),
        ("Norco/Percocet", ["Norco", "/", "Percocet"]),
        ("Lyrica+Cymbalta", ["Lyrica", "+", "Cymbalta"]),
        ("Percocet 5/325 (1/2 a pill)", ["Percocet", "5/325", "(", "1/2", "a", "pill", ")"]),
        ("10mg", ["10", "mg"]),
        ("24/7", ["24/7"]),
        ("see https://example.com/a(b)+c/d?x=1", ["see", "https://example.com/a(b)+c/d?x=1"]),
        # a sentence ended with no space after its full stop; domain names and abbreviations kept
        ("tiredness.and headaches", ["tiredness", ".", "and", "headaches"]),
        ("weeks.my skin", ["weeks", ".", "my", "skin"]),
        ("dizzy.in fact", ["dizzy", ".", "in", "fact"]),
        ("druglib.com and www.askapatient", ["druglib.com", "and", "www.askapatient"]),
        ("e.g. at 9 a.m.", ["e.g.", "at", "9", "a.m."]),
    ],
)
def test_tokenizer_splits_joined_words_but_not_dosages_or_urls(nlp, text, tokens):
    assert [t.text for t in nlp.make_doc(text)] == tokens


def test_drugs_joined_by_brackets_slashes_and_plus_are_found(nlp):
    assert ("DRUG", "methadone") in ents(nlp, "changed to Methadone(takes 2 weeks to work)")
    assert {("DRUG", "hydrocodone/acetaminophen"), ("DRUG", "oxycodone/acetaminophen")} <= ents(nlp, "Norco/Percocet")
    assert {("DRUG", "pregabalin"), ("DRUG", "duloxetine")} <= ents(nlp, "Lyrica+Cymbalta")


def test_misspelling_recall_and_no_everyday_word_taken_for_a_drug(nlp):
    """On the misspellings of data/evaluation/misspelt_drug_names.tsv (swapped, doubled, dropped letters,
    phonetic spellings) recall was 0.67 before the edit-distance matcher; no frequent word may match."""
    from wordfreq import top_n_list

    from fms_pipeline.nlp.spelling_evaluation import read_misspellings

    rows = read_misspellings()
    assert len(rows) >= 150 and {pattern for _, _, pattern in rows} >= {"swap", "double", "drop", "vowel", "phonetic"}
    docs = nlp.pipe(f"I was given {word} for the pain." for word, _, _ in rows)
    found = sum(any(e.label_ == "DRUG" and e.ent_id_ == canonical for e in doc.ents)
                for (_, canonical, _), doc in zip(rows, docs))
    assert found / len(rows) >= 0.9
    assert not [w for w in top_n_list("en", 5000) if match_misspelling(w)]


def test_misspelling_file_errors_name_the_file_and_line(tmp_path):
    from fms_pipeline.nlp.spelling_evaluation import read_misspellings

    bad = tmp_path / "bad.tsv"
    bad.write_text("# header\ntramodol\ttramadol\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.tsv line 2"):
        read_misspellings(bad)


@pytest.mark.parametrize(
    ("sentence", "canonical", "code"),
    [
        ("I was diagnosed with fibro ten years ago.", "fibromyalgia", "M79.7"),
        ("CFS and fibromyalgia overlap.", "chronic fatigue syndrome", "G93.32"),
        ("My RA flares in winter.", "rheumatoid arthritis", "M06.9"),
        ("My son has sickle cell disease.", "sickle-cell disease", "D57.1"),
        ("Gastroparesis from the opioids.", "gastroparesis", "K31.84"),
        ("The nausea was the worst.", "nausea", "R11.0"),
        ("Zoloft stopped working for my MDD.", "depression", "F32.A"),
        ("It really helped my OCD.", "obsessive-compulsive disorder", "F42.9"),
        ("My son takes Adderall for ADHD.", "adhd", "F90.9"),
    ],
)
def test_conditions_and_symptoms_carry_an_icd10_code(nlp, sentence, canonical, code):
    found = {e.ent_id_: e._.icd10 for e in nlp(sentence).ents if e.label_ in ("CONDITION", "SYMPTOM")}
    assert found.get(canonical) == code


def test_drugs_and_uncoded_conditions_have_no_icd10(nlp):
    doc = nlp("Lyrica did nothing for my cancer.")
    assert {e.ent_id_: e._.icd10 for e in doc.ents} == {"pregabalin": None, "cancer": None}


def test_condition_reference_rows():
    from fms_pipeline.nlp.conditions import condition_reference

    rows = {r["condition"]: r for r in condition_reference(["fibromyalgia", "sickle-cell disease", "cancer"])}
    assert rows["fibromyalgia"] == {"condition": "fibromyalgia", "icd10_code": "M79.7",
                                    "icd10_description": "Fibromyalgia"}
    assert rows["sickle-cell disease"]["icd10_code"] == "D57.1"
    assert rows["cancer"] == {"condition": "cancer", "icd10_code": None, "icd10_description": None}


def test_code_set_names_leave_everyday_words_and_vague_descriptions_out():
    from fms_pipeline.nlp.conditions import check_curated_codes, curated_codes, description_names

    names = description_names()
    assert len(names) > 3000 and "sickle cell disease" in names and "low back pain" in names
    for word in ("depression", "stroke", "shock", "pain", "fever", "other specified disorders", "nausea"):
        assert word not in names, word
    assert not [n for n in names if {"unspecified", "other", "of"} & set(n.split())]
    # the first of a list of modifiers ("Sedative, hypnotic, or anxiolytic related disorders") and a name cut before
    # what it is associated with ("Headache associated with sexual activity") are no names (session 18); a list of
    # names keeps its first ("Encephalitis, myelitis and encephalomyelitis"), a name with "related" inside stays
    for word in ("sedative", "hypertonic", "lobulated", "headache associated", "pain associated"):
        assert word not in names, word
    assert "encephalitis" in names and "sleep related leg cramps" in names
    check_curated_codes()  # every reviewed code is a code of the code set
    assert curated_codes()["fibromyalgia"] == "M79.7"


def test_a_page_of_one_word_is_split_into_bounded_sentences(nlp):
    """A 200,000-word 'sentence' (pasted logs, one word repeated) finishes and is cut every 200 tokens."""
    from fms_pipeline.nlp.pipeline import MAX_SENTENCE_TOKENS

    doc = nlp("pain " * 200_000)
    lengths = [len(s) for s in doc.sents]
    assert max(lengths) <= MAX_SENTENCE_TOKENS and sum(lengths) == len(doc) == 200_000
    assert len(doc.ents) == 200_000
    # Ordinary sentences are left as the sentencizer made them.
    assert [s.text for s in nlp("I take hydrocodone. It helps my FMS.").sents] == ["I take hydrocodone.", "It helps my FMS."]


def test_a_blank_line_starts_a_sentence(nlp):
    """A review table's columns, a heading or a list without full stops: the sentencizer splits on punctuation only,
    and what is decided per sentence mixed the paragraphs. A single line break is left alone (wrapped lines)."""
    doc = nlp("Benefits review: less anxiety\n\nSide effects review: nausea\n\nComments review: 20 mg a day")
    assert [s.text.strip() for s in doc.sents] == [
        "Benefits review: less anxiety", "Side effects review: nausea", "Comments review: 20 mg a day"]
    assert len(list(nlp("my pain is\nbetter on Lyrica").sents)) == 1


def test_drug_and_condition_reference_feed_the_warehouse_sql():
    """The drugs and conditions SQL (sql/core/)
    over the reference rows: ingredients are a VARCHAR[] one can search, conditions carry their codes."""
    from pathlib import Path

    import duckdb
    import polars as pl

    from fms_pipeline.nlp.conditions import condition_reference
    from fms_pipeline.nlp.drug_lexicon import drug_reference

    sql = Path(__file__).resolve().parents[1] / "fms_pipeline" / "warehouse" / "sql" / "core"
    con = duckdb.connect()
    con.execute("CREATE TABLE entity_mentions AS SELECT * FROM (VALUES (1, 'c1', 'DRUG', 'oxycodone/acetaminophen'), "
                "(2, 'c1', 'CONDITION', 'fibromyalgia'), (3, 'c2', 'DRUG', 'oxycodone'), (4, 'c2', 'SYMPTOM', 'nausea')) "
                "t(mention_id, comment_id, label, canonical)")
    drug_schema = {"drug": pl.String, "drug_class": pl.String, "drugbank_id": pl.String, "mesh_id": pl.String,
                   "ingredients": pl.List(pl.String)}
    con.register("drug_reference", pl.DataFrame(drug_reference(["oxycodone/acetaminophen", "oxycodone"]),
                                                schema=drug_schema).to_arrow())
    condition_schema = {"condition": pl.String, "icd10_code": pl.String, "icd10_description": pl.String}
    con.register("condition_reference", pl.DataFrame(condition_reference(["fibromyalgia", "nausea"]),
                                                     schema=condition_schema).to_arrow())
    for name in ("07_drugs.sql", "08_conditions.sql"):
        con.execute((sql / name).read_text(encoding="utf-8"))
    assert {r[0] for r in con.execute("SELECT drug FROM drugs WHERE list_contains(ingredients, 'oxycodone')").fetchall()} \
        == {"oxycodone", "oxycodone/acetaminophen"}
    assert con.execute("SELECT drug_class FROM drugs WHERE drug = 'oxycodone/acetaminophen'").fetchone() == ("opioid/analgesic",)
    assert con.execute("SELECT * FROM conditions ORDER BY condition").fetchall() == [
        ("fibromyalgia", "M79.7", "Fibromyalgia", 1, 1), ("nausea", "R11.0", "Nausea", 1, 1)]


def test_rulers_skip_their_token_patterns_only_where_no_pattern_can_start(nlp, sample_page):
    """VocabularyRuler.match runs the token-pattern matcher only on docs holding a word the
    patterns start with: its matches equal spaCy's SpanRuler.match on every doc."""
    from spacy.pipeline.span_ruler import SpanRuler

    texts = [sample_page.body, *(c.body for c in sample_page.comments),
             "Saw Dr. Jane Roe and nurse Kelly Smith about my Lyrica.", "My DOCTOR Ana Lopez said no.",
             "dr. House prescribed Gabapentin", "Doctor said Cymbalta", "Mrs Dalloway", "professor X"]
    case_ruler = nlp.get_pipe("fms_case_ruler")
    assert case_ruler._anchors() is not None and len(case_ruler._anchors())  # the gate is on
    upstream = [name for name in nlp.pipe_names[:nlp.pipe_names.index("fms_case_ruler")]]
    persons = 0
    for doc in nlp.pipe(texts, disable=[n for n in nlp.pipe_names if n not in upstream]):
        for name in ("fms_entity_ruler", "fms_case_ruler"):
            ruler = nlp.get_pipe(name)
            found = ruler.match(doc)
            assert found == SpanRuler.match(ruler, doc), (name, doc.text[:80])
            persons += sum(1 for s in found if s.label_ == "PERSON" and name == "fms_case_ruler")
    assert persons >= 4  # the texts with titles did reach the token matcher


def test_rulers_set_the_entities_spacys_span_ruler_sets(nlp, sample_page):
    """VocabularyRuler.__call__ (matches filtered as tuples) gives the entities spaCy's
    SpanRuler.__call__ gives, for the entity ruler (overwrite) and the case ruler (keeps them)."""
    from pathlib import Path

    from spacy.pipeline.span_ruler import SpanRuler

    from fms_pipeline.nlp import outcome_model

    psytar = Path(__file__).resolve().parents[1] / "data" / "psytar" / "sentences_dev.tsv"
    texts = [sample_page.body, *(c.body for c in sample_page.comments), *outcome_model.read_psytar(psytar)[0][:1500],
             "Dr. Pain Free and nurse Lyrica Jones said fibromyalgia syndrome and chronic pain syndrome flare",
             "pain meds, opioid pain medication, Norco/Percocet, vitamin d3 and vitamin D, Dr Cymbalta"]
    before = [n for n in nlp.pipe_names[:nlp.pipe_names.index("fms_entity_ruler")]]
    entities = 0
    for doc in nlp.pipe(texts, disable=[n for n in nlp.pipe_names if n not in before]):
        for name in ("fms_entity_ruler", "fms_case_ruler"):
            ruler, theirs = nlp.get_pipe(name), doc.copy()
            ruler(doc)
            SpanRuler.__call__(ruler, theirs)
            ours = [(e.start, e.end, e.label_, e.ent_id_, e.kb_id_) for e in doc.ents]
            assert ours == [(e.start, e.end, e.label_, e.ent_id_, e.kb_id_) for e in theirs.ents], (name, doc.text[:80])
            assert doc.to_array("ENT_IOB").tolist() == theirs.to_array("ENT_IOB").tolist()
            entities += len(ours)
    assert entities > 1500


def test_a_lower_case_title_is_one_token_and_no_sentence_end(nlp):
    doc = nlp("my dr. stopped my oxy last week")
    assert "dr." in [t.text for t in doc] and len(list(doc.sents)) == 1
