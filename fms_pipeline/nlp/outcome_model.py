"""Sentence classifier for drug outcomes, trained on PsyTAR (CC BY 4.0, Zolnoori et al. 2019).

Features of a sentence (all computed from the spaCy doc our pipeline already made):

* word 1-2 grams, with drug names replaced by ``drugname`` and words after a negation marked
  ``neg_`` up to the next clause break ("did not help" -> ``neg_help``), hashed in numpy from
  spaCy's 64-bit string hashes of the tokens;
* character 2-5 grams inside tokens (misspellings: "withdrawl", "sexul"), hashed as
  scikit-learn's ``HashingVectorizer(analyzer="char_wb")`` does (MurmurHash3 of the UTF-8 n-gram,
  ``abs(h) % N_FEATURES``), once per distinct word, without importing scikit-learn (1.6 s of CPU
  at start-up, via SciPy's statistics and pandas);
* counts of outcome cue phrases (``vocab/outcome_cues.tsv``), of symptom mentions, a
  negation flag and VADER scores.

Everything is computed from whole-doc token arrays (``doc.to_array``), not token by token.

The model is a logistic regression per label over hashed features, so what is saved is
plain arrays (``models/outcome_classifier.npz``), no pickled objects, and loading it does not
depend on the scikit-learn version. ``fms-pipeline train-outcomes`` rebuilds it from the
PsyTAR files in ``data/psytar/`` and the weak labels of the DrugLib reviews not held back
(``weak_labels.py``; each label's weight, penalty and threshold chosen by cross-validation there).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from murmurhash import hash as _murmurhash3_32  # spaCy's own dependency: MurmurHash3_x86_32, signed
from scipy import sparse
from spacy.attrs import ENT_IOB, ENT_TYPE, IS_SPACE, LOWER
from spacy.strings import hash_string
from spacy.tokens import Span

PSYTAR_LABELS = {"EF": "effective", "INF": "ineffective", "ADR": "adverse_effect", "WD": "withdrawal"}
MODEL_LABELS = tuple(PSYTAR_LABELS.values())
_EFFECTIVE, _INEFFECTIVE = MODEL_LABELS.index("effective"), MODEL_LABELS.index("ineffective")
CUE_LABELS = ("effective", "ineffective", "adverse_effect", "withdrawal", "access_loss")
N_FEATURES = 2**18
CUE_WEIGHT = 3.0
REGULARISATION_C = 10.0  # liblinear's C when none is chosen per label
# The classifier's ineffective counts only where its effective probability is below this. Chosen on the
# out-of-fold probabilities of the shipped settings (5-fold CV on the PsyTAR training sentences, events6):
# ineffective F1 with the rules 0.474 (none) -> 0.481 (0.45), 0.481 (0.5), 0.484 (0.55), 0.480 (0.6);
# ineffective found in the training reviews rated Ineffective 59.4% -> 58.4%. ``evaluation.choose`` does
# not choose it again.
INEFFECTIVE_UNLESS_EFFECTIVE = 0.55
NEGATIONS = frozenset(
    {"no", "not", "never", "nothing", "none", "without", "nor", "cannot", "n't", "nt", "hardly", "dont", "didnt",
     "doesnt", "isnt", "wasnt", "wont", "cant", "couldnt", "wouldnt", "havent", "hasnt", "arent", "werent"}
)
CLAUSE_BREAKS = frozenset(set(".,;:!?") | {"but", "however", "although", "though", "except", "yet"})

_WHITE_SPACES = re.compile(r"\s\s+")
_WORD_NGRAM_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # lower-case hash -> (columns, counts)
_WORD_NGRAM_CACHE_LIMIT = 500_000
_NEGATED_SALT = np.uint64(0x9E3779B97F4A7C15)
_BIGRAM_SALT = np.uint64(0xC2B2AE3D27D4EB4F)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a well-spread 64-bit hash of 64-bit keys, vectorised."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def char_wb_counts(text: str) -> tuple[np.ndarray, np.ndarray]:
    """(sorted columns, counts) of the character 2-5-grams of ``text``, as scikit-learn's
    ``HashingVectorizer(n_features=N_FEATURES, analyzer="char_wb", ngram_range=(2, 5),
    alternate_sign=False, norm=None)`` gives them (a test holds the two equal)."""
    grams = []
    for w in _WHITE_SPACES.sub(" ", text.lower()).split():
        w = f" {w} "
        for n in range(2, 6):
            grams += [w[i:i + n] for i in range(max(1, len(w) - n + 1))]
            if len(w) <= n:  # a short word's only n-gram, counted once
                break
    if not grams:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64)
    signed = np.fromiter((_murmurhash3_32(g) for g in grams), dtype=np.int64, count=len(grams))
    columns, counts = np.unique(np.abs(signed) % N_FEATURES, return_counts=True)
    return columns.astype(np.int32), counts.astype(np.float64)


def _char_ngrams(strings, hashes: np.ndarray) -> sparse.csr_matrix:
    """(len(hashes), N_FEATURES) character 2-5-gram counts of each word, from a per-process
    cache: each distinct word is hashed once."""
    new = [h for h in hashes.tolist() if h not in _WORD_NGRAM_CACHE]
    if new:
        if len(_WORD_NGRAM_CACHE) + len(new) > _WORD_NGRAM_CACHE_LIMIT:
            _WORD_NGRAM_CACHE.clear()
            new = hashes.tolist()
        for h in new:
            _WORD_NGRAM_CACHE[h] = char_wb_counts(strings[h])
    cached = [_WORD_NGRAM_CACHE[h] for h in hashes.tolist()]
    lengths = np.fromiter((len(c[0]) for c in cached), dtype=np.int64, count=len(cached))
    indptr = np.zeros(len(cached) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    if not cached:
        return sparse.csr_matrix((0, N_FEATURES))
    return sparse.csr_matrix(
        (np.concatenate([c[1] for c in cached]), np.concatenate([c[0] for c in cached]), indptr),
        shape=(len(cached), N_FEATURES),
    )


def model_path() -> Path:
    return Path(str(resources.files("fms_pipeline.nlp").joinpath("models", "outcome_classifier.npz")))


N_DENSE = len(CUE_LABELS) + 5
_DRUG_LABEL_HASHES = np.array([hash_string(label) for label in ("DRUG", "DRUG_CLASS")], dtype=np.uint64)
_SYMPTOM_LABEL_HASHES = np.array([hash_string(label) for label in ("SYMPTOM", "CONDITION")], dtype=np.uint64)
_DRUGNAME_KEY = np.uint64(hash_string("drugname"))
# lower-case hash -> (classifier word's hash, is a clause break, negates in marked_words, counts in dense_features)
_WORD_INFO: dict[int, tuple[int, bool, bool, bool]] = {}


def _word_info(strings, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct lower-case hash, once per process, what ``marked_words`` and
    ``dense_features`` test about the word: (index of each token's word, the word keys, flags)."""
    unique, inverse = np.unique(hashes, return_inverse=True)
    rows = []
    for h in unique.tolist():
        info = _WORD_INFO.get(h)
        if info is None:
            word = strings[h].replace("’", "'")
            info = (hash_string(word), word in CLAUSE_BREAKS,
                    word in NEGATIONS or word.replace("'", "") in NEGATIONS, word in NEGATIONS)
            _WORD_INFO[h] = info
        rows.append(info)
    keys = np.array([r[0] for r in rows], dtype=np.uint64)
    flags = np.array([r[1:] for r in rows], dtype=bool).reshape(len(rows), 3)
    return inverse.reshape(-1), keys, flags


