"""Sentence and comment sentiment: VADER, the standard lexicon for social-media text, adjusted
for this domain.

VADER misreads patient writing in three ways that matter here: drug names such as "pain meds"
contain feeling words ("NO PAIN MEDS WORK ON ME" scored +0.55, because VADER reads "no pain" as
relief); words like "helped" and "work" are missing from its lexicon; and a sentence that
reports a drug failing, side effects, withdrawal or losing access is bad news however it is
worded. So drug mentions are neutralised before scoring (``outcomes.neutral_drug_text``), a
domain lexicon (``vocab/sentiment_lexicon.tsv``) is added, and the outcomes found in a sentence
set its sign.

``polarities(texts)`` scores a batch with VADER's own lexicon and rules as array operations
(``VaderScorer``), giving exactly VADER's numbers several times faster.

Where the rating-trained regressor is shipped (``models/review_sentiment.npz``, see
``reviews.train_sentiment``), a sentence's sentiment is its score instead: VADER's scores and
the outcome classifier's probabilities are among its inputs, and on held-out DrugLib reviews a
comment's mean follows the reviewer's rating at Spearman 0.59 against VADER's 0.29. The rule
outcomes it cannot see (access loss, a negated drug that does not work) then set only its sign
(``signed``); without the regressor, ``adjusted`` shifts VADER's compound as before.
"""

from __future__ import annotations

import sys
from functools import cache
from importlib import resources

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from fms_pipeline import labels

NEGATIVE_OUTCOMES = labels.NEGATIVE_OUTCOMES  # polarity: negative in labels.yml
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


# Word categories VADER's rules test by identity (codes in the token table).
_RULE_WORDS = ("no", "or", "nor", "least", "at", "very", "never", "so", "this", "without", "doubt", "kind", "of",
               "but")
_CODE = {word: code for code, word in enumerate(_RULE_WORDS, start=1)}
TOKEN_CACHE_LIMIT = 400_000
(_NO, _OR, _NOR, _LEAST, _AT, _VERY, _NEVER, _SO, _THIS, _WITHOUT, _DOUBT, _KIND, _OF, _BUT) = range(1, 15)


