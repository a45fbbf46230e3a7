"""Patient drug reviews with the reviewers' own ratings (DrugLib.com, CC BY 4.0; Gräßer et al. 2018):
what the pipeline's sentiment and outcomes say about them, and a rating-trained sentiment model.

A review has three texts (benefits, side effects, comments) and the reviewer's 1-10 rating,
effectiveness label and side-effect label. Measured on the held-back part of the training split
(``HELD_BACK``: reviews whose id is divisible by 5; the rest trains the sentiment model
and gives the outcome classifier its weak labels, ``weak_labels.py``):

* Spearman's correlation between the pipeline's comment sentiment of the whole review and its rating;
* in reviews rated "Ineffective", how often an ``ineffective`` and an ``effective`` outcome is found;
* how often an ``adverse_effect`` outcome is found in side-effect texts rated "No Side Effects",
  and in those rated "Severe" or "Extremely Severe".

An outcome counts as the warehouse's ``drug_outcomes`` counts it: not negated, not hypothetical. Each
text is read as a review table's row is (``doc._.stated_drug``: the review's drug is the subject of the
outcomes that name no other drug), and an outcome counts for the review when it is about the reviewed
drug: "None with Cardura. I switched from Flomax because [it] reduced libido" rates Cardura, and its
adverse effect is Flomax's. The figures counting outcomes about any drug are given beside them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fms_pipeline.nlp.drug_lexicon import canonical_drug, same_drug
from fms_pipeline.parsing.sources.tabular import headed

COLUMNS = ("reviewID", "urlDrugName", "rating", "effectiveness", "sideEffects", "condition", "benefitsReview",
           "sideEffectsReview", "commentsReview")
HELD_BACK_EVERY = 5  # reviews whose id is divisible by this are held back for measuring
SEVERE = ("Severe Side Effects", "Extremely Severe Side Effects")
NO_SIDE_EFFECTS = "No Side Effects"


@dataclass(frozen=True)
class Review:
    review_id: int
    drug: str
    rating: int
    effectiveness: str
    side_effects: str
    condition: str
    benefits: str
    side_effects_text: str
    comments: str

    @property
    def text(self) -> str:
        """The review as one comment: its three texts, one paragraph each."""
        return "\n\n".join(t for t in (self.benefits, self.side_effects_text, self.comments) if t)

    @property
    def held_back(self) -> bool:
        return is_held_back(self.review_id)


def is_held_back(review_id: int) -> bool:
    """Whether the review of this id is held back for measuring (never read, never trained on)."""
    return review_id % HELD_BACK_EVERY == 0


def read_druglib(path: Path) -> list[Review]:
    """The reviews of a DrugLib TSV (tab-separated, quoted fields may span lines)."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter="\t")
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: not a DrugLib review file, missing column(s) {', '.join(missing)}")
        reviews = []
        for number, row in enumerate(reader, start=2):
            try:
                rating, review_id = int(row["rating"]), int(row["reviewID"])
            except (TypeError, ValueError):
                raise ValueError(f"{path} record {number}: reviewID and rating must be whole numbers") from None
            if not 1 <= rating <= 10:
                raise ValueError(f"{path} record {number}: rating {rating} is outside 1-10")
            reviews.append(Review(review_id, row["urlDrugName"], rating, row["effectiveness"], row["sideEffects"],
                                  row["condition"] or "", *((row[c] or "").strip() for c in COLUMNS[6:])))
    return reviews


def split(reviews: list[Review]) -> tuple[list[Review], list[Review]]:
    """(reviews to train on, reviews held back for measuring)."""
    return [r for r in reviews if not r.held_back], [r for r in reviews if r.held_back]


def counted_outcomes(doc, drug: str | None = None) -> set[str]:
    """Outcome labels found in a doc, as ``drug_outcomes`` counts them (not negated, not hypothetical);
    with ``drug``, only those about it, about a drug sharing an ingredient with it ("losartan" in a review
    of Hyzaar) or about no drug."""
    return {s.label_ for s in doc.spans["outcomes"] if not s._.negated and not s._.hypothetical
            and (drug is None or s._.drug is None or same_drug(s._.drug, drug))}


def _stated(nlp, texts_and_drugs):
    """Docs to pipe, each with its review's drug as its stated subject, as the review-table parser gives it."""
    for text, drug in texts_and_drugs:
        doc = nlp.make_doc(text)
        doc._.stated_drug = canonical_drug(drug) if drug else None
        yield doc


JUDGMENTS = ("yes", "no", "unclear")


class NotAmongTheReviews(ValueError):
    """Reviews were read that the measured DrugLib file does not have (another file than the one read)."""


