"""Sentence and comment sentiment: VADER, the standard lexicon for social-media text, adjusted
for this domain.

VADER misreads patient writing in three ways that matter here: drug names such as "pain meds"
contain feeling words ("NO PAIN MEDS WORK ON ME" scored +0.55, because VADER reads "no pain" as
relief); words like "helped" and "work" are missing from its lexicon; and a sentence that
reports a drug failing, side effects, withdrawal or losing access is bad news however it is
worded. So drug mentions are neutralised before scoring, a domain lexicon
(``vocab/sentiment_lexicon.tsv``) is added, and the outcomes found in a sentence set its sign.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

NEGATIVE_OUTCOMES = frozenset({"ineffective", "adverse_effect", "withdrawal", "access_loss"})
OUTCOME_SHIFT = 0.5


@cache
def analyzer() -> SentimentIntensityAnalyzer:
    vader = SentimentIntensityAnalyzer()
    text = resources.files("fms_pipeline.nlp").joinpath("vocab", "sentiment_lexicon.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            word, valence = line.split("\t")
            vader.lexicon[word.strip().lower()] = float(valence)
    return vader


_NO_SENTIMENT = {"neg": 0.0, "neu": 1.0, "pos": 0.0, "compound": 0.0}
_NO_WORDS = {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}


def polarity(text: str) -> dict[str, float]:
    """VADER's scores, as ``polarity_scores(text)`` gives them, without its slow paths where
    they cannot change the result: a pure-ASCII text holds no emoji, so its character-by-character
    emoji pass is skipped, and a sentence none of whose words is in the lexicon scores 0
    (VADER's boosters, negations and "but" only scale lexicon words)."""
    from vaderSentiment.vaderSentiment import SentiText

    vader = analyzer()
    if not text.isascii():
        return vader.polarity_scores(text)
    words = text.split()
    if not words:
        return dict(_NO_WORDS)
    if not any(SentiText._strip_punc_if_word(w).lower() in vader.lexicon for w in words):
        return dict(_NO_SENTIMENT)
    return _ascii_polarity(vader, text.strip())


def _ascii_polarity(vader: SentimentIntensityAnalyzer, text: str) -> dict[str, float]:
    """``SentimentIntensityAnalyzer.polarity_scores`` after its emoji pass (a no-op on ASCII)."""
    from vaderSentiment.vaderSentiment import BOOSTER_DICT, SentiText

    sentitext = SentiText(text)
    sentiments: list[float] = []
    words = sentitext.words_and_emoticons
    for i, item in enumerate(words):
        lower = item.lower()
        if lower in BOOSTER_DICT or (i < len(words) - 1 and lower == "kind" and words[i + 1].lower() == "of"):
            sentiments.append(0)
            continue
        sentiments = vader.sentiment_valence(0, sentitext, item, i, sentiments)
    sentiments = vader._but_check(words, sentiments)
    return vader.score_valence(sentiments, text)


def adjusted(compound: float, outcome_labels: set[str]) -> float:
    """VADER's compound score corrected by what the sentence's outcomes say.

    A sentence reporting only bad outcomes is at most -0.5; only good ones at least +0.5;
    both ("no pain meds work except methadone") counts as a complaint, slightly negative.
    """
    good = "effective" in outcome_labels
    bad = bool(outcome_labels & NEGATIVE_OUTCOMES)
    if bad and not good:
        return min(compound, 0.0) * (1 - OUTCOME_SHIFT) - OUTCOME_SHIFT
    if good and not bad:
        return max(compound, 0.0) * (1 - OUTCOME_SHIFT) + OUTCOME_SHIFT
    if good and bad:
        return min(compound, 0.0) * (1 - OUTCOME_SHIFT) - OUTCOME_SHIFT / 2
    return compound


def neutral_drug_text(sentence) -> str:
    """The sentence with drug and drug-class mentions replaced by "medication".

    VADER reads the "pain" of "PAIN MEDS" as a feeling, and "no pain" as relief, so
    "NO PAIN MEDS WORK ON ME" scored +0.55; with the drug neutralised it scores -0.68.
    """
    parts = []
    for token in sentence:
        if token.ent_type_ in ("DRUG", "DRUG_CLASS"):
            if token.ent_iob_ == "B":
                parts.append("medication ")
            continue
        parts.append(token.text_with_ws)
    return "".join(parts)
