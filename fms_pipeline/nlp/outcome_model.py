"""Sentence classifier for drug outcomes, trained on PsyTAR (CC BY 4.0, Zolnoori et al. 2019).

Features of a sentence (all computed from the spaCy doc our pipeline already made):

* word 1-2 grams, with drug names replaced by ``drugname`` and words after a negation marked
  ``neg_`` up to the next clause break ("did not help" -> ``neg_help``);
* character 2-5 grams inside words (misspellings: "withdrawl", "sexul");
* counts of outcome cue phrases (``vocab/outcome_cues.tsv``), of symptom mentions, a
  negation flag and VADER scores.

The model is a logistic regression per label over hashed features, so what is saved is
plain arrays (``models/outcome_classifier.npz``), no pickled objects, and loading it does not
depend on the scikit-learn version. ``fms-pipeline train-outcomes`` rebuilds it from the
PsyTAR files in ``data/psytar/``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from spacy.tokens import Span

PSYTAR_LABELS = {"EF": "effective", "INF": "ineffective", "ADR": "adverse_effect", "WD": "withdrawal"}
MODEL_LABELS = tuple(PSYTAR_LABELS.values())
CUE_LABELS = ("effective", "ineffective", "adverse_effect", "withdrawal", "access_loss")
N_FEATURES = 2**18
CUE_WEIGHT = 3.0
REGULARISATION_C = 10.0
NEGATIONS = frozenset(
    {"no", "not", "never", "nothing", "none", "without", "nor", "cannot", "n't", "nt", "hardly", "dont", "didnt",
     "doesnt", "isnt", "wasnt", "wont", "cant", "couldnt", "wouldnt", "havent", "hasnt", "arent", "werent"}
)
CLAUSE_BREAKS = frozenset(set(".,;:!?") | {"but", "however", "although", "though", "except", "yet"})

_word_hasher = HashingVectorizer(
    n_features=N_FEATURES, analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2),
    alternate_sign=False, norm=None, lowercase=False,
)
_char_hasher = HashingVectorizer(
    n_features=N_FEATURES, analyzer="char_wb", ngram_range=(2, 5), alternate_sign=False, norm=None,
)


# word -> (hashed n-gram columns, counts) of its character n-grams
_WORD_NGRAM_CACHE: dict[str, tuple[np.ndarray, np.ndarray]] = {}
_WORD_NGRAM_CACHE_LIMIT = 500_000


def char_counts(texts: list[str]) -> sparse.csr_matrix:
    """Hashed character 2-5-gram counts, as ``_char_hasher.transform(texts)`` gives them.

    ``char_wb`` n-grams never cross a word boundary, so a text's counts are the sum of its
    words' counts. Words repeat, so each distinct word is hashed once and cached: several
    times faster than hashing every sentence.
    """
    tokenised = [text.lower().split() for text in texts]
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for i, words in enumerate(tokenised):
        for word in words:
            rows.append(i)
            cols.append(vocabulary.setdefault(word, len(vocabulary)))
    if not vocabulary:
        return sparse.csr_matrix((len(texts), N_FEATURES), dtype=np.float64)
    new = [w for w in vocabulary if w not in _WORD_NGRAM_CACHE]
    if new:
        if len(_WORD_NGRAM_CACHE) + len(new) > _WORD_NGRAM_CACHE_LIMIT:
            _WORD_NGRAM_CACHE.clear()
            new = list(vocabulary)
        hashed = _char_hasher.transform(new)
        for k, word in enumerate(new):
            start, end = hashed.indptr[k], hashed.indptr[k + 1]
            _WORD_NGRAM_CACHE[word] = (hashed.indices[start:end], hashed.data[start:end])
    # The batch's words as one CSR matrix, assembled from the cached arrays (no per-row vstack).
    cached = [_WORD_NGRAM_CACHE[w] for w in vocabulary]
    lengths = np.fromiter((len(c[0]) for c in cached), dtype=np.int64, count=len(cached))
    indptr = np.zeros(len(cached) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    per_word = sparse.csr_matrix(
        (np.concatenate([c[1] for c in cached]), np.concatenate([c[0] for c in cached]), indptr),
        shape=(len(cached), N_FEATURES),
    )
    occurrences = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(vocabulary)))
    return (occurrences @ per_word).tocsr()


def model_path() -> Path:
    return Path(str(resources.files("fms_pipeline.nlp").joinpath("models", "outcome_classifier.npz")))


def marked_words(sentence: Span) -> str:
    """The sentence as classifier words: drugs as ``drugname``, negated words as ``neg_word``."""
    words: list[str] = []
    negating = False
    for token in sentence:
        if token.ent_type_ in ("DRUG", "DRUG_CLASS"):
            if token.ent_iob_ == "B":
                words.append("drugname")
            continue
        word = token.lower_.replace("’", "'")
        if token.is_space:
            continue
        if word in CLAUSE_BREAKS:
            negating = False
            words.append(word)
            continue
        words.append("neg_" + word if negating else word)
        if word in NEGATIONS or word.replace("'", "") in NEGATIONS:
            negating = True
    return " ".join(words)


@dataclass
class SentenceFeatures:
    words: list[str]
    chars: list[str]
    dense: np.ndarray  # (n, k) cue counts, symptom count, negation, VADER


def dense_features(sentence: Span, ents: list[Span], cue_counts: dict[str, int], vader: dict[str, float]) -> list[float]:
    symptoms = sum(1 for e in ents if e.label_ in ("SYMPTOM", "CONDITION"))
    negation = any(t.lower_.replace("’", "'") in NEGATIONS for t in sentence)
    return [min(cue_counts.get(label, 0), 3) for label in CUE_LABELS] + [
        min(symptoms, 3), float(negation), vader["compound"], vader["pos"], vader["neg"],
    ]


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
            _tfidf(_word_hasher.transform(features.words), word_idf),
            _tfidf(char_counts(features.chars), char_idf),
            sparse.csr_matrix(features.dense * CUE_WEIGHT),
        ],
        format="csr",
    )


def idf_of(counts: sparse.csr_matrix) -> np.ndarray:
    n = counts.shape[0]
    df = np.bincount(counts.tocsc().indices, minlength=counts.shape[1])
    return (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)


def _tfidf_scores(counts: sparse.csr_matrix, idf_times_coef: np.ndarray, idf_squared: np.ndarray) -> np.ndarray:
    """``_tfidf(counts, idf) @ coef.T`` without building the weighted matrix: the idf is folded
    into the coefficients and the row norms come from the squared idf."""
    logged = counts.tocsr(copy=True).astype(np.float32)
    logged.data = np.log1p(logged.data)
    squared = logged.copy()
    squared.data **= 2
    norms = np.sqrt(squared @ idf_squared)
    norms[norms == 0] = 1.0
    return (logged @ idf_times_coef) / norms[:, None]


@dataclass
class OutcomeClassifier:
    word_idf: np.ndarray
    char_idf: np.ndarray
    coef: np.ndarray  # (labels, features)
    intercept: np.ndarray
    thresholds: np.ndarray

    def __post_init__(self) -> None:
        word, char = self.coef[:, :N_FEATURES], self.coef[:, N_FEATURES:2 * N_FEATURES]
        self._word = (np.ascontiguousarray((word * self.word_idf).T), self.word_idf**2)
        self._char = (np.ascontiguousarray((char * self.char_idf).T), self.char_idf**2)
        self._dense = np.ascontiguousarray(self.coef[:, 2 * N_FEATURES:].T * CUE_WEIGHT)

    def probabilities(self, features: SentenceFeatures) -> np.ndarray:
        """Per sentence and label, the probability; the same as ``design_matrix(...) @ coef.T``
        through the logistic function, computed label-wise without the design matrix."""
        if not features.words:
            return np.zeros((0, len(MODEL_LABELS)))
        scores = (
            _tfidf_scores(_word_hasher.transform(features.words), *self._word)
            + _tfidf_scores(char_counts(features.chars), *self._char)
            + features.dense @ self._dense
            + self.intercept
        )
        return 1.0 / (1.0 + np.exp(-scores))

    def predict(self, features: SentenceFeatures) -> np.ndarray:
        return self.probabilities(features) >= self.thresholds

    def save(self, path: Path, info: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path, word_idf=self.word_idf.astype(np.float16), char_idf=self.char_idf.astype(np.float16),
            coef=self.coef.astype(np.float16), intercept=self.intercept, thresholds=self.thresholds,
            info=np.array(json.dumps(info)),
        )

    @classmethod
    def load(cls, path: Path) -> OutcomeClassifier:
        with np.load(path) as data:
            return cls(
                data["word_idf"].astype(np.float32), data["char_idf"].astype(np.float32),
                data["coef"].astype(np.float32), data["intercept"], data["thresholds"],
            )


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


def fit(features: SentenceFeatures, labels: np.ndarray, thresholds: Sequence[float] | None = None) -> OutcomeClassifier:
    from sklearn.linear_model import LogisticRegression

    word_counts = _word_hasher.transform(features.words)
    word_idf, char_idf = idf_of(word_counts), idf_of(char_counts(features.chars))
    X = design_matrix(features, word_idf, char_idf)
    coefs, intercepts = [], []
    for j in range(labels.shape[1]):
        model = LogisticRegression(C=REGULARISATION_C, max_iter=3000, class_weight="balanced", solver="liblinear")
        model.fit(X, labels[:, j])
        coefs.append(model.coef_[0])
        intercepts.append(model.intercept_[0])
    return OutcomeClassifier(
        word_idf, char_idf, np.array(coefs, dtype=np.float32), np.array(intercepts),
        np.array(thresholds if thresholds is not None else [0.5] * labels.shape[1]),
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
    return SentenceFeatures([features.words[i] for i in index], [features.chars[i] for i in index], features.dense[index])