def read_readings(path: Path) -> dict[int, str]:
    """{review id: judgment} of a file of texts read one by one
    (``data/evaluation/druglib_no_side_effects_read.tsv``: ``#`` comment lines, then the columns
    review_id, judgment and kind, tab-separated); judgment is one of ``JUDGMENTS``."""
    readings: dict[int, str] = {}
    header_seen = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if not header_seen:
            if cells[:2] != ["review_id", "judgment"]:
                raise ValueError(f"{path} line {number}: expected the columns review_id, judgment, kind")
            header_seen = True
            continue
        if len(cells) < 2 or not cells[0].isdigit() or cells[1] not in JUDGMENTS:
            raise ValueError(f"{path} line {number}: expected a review id and one of {', '.join(JUDGMENTS)}")
        if int(cells[0]) in readings:
            raise ValueError(f"{path} line {number}: review {cells[0]} is read twice")
        readings[int(cells[0])] = cells[1]
    return readings


def reading_figures(nlp, reviews: list[Review], readings: dict[int, str], heading: str = "") -> dict:
    """How the pipeline's adverse effects of the reviewed drug (as ``measure`` counts them) in the side-effect
    texts of ``reviews`` agree with the readings: every read review must be among them. ``precision``: of the
    texts with an effect found and read yes or no, those read yes; ``recall``: of those read yes, those found.
    ``heading``: put before each text as the review-table parser heads a column's paragraph
    ("Side effects review: ...")."""
    read = [r for r in reviews if r.review_id in readings and r.side_effects_text]
    missing = sorted(set(readings) - {r.review_id for r in read})
    if missing:
        raise NotAmongTheReviews(f"{len(missing)} review(s) read are not among its 'No Side Effects' texts "
                                 f"(first: {', '.join(map(str, missing[:5]))})")
    docs = nlp.pipe(_stated(nlp, ((headed(heading or None, r.side_effects_text), r.drug) for r in read)), batch_size=64)
    found = np.array([("adverse_effect" in counted_outcomes(d, d._.stated_drug)) for d in docs], dtype=bool)
    judged = np.array([readings[r.review_id] for r in read])
    yes, no = judged == "yes", judged == "no"
    hits = int((found & yes).sum())
    return {
        "read_texts": len(read), "reported": int(yes.sum()), "unclear": int((judged == "unclear").sum()),
        "found": int(found.sum()),
        "precision": hits / int((found & (yes | no)).sum()) if (found & (yes | no)).any() else 0.0,
        "recall": hits / int(yes.sum()) if yes.any() else 0.0,
    }


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def measure(nlp, reviews: list[Review], heading: str = "") -> dict:
    """The review figures (module docstring) of the pipeline on these reviews; ``heading``: the side-effect texts'
    shares also with each text headed by it, as a review table's column reaches the pipeline (``_headed``)."""
    docs = list(nlp.pipe(_stated(nlp, ((r.text, r.drug) for r in reviews)), batch_size=64))
    sentiments = np.array([d._.sentiment for d in docs])
    ineffective_reviews = [d for d, r in zip(docs, reviews) if r.effectiveness == "Ineffective"]
    side_texts = [r for r in reviews if r.side_effects_text]
    side_docs = dict(zip([r.review_id for r in side_texts],
                         nlp.pipe(_stated(nlp, ((r.side_effects_text, r.drug) for r in side_texts)), batch_size=64)))
    none = [side_docs[r.review_id] for r in side_texts if r.side_effects == NO_SIDE_EFFECTS]
    severe = [side_docs[r.review_id] for r in side_texts if r.side_effects in SEVERE]

    def share(docs, label: str, any_drug: bool = False) -> float:
        return float(np.mean([label in counted_outcomes(d, None if any_drug else d._.stated_drug)
                              for d in docs])) if docs else 0.0

    headed_shares = {}
    if heading:
        kinds = [r for r in side_texts if r.side_effects == NO_SIDE_EFFECTS or r.side_effects in SEVERE]
        docs_of = list(nlp.pipe(_stated(nlp, ((headed(heading, r.side_effects_text), r.drug) for r in kinds)),
                                batch_size=64))
        headed_shares = {
            "adverse_in_no_side_effects_headed": share(
                [d for d, r in zip(docs_of, kinds) if r.side_effects == NO_SIDE_EFFECTS], "adverse_effect"),
            "adverse_in_severe_headed": share(
                [d for d, r in zip(docs_of, kinds) if r.side_effects in SEVERE], "adverse_effect"),
        }
    return {**headed_shares,
        "reviews": len(reviews),
        "spearman_sentiment_rating": spearman(sentiments, [r.rating for r in reviews]),
        "spearman_vader_rating": spearman([_vader_mean(d) for d in docs], [r.rating for r in reviews]),
        "ineffective_reviews": len(ineffective_reviews),
        "ineffective_in_ineffective": share(ineffective_reviews, "ineffective"),
        "effective_in_ineffective": share(ineffective_reviews, "effective"),
        "no_side_effect_texts": len(none),
        "adverse_in_no_side_effects": share(none, "adverse_effect"),
        "adverse_in_no_side_effects_any_drug": share(none, "adverse_effect", any_drug=True),
        "severe_texts": len(severe),
        "adverse_in_severe": share(severe, "adverse_effect"),
        "adverse_in_severe_any_drug": share(severe, "adverse_effect", any_drug=True),
    }