def _token_table(sentences: list[Span]) -> tuple[np.ndarray, np.ndarray]:
    """(lower-case hash, entity IOB, entity label hash, is-space) of every token of the
    sentences, concatenated, and each sentence's (start, end) row in that table."""
    arrays: dict[int, tuple[int, np.ndarray]] = {}
    offset = 0
    starts, ends = [], []
    for sentence in sentences:
        doc = sentence.doc
        if id(doc) not in arrays:
            arrays[id(doc)] = (offset, doc.to_array([LOWER, ENT_IOB, ENT_TYPE, IS_SPACE]).reshape(-1, 4))
            offset += len(doc)
        starts.append(arrays[id(doc)][0] + sentence.start)
        ends.append(arrays[id(doc)][0] + sentence.end)
    if not offset:
        return np.zeros((0, 4), dtype=np.uint64), np.zeros((len(sentences), 2), dtype=np.int64)
    whole = np.concatenate([array for _, array in arrays.values()])
    starts_, ends_ = np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)
    lengths = ends_ - starts_
    # The rows of every sentence, in order: ranges concatenated without a loop.
    rows = np.arange(lengths.sum()) + np.repeat(starts_ - (np.cumsum(lengths) - lengths), lengths)
    new_starts = np.cumsum(lengths) - lengths
    return whole[rows], np.column_stack([new_starts, new_starts + lengths])


