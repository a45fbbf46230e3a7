"""DrugLib reviews: reading them, the rating-trained sentiment, and outcomes in reviewers' words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fms_pipeline.nlp import evaluation, outcome_model, reviews

REPO = Path(__file__).resolve().parents[1]
DRUGLIB = REPO / "data" / "druglib" / "reviews_train.tsv"


@pytest.fixture(scope="module")
def druglib():
    return reviews.read_druglib(DRUGLIB)


def test_reads_every_review_and_holds_back_a_fifth(druglib):
    train, held_back = reviews.split(druglib)
    assert len(druglib) == 3107
    assert len(held_back) == sum(1 for r in druglib if r.review_id % 5 == 0)
    assert 0.18 < len(held_back) / len(druglib) < 0.22
    assert {r.rating for r in druglib} == set(range(1, 11))
    multiline = next(r for r in druglib if r.review_id == 2202)
    assert "\n" in multiline.benefits and multiline.text.startswith(multiline.benefits)


def test_a_file_that_is_not_druglib_is_refused_with_its_name(tmp_path):
    path = tmp_path / "other.tsv"
    path.write_text("sentences\tADR\nhello\t1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"other\.tsv.*missing column"):
        reviews.read_druglib(path)
    bad = tmp_path / "bad.tsv"
    record = "1\tx\t11\tIneffective\tNo Side Effects\tc\tb\ts\tc"
    bad.write_text("\t".join(reviews.COLUMNS) + "\n" + record + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.tsv record 2: rating 11"):
        reviews.read_druglib(bad)


def test_comment_sentiment_follows_the_rating_on_held_back_reviews(nlp, druglib):
    _, held_back = reviews.split(druglib)
    figures = reviews.measure(nlp, held_back)
    assert figures["spearman_sentiment_rating"] >= 0.5
    assert figures["spearman_sentiment_rating"] > figures["spearman_vader_rating"] + 0.15
    assert figures["adverse_in_severe"] >= 0.85


def test_shipped_sentiment_model_is_reproducible_from_the_repository(nlp, druglib):
    """Refitting on the reviews not held back, with the shipped penalty, gives the shipped scores."""
    shipped = outcome_model.load_sentiment_model()
    info = evaluation.model_info(outcome_model.sentiment_model_path())
    train, held_back = reviews.split(druglib)
    features, probabilities, owner = reviews.sentence_features(nlp, [r.text for r in train])
    refit = reviews._fit_ridge(features, probabilities, owner, len(train),
                               reviews.rating_target([r.rating for r in train]), info["ridge_alpha"])
    test_features, test_probabilities, _ = reviews.sentence_features(nlp, [r.text for r in held_back[:150]])
    difference = refit.scores(test_features, test_probabilities) - shipped.scores(test_features, test_probabilities)
    assert np.abs(difference).max() < 0.02


def counted(doc) -> set[str]:
    return reviews.counted_outcomes(doc)


@pytest.mark.parametrize(
    "text",
    ["I received no benefit from the medication.", "Cymbalta did nothing for my pain.",
     "This medicine never helped my headaches.", "It stopped working after a month."],
)
def test_phrases_that_say_it_outright_are_ineffective(nlp, text):
    assert "ineffective" in counted(nlp(text))


@pytest.mark.parametrize(
    "text",
    ["Savella lost its effectiveness after about a year.", "Three months in and I don't feel any better.",
     "Honestly it has not done anything for my back.", "The Lyrica isn't doing anything for the burning."],
)
def test_a_drug_that_lost_its_effect_or_has_not_helped_is_ineffective(nlp, text):
    # Phrases of PsyTAR training sentences labelled ineffective that the classifier missed out of fold.
    assert "ineffective" in counted(nlp(text))


@pytest.mark.parametrize("text", ["Forgot to take it Sunday and felt awful by the evening.",
                                  "Skipped a day of Cymbalta and spent it on the couch."])
def test_a_missed_dose_is_withdrawal(nlp, text):
    assert "withdrawal" in counted(nlp(text))


def test_withdrawal_feared_or_denied_is_not_counted(nlp):
    assert "withdrawal" not in counted(nlp("I had no withdrawal at all coming off tramadol."))
    assert "withdrawal" not in counted(nlp("I am scared of the withdrawal from Cymbalta."))


def test_praise_that_names_the_depression_is_not_ineffective(nlp):
    # The classifier gives it ineffective 0.66 >= its threshold (depression words); effective >= 0.55 overrules it.
    found = counted(nlp("Zoloft worked great on my depression and anxiety."))
    assert "effective" in found and "ineffective" not in found


def test_ineffective_counts_only_where_effective_is_unlikely():
    from fms_pipeline.nlp.outcome_model import INEFFECTIVE_UNLESS_EFFECTIVE, MODEL_LABELS, OutcomeClassifier

    classifier = OutcomeClassifier.__new__(OutcomeClassifier)  # only the thresholds are read
    classifier.thresholds = np.full(len(MODEL_LABELS), 0.5)
    eff, inf = MODEL_LABELS.index("effective"), MODEL_LABELS.index("ineffective")
    probabilities = np.zeros((2, len(MODEL_LABELS)))
    probabilities[:, inf] = 0.9
    probabilities[:, eff] = (INEFFECTIVE_UNLESS_EFFECTIVE - 0.01, INEFFECTIVE_UNLESS_EFFECTIVE)
    labelled = classifier.labelled(probabilities)
    assert labelled[0, inf] and not labelled[1, inf] and labelled[1, eff]


def test_a_hypothetical_deciding_phrase_is_not_counted(nlp):
    assert "ineffective" not in counted(nlp("If it did nothing, I would ask for another drug."))


@pytest.mark.parametrize("text", ["No side effects.", "I had no side effects at all.",
                                  "There were not any side effects."])
def test_no_side_effects_is_not_an_adverse_effect(nlp, text):
    assert "adverse_effect" not in counted(nlp(text))


def test_side_effects_reported_are_adverse_effects(nlp):
    assert "adverse_effect" in counted(nlp("Severe nausea and headaches, I could not sleep for weeks."))


def test_a_review_counts_the_adverse_effects_of_its_own_drug(nlp):
    """A side-effect text rated "No Side Effects" that blames another drug: the reviewed drug's figure has no
    adverse effect, the any-drug figure has one; a review whose text names no drug gets the reviewed drug's."""
    def review(review_id: int, drug: str, rating: int, side_effects: str, text: str) -> reviews.Review:
        return reviews.Review(review_id, drug, rating, "Highly Effective", side_effects, "", "", text, "")

    other = review(1, "Effexor-XR", 8, reviews.NO_SIDE_EFFECTS,
                   "None with Effexor. Paxil gave me terrible night sweats and I gained 15 pounds.")
    own = review(2, "Effexor-XR", 3, "Severe Side Effects", "Terrible night sweats and I gained 15 pounds.")
    # Named by one of its ingredients: Hyzaar is losartan with hydrochlorothiazide.
    ingredient = review(3, "Hyzaar", 2, "Severe Side Effects", "The losartan gave me a dry cough that never stopped.")
    figures = reviews.measure(nlp, [other, own, ingredient])
    assert figures["adverse_in_no_side_effects"] == 0.0
    assert figures["adverse_in_no_side_effects_any_drug"] == 1.0
    assert figures["adverse_in_severe"] == 1.0


