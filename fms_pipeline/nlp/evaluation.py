"""Train and evaluate the outcome labels on PsyTAR sentences (CC BY 4.0, Zolnoori et al. 2019), and
everything ``fms-pipeline evaluate`` prints (``full_report``): PsyTAR F1 per label, the DrugLib review
figures (``reviews.measure``), DRUG and CONDITION precision and recall on ``data/evaluation/entities.tsv``,
and the misspelling figures of ``spelling_evaluation``.

Evaluation runs the whole ``load_nlp()`` pipeline: a sentence counts as labelled with an
outcome when any outcome span of that label lies in it, exactly as the warehouse sees it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from spacy.language import Language

from fms_pipeline.nlp import outcome_model
from fms_pipeline.nlp.outcome_model import MODEL_LABELS, SentenceFeatures

THRESHOLD_GRID = np.round(np.arange(0.25, 0.86, 0.05), 2)
REGULARISATION_GRID = (1.0, 3.0, 10.0)  # liblinear's C, chosen per label by cross-validated F1
FOLDS = 5


def featurize(nlp: Language, texts: list[str]) -> SentenceFeatures:
    """Classifier features of each text as one sentence, from the pipeline up to the classifier."""
    component = nlp.get_pipe("fms_outcomes")
    sentences, cues, ents = [], [], []
    for doc in nlp.pipe(texts, disable=["fms_outcomes"], batch_size=256):
        sentences.append(doc[:])
        cues.append(component.cues(doc))
        ents.append(list(doc.ents))
    return component.sentence_features(sentences, cues, ents)


def cross_validated_probabilities(features: SentenceFeatures, labels: np.ndarray, folds: int = FOLDS,
                                  regularisation: float = outcome_model.REGULARISATION_C) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    probabilities = np.zeros(labels.shape)
    strata = labels @ (2 ** np.arange(labels.shape[1]))
    strata = np.where(np.bincount(strata)[strata] >= folds, strata, -1)  # rare label combinations pooled
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(labels, strata):
        model = outcome_model.fit(outcome_model.subset(features, train), labels[train],
                                  regularisation=[regularisation] * labels.shape[1])
        probabilities[test] = model.probabilities(outcome_model.subset(features, test))
    return probabilities


def best_thresholds(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    chosen = []
    for j in range(labels.shape[1]):
        f1s = [outcome_model.binary_scores(labels[:, j], probabilities[:, j] >= t)["f1"] for t in THRESHOLD_GRID]
        chosen.append(float(THRESHOLD_GRID[int(np.argmax(f1s))]))
    return np.array(chosen)


def train(nlp: Language, train_file: Path, model_file: Path) -> dict:
    """Fit the classifier on ``train_file``; per label, the penalty and the threshold are those
    that maximise F1 in cross-validation there."""
    texts, labels = outcome_model.read_psytar(train_file)
    features = featurize(nlp, texts)
    best: list[tuple[float, float, float]] = [(-1.0, 0.0, 0.0)] * labels.shape[1]  # (F1, C, threshold)
    for C in REGULARISATION_GRID:
        probabilities = cross_validated_probabilities(features, labels, regularisation=C)
        thresholds = best_thresholds(probabilities, labels)
        for j, s in enumerate(outcome_model.scores(labels, probabilities >= thresholds).values()):
            if s["f1"] > best[j][0]:
                best[j] = (s["f1"], C, float(thresholds[j]))
    thresholds = np.array([b[2] for b in best])
    regularisation = np.array([b[1] for b in best])
    model = outcome_model.fit(features, labels, thresholds, regularisation)
    info = {
        "trained_on": train_file.name,
        "sentences": len(texts),
        "thresholds": dict(zip(MODEL_LABELS, thresholds.tolist())),
        "regularisation_C": dict(zip(MODEL_LABELS, regularisation.tolist())),
        "cross_validated_f1": {label: round(b[0], 4) for label, b in zip(MODEL_LABELS, best)},
        "data_credit": "PsyTAR, Zolnoori et al., Data in Brief 24 (2019), CC BY 4.0",
    }
    model.save(model_file, info)
    outcome_model.load_classifier.cache_clear()
    return info


def evaluate(nlp: Language, path: Path) -> dict:
    """Precision, recall and F1 per label of the full pipeline on a PsyTAR file, and its speed."""
    texts, labels = outcome_model.read_psytar(path)
    predicted = np.zeros(labels.shape, dtype=bool)
    words = sum(len(t.split()) for t in texts)
    started = time.perf_counter()
    for i, doc in enumerate(nlp.pipe(texts, batch_size=256)):
        found = {span.label_ for span in doc.spans["outcomes"]}
        predicted[i] = [label in found for label in MODEL_LABELS]
    seconds = time.perf_counter() - started
    return {"file": str(path), "sentences": len(texts), "words_per_second": words / seconds,
            "scores": outcome_model.scores(labels, predicted)}


TARGETS = {"adverse_effect": 0.75, "withdrawal": 0.60, "effective": 0.68, "ineffective": 0.50}


def format_report(report: dict) -> str:
    lines = [f"{report['file']}: {report['sentences']} sentences",
             f"{'label':<16}{'precision':>10}{'recall':>8}{'F1':>7}{'target':>8}{'support':>9}"]
    for label, s in report["scores"].items():
        mark = "ok" if s["f1"] >= TARGETS[label] else "below"
        lines.append(f"{label:<16}{s['precision']:>10.3f}{s['recall']:>8.3f}{s['f1']:>7.3f}"
                     f"{TARGETS[label]:>8.2f}{s['support']:>9}  {mark}")
    lines.append(f"load_nlp() speed on these sentences: {report['words_per_second']:,.0f} words/s (one process)")
    return "\n".join(lines)


def model_info(model_file: Path) -> dict:
    with np.load(model_file) as data:
        return json.loads(str(data["info"]))


# --- everything `fms-pipeline evaluate` prints -----------------------------------------

REPO_DATA = Path(__file__).resolve().parents[2] / "data"
DRUGLIB_FILE = REPO_DATA / "druglib" / "reviews_train.tsv"
ENTITIES_FILE = REPO_DATA / "evaluation" / "entities.tsv"
ENTITY_LABELS = ("DRUG", "CONDITION")
REVIEW_TARGETS = {"spearman": 0.5, "ineffective_ratio": 2.0, "adverse_in_none": 0.15, "adverse_in_severe": 0.85}


def read_entities(path: Path = ENTITIES_FILE) -> list[dict]:
    """Rows of the annotated entity file: {source, text, DRUG: set, CONDITION: set}."""
    import csv

    with path.open(newline="", encoding="utf-8") as f:
        lines = [line for line in f if not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    missing = [c for c in ("source", "text", *ENTITY_LABELS) if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    rows = []
    for number, row in enumerate(reader, start=2):
        if not (row["text"] or "").strip():
            raise ValueError(f"{path} row {number}: empty text")
        rows.append({"source": row["source"], "text": row["text"],
                     **{label: {c.strip() for c in (row[label] or "").split("|") if c.strip()}
                        for label in ENTITY_LABELS}})
    return rows


def entity_scores(nlp: Language, path: Path = ENTITIES_FILE) -> dict:
    """Precision and recall of DRUG and CONDITION per sentence: a (label, canonical) found in a
    sentence is right when the annotation has it there."""
    rows = read_entities(path)
    counts = {label: {"tp": 0, "fp": 0, "fn": 0, "misses": [], "wrong": []} for label in ENTITY_LABELS}
    for row, doc in zip(rows, nlp.pipe([r["text"] for r in rows])):
        for label in ENTITY_LABELS:
            found = {e.ent_id_ for e in doc.ents if e.label_ == label}
            gold = row[label]
            c = counts[label]
            c["tp"] += len(found & gold)
            c["fp"] += len(found - gold)
            c["fn"] += len(gold - found)
            c["misses"] += sorted(gold - found)
            c["wrong"] += sorted(found - gold)
    out = {"file": str(path), "sentences": len(rows)}
    for label, c in counts.items():
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        out[label] = {"precision": p, "recall": r, "mentions": c["tp"] + c["fn"], "misses": c["misses"],
                      "false_positives": c["wrong"]}
    return out


def format_entity_report(scores: dict) -> str:
    lines = [f"{scores['file']}: {scores['sentences']} annotated sentences (the sample page's and written ones)",
             f"{'label':<16}{'precision':>10}{'recall':>8}{'mentions':>10}"]
    for label in ENTITY_LABELS:
        s = scores[label]
        lines.append(f"{label:<16}{s['precision']:>10.3f}{s['recall']:>8.3f}{s['mentions']:>10}")
        if s["misses"]:
            lines.append(f"  missed: {', '.join(s['misses'])}")
        if s["false_positives"]:
            lines.append(f"  wrongly found: {', '.join(s['false_positives'])}")
    return "\n".join(lines)


def review_figures(nlp: Language, path: Path = DRUGLIB_FILE) -> dict:
    from fms_pipeline.nlp import reviews

    _, held_back = reviews.split(reviews.read_druglib(path))
    return {"file": str(path), **reviews.measure(nlp, held_back)}


def format_review_report(f: dict) -> str:
    t = REVIEW_TARGETS

    def mark(ok: bool) -> str:
        return "ok" if ok else "below"

    effective, ineffective = f["effective_in_ineffective"], f["ineffective_in_ineffective"]
    ratio = ineffective / effective if effective else float("inf")
    spearman = f["spearman_sentiment_rating"]
    none, severe = f["adverse_in_no_side_effects"], f["adverse_in_severe"]
    return "\n".join([
        f"{f['file']}: {f['reviews']} held-back reviews (id divisible by 5; DrugLib, CC BY 4.0)",
        f"  comment sentiment vs rating, Spearman   {spearman:.3f}  (VADER alone "
        f"{f['spearman_vader_rating']:.3f}; target >= {t['spearman']})  {mark(spearman >= t['spearman'])}",
        f"  reviews rated Ineffective ({f['ineffective_reviews']}): ineffective found in {ineffective:.0%}, "
        f"effective in {effective:.0%} (target ineffective >= {t['ineffective_ratio']:.0f}x effective)  "
        f"{mark(ratio >= t['ineffective_ratio'])}",
        f"  adverse_effect in 'No Side Effects' texts ({f['no_side_effect_texts']}): {none:.0%} "
        f"(target <= {t['adverse_in_none']:.0%})  {mark(none <= t['adverse_in_none'])}",
        f"  adverse_effect in severe side-effect texts ({f['severe_texts']}): {severe:.0%} "
        f"(target >= {t['adverse_in_severe']:.0%})  {mark(severe >= t['adverse_in_severe'])}",
    ])


def misspelling_report(nlp: Language) -> str:
    """The other NLP evaluation's misspelling figures, or why they are left out."""
    try:
        from fms_pipeline.nlp import spelling_evaluation
    except ImportError:
        return "misspellings: skipped (no fms_pipeline.nlp.spelling_evaluation module)"
    if not spelling_evaluation.MISSPELLINGS.exists():
        return f"misspellings: skipped ({spelling_evaluation.MISSPELLINGS} is missing)"
    return spelling_evaluation.report(spelling_evaluation.evaluate_spelling(nlp))