def sentence_counts(sentences: list[Span]) -> tuple[sparse.csr_matrix, sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Hashed word 1-2-gram counts (the words of ``marked_words``), hashed character 2-5-gram
    counts of the tokens, the ``dense_features`` negation flag and the number of symptom and
    condition mentions of each sentence.

    All from token arrays (``doc.to_array``): the negation scope (after a negation word, up to
    a clause break) is found with a running maximum, words and word pairs are hashed as
    64-bit keys (spaCy's string hashes) in numpy, and a word's character n-grams are hashed
    once per process.
    """
    n = len(sentences)
    if not n:
        empty = sparse.csr_matrix((0, N_FEATURES))
        return empty, empty, np.zeros(0), np.zeros(0)
    table, bounds = _token_table(sentences)
    strings = sentences[0].doc.vocab.strings
    inverse, keys, flags = _word_info(strings, table[:, 0])
    iob, space = table[:, 1], table[:, 3].astype(bool)
    drug = np.isin(table[:, 2], _DRUG_LABEL_HASHES)
    kept = (drug & (iob == 3)) | (~drug & ~space)
    is_break = flags[inverse, 0] & ~drug & kept
    negates = flags[inverse, 1] & ~drug & kept & ~is_break
    events = np.where(negates | is_break, np.arange(len(table)), -1)
    last = np.maximum.accumulate(np.concatenate([[-1], events[:-1]]))
    sentence_of = np.repeat(np.arange(n), bounds[:, 1] - bounds[:, 0])
    negating = (last >= bounds[sentence_of, 0]) & negates[np.maximum(last, 0)]
    word_keys = np.where(drug, _DRUGNAME_KEY, keys[inverse])
    marked = negating & ~is_break & ~drug & kept
    word_keys = np.where(marked, _mix(word_keys ^ _NEGATED_SALT), word_keys)[kept]
    word_rows = sentence_of[kept]
    unigram = _mix(word_keys)
    pair = np.flatnonzero(word_rows[1:] == word_rows[:-1])
    bigram = _mix(unigram[pair] ^ (word_keys[pair + 1] * _BIGRAM_SALT))
    columns = (np.concatenate([unigram, bigram]) % np.uint64(N_FEATURES)).astype(np.int64)
    rows = np.concatenate([word_rows, word_rows[pair]])
    words = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(n, N_FEATURES))
    # Character n-grams of every token but whitespace, drug names included (misspellings).
    texts = ~space
    unique, token_index = np.unique(table[texts, 0], return_inverse=True)
    occurrences = sparse.csr_matrix((np.ones(len(token_index)), (sentence_of[texts], token_index.reshape(-1))),
                                    shape=(n, len(unique)))
    chars = (occurrences @ _char_ngrams(strings, unique)).tocsr()  # duplicate-free, unsorted (see logged)
    def per_sentence(flag: np.ndarray) -> np.ndarray:
        """Sum of a token flag over each sentence (an empty sentence sums to 0)."""
        return np.add.reduceat(np.concatenate([flag, [0]]), bounds[:, 0]) * (bounds[:, 1] > bounds[:, 0])

    negation = (per_sentence(flags[inverse, 2]) > 0).astype(float)
    symptoms = per_sentence(np.isin(table[:, 2], _SYMPTOM_LABEL_HASHES) & (iob == 3)).astype(float)
    return words, chars, negation, symptoms


@dataclass
class SentenceFeatures:
    words: sparse.csr_matrix  # (n, N_FEATURES) hashed word 1-2-gram counts
    chars: sparse.csr_matrix  # (n, N_FEATURES) hashed character 2-5-gram counts
    dense: np.ndarray  # (n, N_DENSE) cue counts, symptom count, negation, VADER
    compound: np.ndarray | None = None  # (n,) VADER's compound score, float64 (dense holds it as float32)
    # chars is a matrix product (``sentence_counts``): one entry per column in a row, in no order.
    # log(1 + count) needs no sort then; scipy's astype would sort it (11 ms of a batch of 256
    # texts, 0.4 without).
    chars_duplicate_free: bool = False
    _logged: dict = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return self.dense.shape[0]

    def logged(self, name: str) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """log(1 + count) of the "words" or "chars" counts and its square, computed once for
        every model that scores these features."""
        if name not in self._logged:
            counts = getattr(self, name).tocsr()
            if not ((name == "chars" and self.chars_duplicate_free) or counts.has_canonical_format):
                counts = counts.copy()
                counts.sum_duplicates()
            values = np.log1p(counts.data.astype(np.float32))
            self._logged[name] = tuple(sparse.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)
                                       for data in (values, values**2))
        return self._logged[name]


def _tfidf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    counts = counts.tocsr(copy=True).astype(np.float32)
    counts.data = np.log1p(counts.data)
    weighted = counts @ sparse.diags(idf.astype(np.float32))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1))).ravel()
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ weighted


def design_matrix(features: SentenceFeatures, word_idf: np.ndarray, char_idf: np.ndarray) -> sparse.csr_matrix:
    return sparse.hstack(
        [
            _tfidf(features.words, word_idf),
            _tfidf(features.chars, char_idf),
            sparse.csr_matrix(features.dense * CUE_WEIGHT),
        ],
        format="csr",
    )


def idf_of(counts: sparse.csr_matrix) -> np.ndarray:
    n = counts.shape[0]
    df = np.bincount(counts.tocsc().indices, minlength=counts.shape[1])
    return (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)


def _tfidf_scores(logged: tuple[sparse.csr_matrix, sparse.csr_matrix], idf_times_coef: np.ndarray,
                  idf_squared: np.ndarray) -> np.ndarray:
    """``_tfidf(counts, idf) @ coef.T`` without building the weighted matrix: the idf is folded
    into the coefficients and the row norms come from the squared idf (``logged``: the counts'
    log(1 + count) and its square, ``SentenceFeatures.logged``)."""
    values, squared = logged
    norms = np.sqrt(squared @ idf_squared)
    norms[norms == 0] = 1.0
    return (values @ idf_times_coef) / norms[:, None]


@dataclass
class OutcomeClassifier:
    word_idf: np.ndarray
    char_idf: np.ndarray
    coef: np.ndarray  # (labels, features)
    intercept: np.ndarray
    thresholds: np.ndarray
    regularisation: np.ndarray  # liblinear's C per label, chosen by cross-validation

    def __post_init__(self) -> None:
        word, char = self.coef[:, :N_FEATURES], self.coef[:, N_FEATURES:2 * N_FEATURES]
        self._word = (np.ascontiguousarray((word * self.word_idf).T), self.word_idf**2)
        self._char = (np.ascontiguousarray((char * self.char_idf).T), self.char_idf**2)
        self._dense = np.ascontiguousarray(self.coef[:, 2 * N_FEATURES:].T * CUE_WEIGHT)

    def probabilities(self, features: SentenceFeatures) -> np.ndarray:
        """Per sentence and label, the probability; the same as ``design_matrix(...) @ coef.T``
        through the logistic function, computed label-wise without the design matrix."""
        if not len(features):
            return np.zeros((0, len(MODEL_LABELS)))
        scores = (
            _tfidf_scores(features.logged("words"), *self._word)
            + _tfidf_scores(features.logged("chars"), *self._char)
            + features.dense @ self._dense
            + self.intercept
        )
        return 1.0 / (1.0 + np.exp(-scores))

    def predict(self, features: SentenceFeatures) -> np.ndarray:
        return self.labelled(self.probabilities(features))

    def labelled(self, probabilities: np.ndarray) -> np.ndarray:
        """The labels of these probabilities: each at its threshold, and ``ineffective`` only where
        ``effective`` is below ``INEFFECTIVE_UNLESS_EFFECTIVE`` ("Zoloft helped me a great deal, really
        helped me get out of a deep depression": depression words pull ineffective up)."""
        predicted = probabilities >= self.thresholds
        predicted[:, _INEFFECTIVE] &= probabilities[:, _EFFECTIVE] < INEFFECTIVE_UNLESS_EFFECTIVE
        return predicted

    def save(self, path: Path, info: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path, word_idf=self.word_idf.astype(np.float16), char_idf=self.char_idf.astype(np.float16),
            coef=self.coef.astype(np.float16), intercept=self.intercept, thresholds=self.thresholds,
            regularisation=self.regularisation, info=np.array(json.dumps(info)),
        )

    @classmethod
    def load(cls, path: Path) -> OutcomeClassifier:
        with np.load(path) as data:
            return cls(
                data["word_idf"].astype(np.float32), data["char_idf"].astype(np.float32),
                data["coef"].astype(np.float32), data["intercept"], data["thresholds"],
                data["regularisation"] if "regularisation" in data
                else np.full(len(data["thresholds"]), REGULARISATION_C),
            )


@dataclass
class SentimentRegressor:
    """Sentence sentiment (-1..1) as a linear function of the classifier's features and its
    outcome probabilities, fitted so that a comment's mean follows its writer's rating
    (``reviews.train_sentiment``, DrugLib reviews)."""

    word_idf: np.ndarray
    char_idf: np.ndarray
    coef: np.ndarray  # (2 * N_FEATURES + N_DENSE + len(MODEL_LABELS),)
    intercept: float

    def __post_init__(self) -> None:
        word, char = self.coef[:N_FEATURES], self.coef[N_FEATURES:2 * N_FEATURES]
        self._word = (np.ascontiguousarray((word * self.word_idf)[:, None]), self.word_idf**2)
        self._char = (np.ascontiguousarray((char * self.char_idf)[:, None]), self.char_idf**2)
        self._dense = self.coef[2 * N_FEATURES:2 * N_FEATURES + N_DENSE] * CUE_WEIGHT
        self._outcomes = self.coef[2 * N_FEATURES + N_DENSE:]

    def scores(self, features: SentenceFeatures, outcome_probabilities: np.ndarray) -> np.ndarray:
        if not len(features):
            return np.zeros(0)
        raw = (_tfidf_scores(features.logged("words"), *self._word)[:, 0]
               + _tfidf_scores(features.logged("chars"), *self._char)[:, 0]
               + features.dense @ self._dense + outcome_probabilities @ self._outcomes + self.intercept)
        return np.clip(raw, -1.0, 1.0)

    def save(self, path: Path, info: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, word_idf=self.word_idf.astype(np.float16), char_idf=self.char_idf.astype(np.float16),
                            coef=self.coef.astype(np.float16), intercept=np.array(self.intercept),
                            info=np.array(json.dumps(info)))

    @classmethod
    def load(cls, path: Path) -> SentimentRegressor:
        with np.load(path) as data:
            return cls(data["word_idf"].astype(np.float32), data["char_idf"].astype(np.float32),
                       data["coef"].astype(np.float32), float(data["intercept"]))


def sentiment_design(features: SentenceFeatures, outcome_probabilities: np.ndarray, word_idf: np.ndarray,
                     char_idf: np.ndarray) -> sparse.csr_matrix:
    """The regressor's input: ``SentimentRegressor.scores`` is this matrix times its coefficients."""
    return sparse.hstack([design_matrix(features, word_idf, char_idf), sparse.csr_matrix(outcome_probabilities)],
                         format="csr")


def sentiment_model_path() -> Path:
    return Path(str(resources.files("fms_pipeline.nlp").joinpath("models", "review_sentiment.npz")))


@cache
def load_sentiment_model() -> SentimentRegressor | None:
    path = sentiment_model_path()
    return SentimentRegressor.load(path) if path.exists() else None


@cache
def load_classifier() -> OutcomeClassifier | None:
    path = model_path()
    return OutcomeClassifier.load(path) if path.exists() else None


# --- training and evaluation on PsyTAR -------------------------------------------------


def read_psytar(path: Path) -> tuple[list[str], np.ndarray]:
    """Sentences and their (n, 4) 0/1 labels in MODEL_LABELS order; a CSV reader, tab-separated."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows or "sentences" not in rows[0]:
        raise ValueError(f"{path}: expected a tab-separated file with a 'sentences' column")
    texts = [(r["sentences"] or "").strip() for r in rows]
    labels = np.array([[int((r.get(col) or "0").strip() or 0) for col in PSYTAR_LABELS] for r in rows])
    return texts, labels


def fit_label(X: sparse.csr_matrix, labels: np.ndarray, C: float,
              weights: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """(coefficients, intercept) of one label's logistic regression; rows of weight 0 are left out."""
    from sklearn.linear_model import LogisticRegression

    if weights is not None:
        rows = np.flatnonzero(weights > 0)
        X, labels, weights = X[rows], labels[rows], weights[rows]
    model = LogisticRegression(C=C, max_iter=3000, class_weight="balanced", solver="liblinear")
    model.fit(X, labels, sample_weight=weights)
    return model.coef_[0], float(model.intercept_[0])


def fit(features: SentenceFeatures, labels: np.ndarray, thresholds: Sequence[float] | None = None,
        regularisation: Sequence[float] | None = None, weights: np.ndarray | None = None) -> OutcomeClassifier:
    """One logistic regression per label; ``weights`` (n, labels): each row's weight in each
    label's fit (0: the row says nothing about that label), default 1."""
    word_idf, char_idf = idf_of(features.words), idf_of(features.chars)
    X = design_matrix(features, word_idf, char_idf)
    coefs, intercepts = [], []
    for j in range(labels.shape[1]):
        C = float(regularisation[j]) if regularisation is not None else REGULARISATION_C
        coef, intercept = fit_label(X, labels[:, j], C, None if weights is None else weights[:, j])
        coefs.append(coef)
        intercepts.append(intercept)
    return OutcomeClassifier(
        word_idf, char_idf, np.array(coefs, dtype=np.float32), np.array(intercepts),
        np.array(thresholds if thresholds is not None else [0.5] * labels.shape[1]),
        np.array(regularisation if regularisation is not None else [REGULARISATION_C] * labels.shape[1], dtype=float),
    )


def binary_scores(gold: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    gold, predicted = gold.astype(bool), predicted.astype(bool)
    tp, fp, fn = int(np.sum(gold & predicted)), int(np.sum(~gold & predicted)), int(np.sum(gold & ~predicted))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "support": int(gold.sum())}


def scores(gold: np.ndarray, predicted: np.ndarray) -> dict[str, dict[str, float]]:
    return {label: binary_scores(gold[:, j], predicted[:, j]) for j, label in enumerate(MODEL_LABELS)}


def subset(features: SentenceFeatures, index: np.ndarray) -> SentenceFeatures:
    compound = features.compound[index] if features.compound is not None else None
    return SentenceFeatures(features.words[index], features.chars[index], features.dense[index], compound)


def concat(parts: Sequence[SentenceFeatures]) -> SentenceFeatures:
    """The rows of several feature sets, in order."""
    compound = (np.concatenate([p.compound for p in parts]) if all(p.compound is not None for p in parts) else None)
    return SentenceFeatures(sparse.vstack([p.words for p in parts], format="csr"),
                            sparse.vstack([p.chars for p in parts], format="csr"),
                            np.concatenate([p.dense for p in parts]), compound)
