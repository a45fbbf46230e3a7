"""Train and evaluate the outcome labels on PsyTAR sentences (CC BY 4.0, Zolnoori et al. 2019).

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


def cross_validated_probabilities(features: SentenceFeatures, labels: np.ndarray, folds: int = FOLDS) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    probabilities = np.zeros(labels.shape)
    strata = labels @ (2 ** np.arange(labels.shape[1]))
    strata = np.where(np.bincount(strata)[strata] >= folds, strata, -1)  # rare label combinations pooled
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(labels, strata):
        model = outcome_model.fit(outcome_model.subset(features, train), labels[train])
        probabilities[test] = model.probabilities(outcome_model.subset(features, test))
    return probabilities


def best_thresholds(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    chosen = []
    for j in range(labels.shape[1]):
        f1s = [outcome_model.binary_scores(labels[:, j], probabilities[:, j] >= t)["f1"] for t in THRESHOLD_GRID]
        chosen.append(float(THRESHOLD_GRID[int(np.argmax(f1s))]))
    return np.array(chosen)


def train(nlp: Language, train_file: Path, model_file: Path) -> dict:
    """Fit the classifier on ``train_file``; thresholds maximise F1 in cross-validation there."""
    texts, labels = outcome_model.read_psytar(train_file)
    features = featurize(nlp, texts)
    probabilities = cross_validated_probabilities(features, labels)
    thresholds = best_thresholds(probabilities, labels)
    cv = outcome_model.scores(labels, probabilities >= thresholds)
    model = outcome_model.fit(features, labels, thresholds)
    info = {
        "trained_on": train_file.name,
        "sentences": len(texts),
        "thresholds": dict(zip(MODEL_LABELS, thresholds.tolist())),
        "cross_validated_f1": {label: round(s["f1"], 4) for label, s in cv.items()},
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