def test_the_side_effect_shares_are_also_measured_headed_as_a_review_table_gives_them(nlp):
    """A review table's side-effects column reaches the NLP headed by its name: "Side effects review: No" is a
    review with none, "Side effects review: Bad dizziness" one with an effect."""
    def review(review_id: int, rating: int, side_effects: str, text: str) -> reviews.Review:
        return reviews.Review(review_id, "Cymbalta", rating, "Highly Effective", side_effects, "", "", text, "")

    reviewed = [review(1, 9, reviews.NO_SIDE_EFFECTS, "No"), review(2, 7, reviews.NO_SIDE_EFFECTS, "Mild nausea at first."),
                review(3, 2, "Severe Side Effects", "Bad dizziness, I could not drive.")]
    figures = reviews.measure(nlp, reviewed, heading="Side effects review")
    assert figures["adverse_in_no_side_effects_headed"] == 0.5
    assert figures["adverse_in_severe_headed"] == 1.0
    assert "adverse_in_severe_headed" not in reviews.measure(nlp, reviewed)


# --- the 'No Side Effects' training texts read one by one --------------------------------

def test_the_readings_cover_every_no_side_effects_training_text_and_none_held_back(druglib):
    readings = reviews.read_readings(evaluation.READINGS_FILE)
    train, held_back = reviews.split(druglib)
    read_here = {r.review_id for r in train if r.side_effects == reviews.NO_SIDE_EFFECTS and r.side_effects_text}
    assert set(readings) == read_here
    assert not set(readings) & {r.review_id for r in held_back}
    assert set(readings.values()) <= set(reviews.JUDGMENTS) and list(readings.values()).count("yes") >= 100


def test_a_bad_reading_is_refused_with_file_and_line(tmp_path):
    path = tmp_path / "read.tsv"
    path.write_text("# comment\nreview_id\tjudgment\tkind\n12\tyes\tmild\n15\tmaybe\t\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"read\.tsv line 4: expected a review id and one of yes, no, unclear"):
        reviews.read_readings(path)
    path.write_text("review_id\tjudgment\tkind\n12\tyes\t\n12\tno\t\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 3: review 12 is read twice"):
        reviews.read_readings(path)


def _review(review_id: int, text: str) -> reviews.Review:
    return reviews.Review(review_id, "lyrica", 8, "Highly Effective", reviews.NO_SIDE_EFFECTS, "fibromyalgia",
                          "", text, "")


def test_reading_figures_count_what_the_pipeline_finds_against_the_readings(nlp):
    read = [_review(1, "Slight nausea the first week."), _review(2, "None at all."),
            _review(3, "Made me a little dizzy."), _review(4, "None that I noticed, my pain is much better."),
            _review(5, "It works well for my fibro pain.")]
    figures = reviews.reading_figures(nlp, read, {1: "yes", 2: "no", 3: "yes", 4: "yes", 5: "unclear"})
    assert figures == {"read_texts": 5, "reported": 3, "unclear": 1, "found": 2, "precision": 1.0, "recall": 2 / 3}
    # Headed as the review-table parser heads the column, as the pipeline reads a row.
    headed = reviews.reading_figures(nlp, read[:2], {1: "yes", 2: "no"}, "Side effects review")
    assert (headed["found"], headed["recall"]) == (1, 1.0)
    with pytest.raises(reviews.NotAmongTheReviews, match="1 review"):
        reviews.reading_figures(nlp, read, {1: "yes", 99: "no"})
