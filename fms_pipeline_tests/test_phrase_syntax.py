"""The phrase files' shorthand (``fms_pipeline/nlp/phrase_syntax.py``): brace groups and named lists."""

import pytest

from fms_pipeline.nlp import context, phrase_syntax, pipeline
from fms_pipeline.nlp.drug_lexicon import read_vocabulary


def test_brace_groups_expand_to_every_choice_in_order():
    assert phrase_syntax.expand("side {effects,affects} {are,were} bad") == [
        "side effects are bad", "side effects were bad", "side affects are bad", "side affects were bad"]


def test_an_empty_alternative_makes_a_word_optional_and_spaces_close_up():
    assert phrase_syntax.expand("{had,} severe side effects") == ["had severe side effects", "severe side effects"]
    assert phrase_syntax.expand("side effects are {,so }awful") == ["side effects are awful",
                                                                    "side effects are so awful"]


def test_a_group_without_a_comma_stays_as_written_only_where_the_reader_fills_it_in():
    assert phrase_syntax.expand("gained {n} lbs", placeholders=frozenset({"{n}"})) == ["gained {n} lbs"]
    with pytest.raises(ValueError, match="no comma and is no placeholder"):
        phrase_syntax.expand("gained {n} lbs")  # a vocabulary's variant: nothing would fill it in


def test_repeats_are_dropped():
    assert phrase_syntax.expand("{a,a} b") == ["a b"]


@pytest.mark.parametrize("phrase, reason", [
    ("side {effects,affects are bad", "unbalanced"),
    ("side effects} {are,were} bad", "unbalanced or nested"),
    ("gained {about {n},over {n}} lbs", "nested"),
    ("side {effects} are bad", "no comma and is no placeholder"),
    ("{awful;terrible}", "no comma and is no placeholder"),
    ("{ , }", "leaves no phrase"),
])
def test_a_group_that_could_never_match_is_an_error(phrase, reason):
    # (a review of session 20: these stayed as literal phrases that no text can match, or vanished)
    with pytest.raises(ValueError, match=reason):
        phrase_syntax.expand(phrase)


def test_every_shipped_phrase_file_expands_to_phrases_without_braces():
    from importlib import resources

    from fms_pipeline.nlp import events
    from fms_pipeline.nlp.drug_lexicon import _vocabulary_rows

    vocab = resources.files("fms_pipeline.nlp").joinpath("vocab")
    names = sorted(f.name for f in vocab.iterdir() if f.name.endswith(".tsv") and f.name not in (
        "adverse_event_phrases.tsv", "context_triggers.tsv", "event_cues.tsv", "body_part_states.tsv",
        "event_senses.tsv", "drug_indications.tsv", "condition_events.tsv"))
    phrases = [p for name in names for _, _, _, variants in _vocabulary_rows(name) for p in variants]
    phrases += list(context.triggers()) + [p for ps in pipeline.event_phrases().values() for p in ps]
    cues, _, _ = events.cue_table()
    assert len(phrases) > 10_000 and cues["relief"]
    assert not [p for p in phrases if "{" in p or "}" in p]


def test_alternatives_split_on_bars_then_expand():
    assert phrase_syntax.alternatives(" no benefit | {did,does} nothing ") == ["no benefit", "did nothing",
                                                                              "does nothing"]


def test_named_lists_are_only_read_where_a_file_defines_them():
    named = {"@hurting": ["hurt", "ached"]}
    assert phrase_syntax.alternatives("ache | @hurting", named) == ["ache", "hurt", "ached"]
    with pytest.raises(ValueError, match="@aching is not a named list"):
        phrase_syntax.alternatives("@aching", named)
    # Elsewhere "@" is part of a word (an organisation's handle)
    assert phrase_syntax.alternatives("@CDCgov | CDC") == ["@CDCgov", "CDC"]


def test_the_shipped_files_use_the_shorthand_and_it_reaches_the_matchers():
    # outcome_rule_cues.tsv writes its harsh-side-effect cues as brace groups
    cues = set(read_vocabulary("outcome_rule_cues.tsv")["adverse_effect"])
    assert {"side affects were so debilitating", "cope with these side effects", "side effects i'm having",
            "because of the terrible side effects"} <= cues
    assert not any("{" in c or "}" in c for c in cues)
    # context_triggers.tsv: nine spellings of "can't" times eight verbs of bearing
    assert {"couldn’t put up with", "can not stand", "cant cope with"} <= set(context.triggers())
    # adverse_event_phrases.tsv: named lists used in slots
    phrases = pipeline.event_phrases()
    assert "knees started hurting" in phrases["knee pain"]
    assert "did a number on my memory" in phrases["memory problems"]
    assert "hardly any appetite" in phrases["loss of appetite"]
    assert not any(p.startswith("@") or "@" in p.split()[0] for ps in phrases.values() for p in ps)


def test_an_undefined_name_in_the_event_phrases_names_the_line(monkeypatch):
    text = "@hurting\thurt | hurts\nknee pain\tmy knees\t@hurting\nhip pain\tmy hips\t@aching\n"
    monkeypatch.setattr(pipeline, "_vocab_text", lambda name: text)
    pipeline.event_phrases.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"line 3: @aching is not a named list"):
            pipeline.event_phrases()
    finally:
        monkeypatch.undo()
        pipeline.event_phrases.cache_clear()


def test_a_mistake_in_a_vocabulary_names_its_file_and_line(monkeypatch):
    from fms_pipeline.nlp import drug_lexicon

    text = "# a comment\nnausea\tR11.0\tnausea | sick to my {stomach\n"
    monkeypatch.setattr(drug_lexicon, "_vocab_text", lambda name: text)
    with pytest.raises(ValueError, match=r"vocab/adverse_events.tsv line 2: unbalanced braces"):
        list(drug_lexicon._vocabulary_rows("adverse_events.tsv"))