def full_report(nlp: Language, psytar_file: Path, druglib_file: Path = DRUGLIB_FILE,
                entities_file: Path = ENTITIES_FILE) -> str:
    """What ``fms-pipeline evaluate`` prints: PsyTAR F1 per label, the DrugLib review figures,
    DRUG and CONDITION precision and recall, the misspelling recall and false positives, and the
    access-loss figures (``access_evaluation``)."""
    parts = [format_report(evaluate(nlp, psytar_file))]
    for name, file, run, fmt in (("reviews", druglib_file, review_figures, format_review_report),
                                 ("entities", entities_file, entity_scores, format_entity_report)):
        parts.append(fmt(run(nlp, file)) if file.exists() else f"{name}: skipped ({file} is missing)")
    parts.append(misspelling_report(nlp))
    from fms_pipeline.nlp import access_evaluation, event_evaluation

    parts.append(event_evaluation.report(nlp))
    parts.append(access_evaluation.report(nlp))
    return "\n\n".join(parts)


def train_models(nlp: Language, psytar_file: Path, druglib_file: Path = DRUGLIB_FILE) -> dict:
    """Retrain the outcome classifier (PsyTAR), then the sentiment regressor (DrugLib), which
    takes the new classifier's probabilities as inputs."""
    from fms_pipeline.nlp import reviews

    info = {"outcome_classifier": train(nlp, psytar_file, outcome_model.model_path())}
    nlp.get_pipe("fms_outcomes").classifier = outcome_model.load_classifier()
    if druglib_file.exists():
        info["review_sentiment"] = reviews.train_sentiment(nlp, druglib_file, outcome_model.sentiment_model_path())
        nlp.get_pipe("fms_outcomes").sentiment_model = outcome_model.load_sentiment_model()
    return info