def _vader_mean(doc) -> float:
    from fms_pipeline.nlp.sentiment import polarities

    sentences = [s.text for s in doc.sents]
    return float(polarities(sentences)[:, 3].mean()) if sentences else 0.0


# --- the rating-trained sentence sentiment -----------------------------------------------

RIDGE_ALPHAS = (0.03, 0.1, 0.3, 1.0)


def sentence_features(nlp, texts: list[str]):
    """(classifier features of every sentence, its outcome probabilities, each sentence's text
    number) of texts run through the pipeline up to the outcome component."""
    from fms_pipeline.nlp.outcomes import by_sentence

    component = nlp.get_pipe("fms_outcomes")
    sentences, cues, owner = [], [], []
    for number, doc in enumerate(nlp.pipe(texts, disable=["fms_outcomes"], batch_size=64)):
        doc_sentences = list(doc.sents)
        sentences += doc_sentences
        cues += by_sentence(doc_sentences, component.cues(doc))
        owner += [number] * len(doc_sentences)
    features = component.sentence_features(sentences, cues, [list(s.ents) for s in sentences])
    probabilities = component.classifier.probabilities(features)
    return features, probabilities, np.array(owner, dtype=np.int64)


def rating_target(ratings) -> np.ndarray:
    """A 1-10 rating on the sentiment scale, -1..1."""
    return (np.asarray(ratings, dtype=float) - 5.5) / 4.5


def _fit_ridge(features, probabilities, owner, n_texts: int, target: np.ndarray, alpha: float):
    from scipy import sparse
    from sklearn.linear_model import Ridge

    from fms_pipeline.nlp import outcome_model

    word_idf, char_idf = outcome_model.idf_of(features.words), outcome_model.idf_of(features.chars)
    X = outcome_model.sentiment_design(features, probabilities, word_idf, char_idf)
    # A comment's sentiment is the mean of its sentences', so fit the mean of their features.
    mean = sparse.csr_matrix((1.0 / np.bincount(owner, minlength=n_texts).clip(1)[owner],
                              (owner, np.arange(len(owner)))), shape=(n_texts, len(owner)))
    model = Ridge(alpha=alpha, solver="auto").fit(mean @ X, target)
    return outcome_model.SentimentRegressor(word_idf, char_idf, model.coef_.astype(np.float32), float(model.intercept_))


def comment_scores(model, features, probabilities, owner, n_texts: int) -> np.ndarray:
    """Each text's mean sentence score (what the pipeline's comment sentiment is before outcomes shift it)."""
    scores = model.scores(features, probabilities)
    return np.bincount(owner, weights=scores, minlength=n_texts) / np.bincount(owner, minlength=n_texts).clip(1)


def train_sentiment(nlp, druglib_file: Path, model_file: Path, folds: int = 5) -> dict:
    """Fit the sentence sentiment regressor on the DrugLib reviews not held back; the ridge
    penalty is the one with the best cross-validated Spearman correlation there."""
    from fms_pipeline.nlp import outcome_model

    train, _ = split(read_druglib(druglib_file))
    features, probabilities, owner = sentence_features(nlp, [r.text for r in train])
    target = rating_target([r.rating for r in train])
    fold_of = np.arange(len(train)) % folds
    cv = {}
    for alpha in RIDGE_ALPHAS:
        predicted = np.zeros(len(train))
        for k in range(folds):
            fit_texts = np.flatnonzero(fold_of != k)
            rows = np.flatnonzero(fold_of[owner] != k)
            test_rows = np.flatnonzero(fold_of[owner] == k)
            renumber = np.full(len(train), -1)
            renumber[fit_texts] = np.arange(len(fit_texts))
            model = _fit_ridge(outcome_model.subset(features, rows), probabilities[rows], renumber[owner[rows]],
                               len(fit_texts), target[fit_texts], alpha)
            test_texts = np.flatnonzero(fold_of == k)
            renumber[test_texts] = np.arange(len(test_texts))
            predicted[test_texts] = comment_scores(model, outcome_model.subset(features, test_rows),
                                                   probabilities[test_rows], renumber[owner[test_rows]],
                                                   len(test_texts))
        cv[alpha] = spearman(predicted, target)
    alpha = max(cv, key=cv.get)
    model = _fit_ridge(features, probabilities, owner, len(train), target, alpha)
    info = {"trained_on": druglib_file.name, "reviews": len(train), "ridge_alpha": alpha,
            "cross_validated_spearman": {str(a): round(v, 4) for a, v in cv.items()},
            "data_credit": "Drug Review Dataset (Druglib.com), Gräßer et al., DH '18, UCI ML Repository, CC BY 4.0"}
    model.save(model_file, info)
    outcome_model.load_sentiment_model.cache_clear()
    return info