class VaderScorer:
    """VADER's ``polarity_scores`` for many texts at once, with its own lexicon and rules.

    VADER walks each word in Python and, for every lexicon word, lower-cases the whole
    sentence again (three negation checks and an idiom check each); that was a fifth of the
    NLP's time. Here each distinct whitespace token is looked up once (its stripped form,
    lexicon valence, booster value, ALL-CAPS, negation, rule-word code), the rules run as
    array operations over every lexicon word of a batch, in VADER's order and arithmetic, and
    VADER's own ``score_valence`` turns each sentence's valences into its four scores. Two
    rare cases use VADER's own code for the affected text: emoji (translated to words first)
    and the "but" rule (whose list-index quirk is kept exactly).
    """

    def __init__(self, vader: SentimentIntensityAnalyzer):
        from vaderSentiment.vaderSentiment import BOOSTER_DICT, SPECIAL_CASES

        self.vader = vader
        self.lexicon = vader.lexicon
        self.boosters = BOOSTER_DICT
        self.ids: dict[str, int] = {}
        self._columns: list[list] = [[] for _ in range(7)]
        self._table: tuple[np.ndarray, ...] | None = None
        # Multi-word special cases and boosters ("kiss of death", "kind of") as codes of word pairs/triples.
        phrases = [p for p in SPECIAL_CASES if " " in p] + [p for p in BOOSTER_DICT if " " in p]
        self.phrase_words = {w: i for i, w in enumerate(sorted({w for p in phrases for w in p.split()}), start=1)}
        self._base = len(self.phrase_words) + 1
        b = self._base
        self.pair_special = np.full(b * b, np.nan)
        self.triple_special = np.full(b * b * b, np.nan)
        self.pair_booster = np.full(b * b, np.nan)
        for phrase, value in SPECIAL_CASES.items():
            codes = [self.phrase_words[w] for w in phrase.split()] if " " in phrase else []
            if len(codes) == 2:
                self.pair_special[codes[0] * b + codes[1]] = value
            elif len(codes) == 3:
                self.triple_special[(codes[0] * b + codes[1]) * b + codes[2]] = value
        for phrase, value in BOOSTER_DICT.items():
            codes = [self.phrase_words[w] for w in phrase.split()] if " " in phrase else []
            if len(codes) == 2:
                self.pair_booster[codes[0] * b + codes[1]] = value
            elif codes:
                raise ValueError(f"VADER booster {phrase!r}: only two-word boosters are handled")

    def _token_id(self, token: str) -> int:
        from vaderSentiment.vaderSentiment import NEGATE, SentiText

        item = SentiText._strip_punc_if_word(token)
        lower = item.lower()
        row = (
            self.lexicon.get(lower, 0.0), lower in self.lexicon, self.boosters.get(lower, 0.0),
            lower in self.boosters, item.isupper(), lower in NEGATE or "n't" in lower, _CODE.get(lower, 0),
        )
        for column, value in zip(self._columns, row):
            column.append(value)
        self._columns[6][-1] = row[6] | (self.phrase_words.get(lower, 0) << 8)
        self.ids[token] = len(self.ids)
        self._table = None
        return self.ids[token]

    def table(self) -> tuple[np.ndarray, ...]:
        if self._table is None:
            valence, in_lexicon, booster, is_booster, upper, negates, codes = self._columns
            codes = np.array(codes, dtype=np.int64)
            self._table = (np.array(valence, dtype=np.float64), np.array(in_lexicon, dtype=bool),
                           np.array(booster, dtype=np.float64), np.array(is_booster, dtype=bool),
                           np.array(upper, dtype=bool), np.array(negates, dtype=bool), codes & 0xFF, codes >> 8)
        return self._table

    def scores(self, texts: list[str]) -> np.ndarray:
        """(n, 4) array of VADER's neg, neu, pos, compound for each text."""
        from vaderSentiment.vaderSentiment import SentiText

        out = np.zeros((len(texts), 4))
        if not texts:
            return out
        if len(self.ids) > TOKEN_CACHE_LIMIT:
            self.ids.clear()
            self._columns = [[] for _ in self._columns]
            self._table = None
        emojis = self.vader.emojis
        special = {i for i, t in enumerate(texts) if not t.isascii() and any(c in emojis for c in t)}
        split = [t.split() for t in texts]
        for i in special:
            split[i] = []
        ids = self.ids
        flat = [ids[w] if w in ids else self._token_id(w) for words in split for w in words]
        lengths = np.fromiter((len(w) for w in split), dtype=np.int64, count=len(split))
        valence = self._valences(np.array(flat, dtype=np.int64), lengths)
        ends = np.cumsum(lengths)
        starts = ends - lengths
        codes = self.table()[6][np.array(flat, dtype=np.int64)] if flat else np.zeros(0, dtype=np.int64)
        has_but = np.zeros(len(texts), dtype=bool)
        if flat:
            but_at = np.flatnonzero(codes == _BUT)
            has_but[np.searchsorted(ends, but_at, side="right")] = True
        # Each sentence's nonzero valences in order, one column per rank (zeros change no sum).
        nonzero = np.flatnonzero(valence)
        sentence_of = np.searchsorted(ends, nonzero, side="right")
        count = np.bincount(sentence_of, minlength=len(texts))
        rank = np.arange(len(nonzero)) - (np.cumsum(count) - count)[sentence_of]
        ranked = np.zeros((len(texts), int(count.max()) if len(nonzero) else 0))
        ranked[sentence_of, rank] = valence[nonzero]
        punctuation = np.array([_punctuation_emphasis(t) for t in texts])
        out = _score_valence(ranked, lengths - count, punctuation)
        out[(lengths > 0) & (count == 0)] = (0.0, 1.0, 0.0, 0.0)
        out[lengths == 0] = 0.0
        # VADER's "but" rule (its list-index quirk included) and emoji: VADER's own code.
        for i in np.flatnonzero(has_but & (count > 0)).tolist():
            words = [SentiText._strip_punc_if_word(w) for w in split[i]]
            sentiments = self.vader._but_check(words, valence[starts[i]:ends[i]].tolist())
            result = self.vader.score_valence(sentiments, texts[i].strip())
            out[i] = (result["neg"], result["neu"], result["pos"], result["compound"])
        for i in special:
            result = self.vader.polarity_scores(texts[i])
            out[i] = (result["neg"], result["neu"], result["pos"], result["compound"])
        return out

    def _valences(self, flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Each word's valence as ``SentimentIntensityAnalyzer.sentiment_valence`` gives it."""
        from vaderSentiment.vaderSentiment import C_INCR, N_SCALAR

        total = len(flat)
        result = np.zeros(total)
        if not total:
            return result
        lexicon_valence, in_lexicon, booster, is_booster, upper, negates, code, phrase = (
            column[flat] for column in self.table())
        sentence = np.repeat(np.arange(len(lengths)), lengths)
        position = np.arange(total) - (np.cumsum(lengths) - lengths)[sentence]
        length = lengths[sentence]
        caps = np.bincount(sentence, weights=upper, minlength=len(lengths))
        cap_diff = ((caps > 0) & (caps < lengths))[sentence]

        def at(array, i, offset, fill):
            """array[i + offset] where it lies in i's sentence, else fill."""
            j = i + offset
            inside = (position[i] + offset >= 0) & (position[i] + offset < length[i])
            return np.where(inside, array[np.clip(j, 0, total - 1)], fill)

        # Boosters and "kind" before "of" are 0; other lexicon words are scored.
        kind_of = (code == _KIND) & (at(code, np.arange(total), 1, 0) == _OF)
        i = np.flatnonzero(in_lexicon & ~is_booster & ~kind_of)
        if not len(i):
            return result
        v = lexicon_valence[i].copy()
        diff = cap_diff[i]
        code_before = {k: at(code, i, -k, 0) for k in (1, 2, 3)}
        v = np.where((code[i] == _NO) & at(in_lexicon, i, 1, False), 0.0, v)
        no_before = ((code_before[1] == _NO) | (code_before[2] == _NO)
                     | ((code_before[3] == _NO) & np.isin(code_before[1], (_OR, _NOR))))
        v = np.where(no_before, lexicon_valence[i] * N_SCALAR, v)
        v = np.where(upper[i] & diff, np.where(v > 0, v + C_INCR, v - C_INCR), v)
        so_or_this = {k: np.isin(code_before[k], (_SO, _THIS)) for k in (1, 2)}
        for start in range(3):
            k = start + 1
            gate = (position[i] > start) & ~at(in_lexicon, i, -k, True)
            j = np.clip(i - k, 0, total - 1)
            scalar = np.where(v < 0, -booster[j], booster[j])
            scalar = np.where(upper[j] & diff, np.where(v > 0, scalar + C_INCR, scalar - C_INCR), scalar)
            scalar = np.where(is_booster[j], scalar, 0.0)
            if start == 1:
                scalar = np.where(scalar != 0, scalar * 0.95, scalar)
            elif start == 2:
                scalar = np.where(scalar != 0, scalar * 0.9, scalar)
            v = np.where(gate, v + scalar, v)
            if start == 0:
                negate, amplify, keep = negates[j], np.zeros(len(i), bool), np.zeros(len(i), bool)
            elif start == 1:
                amplify = (code_before[2] == _NEVER) & so_or_this[1]
                keep = (code_before[2] == _WITHOUT) & (code_before[1] == _DOUBT)
                negate = negates[j]
            else:
                amplify = ((code_before[3] == _NEVER) & so_or_this[2]) | so_or_this[1]
                keep = (code_before[3] == _WITHOUT) & ((code_before[2] == _DOUBT) | (code_before[1] == _DOUBT))
                negate = negates[j]
            v = np.where(gate & amplify, v * 1.25, v)
            v = np.where(gate & ~amplify & ~keep & negate, v * N_SCALAR, v)
            if start == 2:
                v = np.where(gate, self._idioms(v, i, phrase, at), v)
        # "least" before the word negates it, unless "at least" / "very least".
        least_before = ~at(in_lexicon, i, -1, True) & (code_before[1] == _LEAST)
        far = (position[i] > 1) & least_before
        v = np.where(far & ~np.isin(code_before[2], (_AT, _VERY)), v * N_SCALAR, v)
        v = np.where(~far & (position[i] > 0) & least_before, v * N_SCALAR, v)
        result[i] = v
        return result

    def _idioms(self, v: np.ndarray, i: np.ndarray, phrase: np.ndarray, at) -> np.ndarray:
        """``_special_idioms_check`` (only reached for words at position 3 or later)."""
        b = self._base
        p = {k: at(phrase, i, k, 0) for k in (-3, -2, -1, 0, 1, 2)}
        pair = lambda x, y: self.pair_special[p[x] * b + p[y]]  # noqa: E731
        triple = lambda x, y, z: self.triple_special[(p[x] * b + p[y]) * b + p[z]]  # noqa: E731
        # First match among (i-1 i), (i-2 i-1 i), (i-2 i-1), (i-3 i-2 i-1), (i-3 i-2).
        found = np.full(len(i), np.nan)
        for value in (pair(-1, 0), triple(-2, -1, 0), pair(-2, -1), triple(-3, -2, -1), pair(-3, -2)):
            found = np.where(np.isnan(found), value, found)
        v = np.where(np.isnan(found), v, found)
        # (i i+1), then (i i+1 i+2), where those words exist (their code is 0 outside the sentence).
        for value in (pair(0, 1), triple(0, 1, 2)):
            v = np.where(np.isnan(value), v, value)
        for value in (self.pair_booster[p[-3] * b + p[-2]], self.pair_booster[p[-2] * b + p[-1]]):
            v = np.where(np.isnan(value), v, v + value)
        return v


def _punctuation_emphasis(text: str) -> float:
    """``SentimentIntensityAnalyzer._punctuation_emphasis``: "!" (up to 4) and "??"+ add emphasis."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer as Vader

    return Vader._amplify_ep(text) + Vader._amplify_qm(text)


def _python_sum(columns: np.ndarray) -> np.ndarray:
    """Row sums as Python's ``sum()`` of the row's floats gives them: left to right before
    Python 3.12, with Neumaier's compensation since (the same last bits, so the same rounding)."""
    total = np.zeros(columns.shape[0])
    if sys.version_info < (3, 12):
        for column in columns.T:
            total = total + column
        return total
    compensation = np.zeros(columns.shape[0])
    for x in columns.T:
        t = total + x
        compensation += np.where(np.abs(total) >= np.abs(x), (total - t) + x, (x - t) + total)
        total = t
    finite = np.isfinite(compensation) & (compensation != 0)
    return np.where(finite, total + compensation, total)


def _score_valence(ranked: np.ndarray, neutral: np.ndarray, punctuation: np.ndarray) -> np.ndarray:
    """``SentimentIntensityAnalyzer.score_valence`` for many sentences: ``ranked`` holds each
    sentence's nonzero valences in order (zero-padded), ``neutral`` its count of zeros."""
    total = _python_sum(ranked)
    total = np.where(total > 0, total + punctuation, np.where(total < 0, total - punctuation, total))
    compound = np.clip(total / np.sqrt(total * total + 15), -1.0, 1.0)
    positive = np.zeros(len(ranked))
    negative = np.zeros(len(ranked))
    for column in ranked.T:  # VADER adds these one by one, in order
        positive = positive + np.where(column > 0, column + 1, 0.0)
        negative = negative + np.where(column < 0, column - 1, 0.0)
    positive = np.where(positive > np.abs(negative), positive + punctuation, positive)
    negative = np.where(positive < np.abs(negative), negative - punctuation, negative)
    with np.errstate(invalid="ignore", divide="ignore"):
        denominator = positive + np.abs(negative) + neutral
        scores = np.abs(np.column_stack([negative, neutral, positive]) / denominator[:, None])
    # Python's round() (correctly rounded in decimal), as VADER rounds.
    rounded = [(round(n, 3), round(u, 3), round(p, 3), round(c, 4))
               for n, u, p, c in zip(*scores.T.tolist(), compound.tolist())]
    return np.array(rounded, dtype=np.float64).reshape(len(ranked), 4)


@cache
def scorer() -> VaderScorer:
    return VaderScorer(analyzer())


def polarities(texts: list[str]) -> np.ndarray:
    """VADER's (neg, neu, pos, compound) for each text, as ``analyzer().polarity_scores`` gives them."""
    return scorer().scores(list(texts))


def polarity(text: str) -> dict[str, float]:
    """VADER's scores for one text, as ``analyzer().polarity_scores(text)`` gives them."""
    neg, neu, pos, compound = polarities([text])[0].tolist()
    return {"neg": neg, "neu": neu, "pos": pos, "compound": compound}


SIGN_MARGIN = 0.1


def signed(score: float, outcome_labels: set[str]) -> float:
    """A score given the sign its outcomes say: at most -0.1 for only bad outcomes, at least
    +0.1 for only good ones, at most -0.05 for both ("no pain meds work except methadone")."""
    good = "effective" in outcome_labels
    bad = bool(outcome_labels & NEGATIVE_OUTCOMES)
    if bad and not good:
        return min(score, -SIGN_MARGIN)
    if good and not bad:
        return max(score, SIGN_MARGIN)
    if good and bad:
        return min(score, -SIGN_MARGIN / 2)
    return score


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
