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


# --- training on PsyTAR and the DrugLib reviews' weak labels ----------------------------

# What a point of 'No Side Effects' texts with an adverse effect above the target costs, in points of
# PsyTAR F1, when choosing the adverse_effect setting. At 1.0, CV chose a model that lost 0.033 PsyTAR dev F1
# (and more false events on the written event set) for 27% -> 17% on the held-back reviews; many such
# texts do name mild effects, and the weak ratings are the noisier labels.
NO_SIDE_EFFECTS_COST = 0.25
WEAK_WEIGHTS = (0.0, 0.2, 0.5, 1.0)  # a weak sentence's weight beside a PsyTAR sentence's 1, chosen per label
REVIEW_KINDS = ("ineffective_review", "no_side_effects", "severe")


def sentence_flags(component, sentences: list, cues: list, ents: list, rule_cues: list) -> np.ndarray:
    """(n, 3, labels) what the pipeline makes of each sentence apart from the classifier: [0] the
    rules give the label (any span), [1] the rules give it counted (not negated, not hypothetical),
    [2] a label the classifier gave would be counted. With these, the pipeline's outcomes for any
    classifier thresholds are computed without running it again (``choose``)."""
    flags = np.zeros((len(sentences), 3, len(MODEL_LABELS)), dtype=bool)
    for i, (sentence, c, e, r) in enumerate(zip(sentences, cues, ents, rule_cues)):
        by_rules = component.outcomes_of(sentence, c, e, set(), r)
        with_all = component.outcomes_of(sentence, c, e, set(MODEL_LABELS), r)
        for k, spans, counted_only in ((0, by_rules, False), (1, by_rules, True), (2, with_all, True)):
            found = {s.label_ for s in spans if not counted_only or not (s._.negated or s._.hypothetical)}
            flags[i, k] = [label in found for label in MODEL_LABELS]
    return flags


def _pipeline_sentences(nlp: Language, texts: list[str], whole: bool):
    """Features, flags and the text number of each sentence of the texts (``whole``: each text as
    one sentence, as PsyTAR rows are trained on)."""
    from fms_pipeline.nlp.outcomes import by_sentence

    component = nlp.get_pipe("fms_outcomes")
    sentences, cues, ents, rule_cues, owner = [], [], [], [], []
    for number, doc in enumerate(nlp.pipe(texts, disable=["fms_outcomes"], batch_size=128)):
        doc_sentences = [doc[:]] if whole else list(doc.sents)
        sentences += doc_sentences
        cues += by_sentence(doc_sentences, component.cues(doc))
        ents += by_sentence(doc_sentences, list(doc.ents))
        rule_cues += by_sentence(doc_sentences, component.rule_cues(doc))
        owner += [number] * len(doc_sentences)
    features = component.sentence_features(sentences, cues, ents)
    return features, sentence_flags(component, sentences, cues, ents, rule_cues), np.array(owner, dtype=np.int64)


def review_texts(druglib: list) -> list[tuple[int, str, str]]:
    """(review id, kind, text) of the texts the review figures are measured on, of the reviews not
    held back: whole reviews rated Ineffective, side-effect texts rated No and Severe Side Effects."""
    from fms_pipeline.nlp.reviews import NO_SIDE_EFFECTS, SEVERE

    out = []
    for r in druglib:
        if r.held_back:
            continue
        if r.effectiveness == "Ineffective":
            out.append((r.review_id, "ineffective_review", r.text))
        if r.side_effects_text and (r.side_effects == NO_SIDE_EFFECTS or r.side_effects in SEVERE):
            out.append((r.review_id, "no_side_effects" if r.side_effects == NO_SIDE_EFFECTS else "severe",
                        r.side_effects_text))
    return out


def cross_validate(nlp: Language, train_file: Path, druglib_file: Path | None, folds: int = FOLDS) -> dict:
    """Out-of-fold probabilities of every (label, C, weak weight) on the PsyTAR training sentences
    and on the sentences of the DrugLib texts not held back (``review_texts``). PsyTAR sentences
    are split into stratified folds, DrugLib reviews by their position among the training reviews;
    a fold's model never saw its reviews' weakly labelled sentences."""
    from sklearn.model_selection import StratifiedKFold

    from fms_pipeline.nlp import reviews, weak_labels

    texts, labels = outcome_model.read_psytar(train_file)
    psytar, psytar_flags, _ = _pipeline_sentences(nlp, texts, whole=True)
    druglib = reviews_of(druglib_file)
    weak = weak_labels.weak_sentences(nlp, druglib)
    measured = review_texts(druglib)
    measured_features, measured_flags, owner = _pipeline_sentences(nlp, [t for _, _, t in measured], whole=False)
    kinds = np.array([REVIEW_KINDS.index(k) for _, k, _ in measured], dtype=np.int64)
    review_fold = {r.review_id: i % folds for i, r in enumerate(sorted(
        (r for r in druglib if not r.held_back), key=lambda r: r.review_id))}
    weak_fold = np.array([review_fold[i] for i in weak.review_ids.tolist()], dtype=np.int64)
    measured_fold = np.array([review_fold[i] for i, _, _ in measured], dtype=np.int64)[owner]

    strata = labels @ (2 ** np.arange(labels.shape[1]))
    strata = np.where(np.bincount(strata)[strata] >= folds, strata, -1)  # rare label combinations pooled
    psytar_fold = np.zeros(len(texts), dtype=np.int64)
    for k, (_, test) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=0).split(labels, strata)):
        psytar_fold[test] = k
    configs = {j: [(C, w) for C in REGULARISATION_GRID for w in (WEAK_WEIGHTS if weak.known[:, j].any() else (0.0,))]
               for j in range(len(MODEL_LABELS))}
    oof = {(j, C, w): (np.zeros(len(texts)), np.zeros(len(owner))) for j, cs in configs.items() for C, w in cs}
    features = outcome_model.concat([psytar, weak.features])
    all_labels = np.concatenate([labels, weak.labels])
    fold_of = np.concatenate([psytar_fold, weak_fold])
    is_weak = np.concatenate([np.zeros(len(texts), dtype=bool), np.ones(len(weak), dtype=bool)])
    known = np.concatenate([np.ones(labels.shape, dtype=bool), weak.known])
    for k in range(folds):
        train = np.flatnonzero(fold_of != k)
        fit_features = outcome_model.subset(features, train)
        word_idf, char_idf = outcome_model.idf_of(fit_features.words), outcome_model.idf_of(fit_features.chars)
        X = outcome_model.design_matrix(fit_features, word_idf, char_idf)
        psytar_test = np.flatnonzero(psytar_fold == k)
        measured_test = np.flatnonzero(measured_fold == k)
        X_test = outcome_model.design_matrix(outcome_model.concat([
            outcome_model.subset(psytar, psytar_test), outcome_model.subset(measured_features, measured_test)]),
            word_idf, char_idf)
        for j, cs in configs.items():
            for C, w in cs:
                weights = np.where(is_weak[train], w, 1.0) * known[train, j]
                coef, intercept = outcome_model.fit_label(X, all_labels[train, j], C, weights)
                p = 1.0 / (1.0 + np.exp(-(X_test @ coef + intercept)))
                oof[j, C, w][0][psytar_test] = p[:len(psytar_test)]
                oof[j, C, w][1][measured_test] = p[len(psytar_test):]
    return {"labels": labels, "psytar_flags": psytar_flags, "measured_flags": measured_flags, "owner": owner,
            "kinds": kinds, "oof": oof, "configs": configs, "weak": weak, "psytar": psytar, "texts": texts}


def choose(cv: dict) -> dict:
    """Per label, the penalty, weak weight and threshold, from the out-of-fold probabilities:

    * ``withdrawal``: the best PsyTAR F1 (the ratings say nothing about it);
    * ``adverse_effect``: the best PsyTAR F1 less the review targets' shortfalls on the training
      reviews (``REVIEW_TARGETS``): each point of 'No Side Effects' texts with an adverse effect
      above the target costs ``NO_SIDE_EFFECTS_COST`` points of F1, each point of severe texts
      without one below the target two. (The 'No Side Effects' target alone is out of reach at a bearable F1: many such
      texts do name mild effects, "Slight nausea at times"; in cross-validation 10% costs 0.06 F1.)
    * ``effective`` and ``ineffective`` together: the best sum of their PsyTAR F1 among the
      settings where ineffective is found in reviews rated Ineffective at least
      ``REVIEW_TARGETS["ineffective_ratio"]`` times as often as effective, else the best sum less
      the ratio's shortfall.
    """
    labels, oof = cv["labels"], cv["oof"]
    flags_p, flags_m = cv["psytar_flags"], cv["measured_flags"]
    kinds_of_text, owner = cv["kinds"], cv["owner"]
    n_texts = len(kinds_of_text)
    per_text_kind = {kind: kinds_of_text == k for k, kind in enumerate(REVIEW_KINDS)}
    t = REVIEW_TARGETS

    def candidates(j: int):
        """(F1, share of texts of each kind with the label counted, C, w, threshold) of every setting."""
        out = []
        for C, w in cv["configs"][j]:
            p_psytar, p_measured = oof[j, C, w]
            for threshold in THRESHOLD_GRID:
                found = (p_psytar >= threshold) | flags_p[:, 0, j]
                f1 = outcome_model.binary_scores(labels[:, j], found)["f1"]
                counted = flags_m[:, 1, j] | ((p_measured >= threshold) & flags_m[:, 2, j])
                per_text = np.bincount(owner, weights=counted, minlength=n_texts) > 0
                shares = {kind: float(per_text[mask].mean()) if mask.any() else 0.0
                          for kind, mask in per_text_kind.items()}
                out.append((f1, shares, C, w, float(threshold)))
        return out

    j_eff, j_inf, j_ade, j_wd = (MODEL_LABELS.index(x) for x in ("effective", "ineffective", "adverse_effect",
                                                                  "withdrawal"))
    chosen = {j_wd: max(candidates(j_wd), key=lambda c: c[0])}
    chosen[j_ade] = max(candidates(j_ade), key=lambda c: c[0] - NO_SIDE_EFFECTS_COST * max(
                            0.0, c[1]["no_side_effects"] - t["adverse_in_none"])
                        - 2 * max(0.0, t["adverse_in_severe"] - c[1]["severe"]))
    effective, ineffective = candidates(j_eff), candidates(j_inf)
    eff_share = np.array([c[1]["ineffective_review"] for c in effective])
    inf_share = np.array([c[1]["ineffective_review"] for c in ineffective])
    f1_sum = np.array([c[0] for c in effective])[:, None] + np.array([c[0] for c in ineffective])[None, :]
    ratio = inf_share[None, :] / np.maximum(eff_share[:, None], 1e-9)
    score = f1_sum - np.maximum(0.0, t["ineffective_ratio"] - ratio)
    a, b = np.unravel_index(int(np.argmax(score)), score.shape)
    chosen[j_eff], chosen[j_inf] = effective[a], ineffective[b]
    return {MODEL_LABELS[j]: {"cv_f1": round(c[0], 4), "cv_review_shares": {k: round(v, 4) for k, v in c[1].items()},
                              "C": c[2], "weak_weight": c[3], "threshold": c[4]} for j, c in sorted(chosen.items())}


def train(nlp: Language, train_file: Path, model_file: Path, druglib_file: Path | None = None,
          keep_settings: bool = False) -> dict:
    """Fit the classifier on the PsyTAR sentences of ``train_file`` and the weakly labelled
    sentences of the DrugLib reviews not held back (``weak_labels``); per label, the penalty, the
    weak sentences' weight and the threshold are chosen by cross-validation there (``choose``), or,
    with ``keep_settings``, are those of the model now in ``model_file`` (a refit after a change to
    the features, such as new drug names, that should not reopen the choice; its cross-validation
    figures are kept as they were). Deterministic: the same files and pipeline give the same model."""
    from fms_pipeline.nlp import weak_labels

    druglib_file = DRUGLIB_FILE if druglib_file is None else druglib_file
    if keep_settings:
        kept = model_info(model_file)
        chosen = {label: {"C": kept["regularisation_C"][label], "weak_weight": kept["weak_weight"][label],
                          "threshold": kept["thresholds"][label], "cv_f1": kept["cross_validated_f1"][label],
                          "cv_review_shares": kept["cross_validated_review_shares"][label]} for label in MODEL_LABELS}
        texts, labels = outcome_model.read_psytar(train_file)
        psytar = featurize(nlp, texts)
        druglib = reviews_of(druglib_file)
        weak = weak_labels.weak_sentences(nlp, druglib)
    else:
        cv = cross_validate(nlp, train_file, druglib_file)
        chosen = choose(cv)
        weak, labels, psytar = cv["weak"], cv["labels"], cv["psytar"]
    features = outcome_model.concat([psytar, weak.features])
    all_labels = np.concatenate([labels, weak.labels])
    weights = np.concatenate([np.ones(labels.shape), weak.known * np.array(
        [chosen[label]["weak_weight"] for label in MODEL_LABELS])])
    thresholds = np.array([chosen[label]["threshold"] for label in MODEL_LABELS])
    regularisation = np.array([chosen[label]["C"] for label in MODEL_LABELS])
    model = outcome_model.fit(features, all_labels, thresholds, regularisation, weights)
    info = {
        "trained_on": [train_file.name, druglib_file.name],
        "sentences": len(labels),
        "weak_sentences": {group: int((weak.groups == g).sum()) for g, group in enumerate(weak_labels.GROUPS)},
        "thresholds": dict(zip(MODEL_LABELS, thresholds.tolist())),
        "regularisation_C": dict(zip(MODEL_LABELS, regularisation.tolist())),
        "weak_weight": {label: chosen[label]["weak_weight"] for label in MODEL_LABELS},
        "cross_validated_f1": {label: chosen[label]["cv_f1"] for label in MODEL_LABELS},
        "cross_validated_review_shares": {label: chosen[label]["cv_review_shares"] for label in MODEL_LABELS},
        "data_credit": "PsyTAR, Zolnoori et al., Data in Brief 24 (2019), CC BY 4.0; Drug Review Dataset "
                       "(Druglib.com), Gräßer et al., DH '18, CC BY 4.0 (ratings as weak labels)",
    }
    if keep_settings:
        info["settings"] = ("kept from the model refitted (train-outcomes --keep-settings); the cross-validated "
                            "figures are those measured when they were chosen, on the features of then")
    model.save(model_file, info)
    outcome_model.load_classifier.cache_clear()
    return info


def reviews_of(druglib_file: Path | None) -> list:
    """The DrugLib reviews of the file, or none when there is no such file."""
    from fms_pipeline.nlp import reviews

    return reviews.read_druglib(druglib_file) if druglib_file is not None and druglib_file.exists() else []


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


TARGETS = {"adverse_effect": 0.82, "withdrawal": 0.65, "effective": 0.75, "ineffective": 0.55}  # issue 17


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
READINGS_FILE = REPO_DATA / "evaluation" / "druglib_no_side_effects_read.tsv"
ENTITY_LABELS = ("DRUG", "CONDITION")
REVIEW_TARGETS = {"spearman": 0.5, "ineffective_ratio": 2.0, "adverse_in_none": 0.10, "adverse_in_severe": 0.85}  # issue 17


def read_entities(path: Path = ENTITIES_FILE) -> list[dict]:
    """Rows of the annotated entity file: {source, text, DRUG: set, CONDITION: set}."""
    from fms_pipeline.nlp.annotated import read_rows, split_field

    rows = []
    for number, row in read_rows(path, ("source", "text", *ENTITY_LABELS)):
        if not (row["text"] or "").strip():
            raise ValueError(f"{path} row {number}: empty text")
        rows.append({"source": row["source"], "text": row["text"],
                     **{label: set(split_field(row[label])) for label in ENTITY_LABELS}})
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


def review_figures(nlp: Language, path: Path = DRUGLIB_FILE, readings_file: Path = READINGS_FILE) -> dict:
    """The review figures on the held-back reviews, and, when ``readings_file`` is there, how the pipeline agrees
    with the reading of each 'No Side Effects' training text (the rating says none; many texts name one)."""
    from fms_pipeline.nlp import reviews

    from fms_pipeline.parsing.sources.tabular import header_label

    training, held_back = reviews.split(reviews.read_druglib(path))
    # As a review table's row reaches the pipeline: the column's paragraph headed by its name.
    heading = header_label("sideEffectsReview")
    figures = {"file": str(path), **reviews.measure(nlp, held_back, heading)}
    if readings_file.exists():
        no_side_effects = [r for r in training if r.side_effects == reviews.NO_SIDE_EFFECTS]
        try:
            readings = reviews.read_readings(readings_file)
            figures["readings"] = {"file": str(readings_file), **reviews.reading_figures(nlp, no_side_effects, readings)}
            figures["readings_headed"] = reviews.reading_figures(nlp, no_side_effects, readings, heading)
        except reviews.NotAmongTheReviews as mismatch:  # another DrugLib file than the one read
            figures["readings_skipped"] = f"{readings_file} does not fit {path}: {mismatch}"
    return figures


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
        f"  adverse_effect of the reviewed drug in 'No Side Effects' texts ({f['no_side_effect_texts']}): "
        f"{none:.0%} (target <= {t['adverse_in_none']:.0%})  {mark(none <= t['adverse_in_none'])}; "
        f"of any drug {f['adverse_in_no_side_effects_any_drug']:.0%}"
        + _headed_share(f, "adverse_in_no_side_effects_headed"),
        f"  adverse_effect of the reviewed drug in severe side-effect texts ({f['severe_texts']}): {severe:.0%} "
        f"(target >= {t['adverse_in_severe']:.0%})  {mark(severe >= t['adverse_in_severe'])}; "
        f"of any drug {f['adverse_in_severe_any_drug']:.0%}" + _headed_share(f, "adverse_in_severe_headed"),
        *([_readings_line(f["readings"], f["readings_headed"])] if "readings" in f else []),
        *([f"  readings skipped: {f['readings_skipped']}"] if "readings_skipped" in f else []),
    ])


def _headed_share(f: dict, key: str) -> str:
    return f"; headed as a review table's column ('Side effects review: ...') {f[key]:.0%}" if key in f else ""


def _readings_line(r: dict, headed: dict) -> str:
    return (f"  'No Side Effects' training texts read one by one ({r['read_texts']}, {r['file']}): {r['reported']} "
            f"({r['reported'] / r['read_texts']:.0%}) name an effect of the reviewed drug, {r['unclear']} unclear; "
            f"the pipeline finds one in {r['found']}: precision {r['precision']:.2f}, recall {r['recall']:.2f}; "
            f"headed as a review table's column ('Side effects review: ...') {headed['found']}: precision "
            f"{headed['precision']:.2f}, recall {headed['recall']:.2f} (texts the rules were tuned on)")


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
    parts.append(event_evaluation.real_report(nlp, druglib_file))
    parts.append(access_evaluation.report(nlp))
    return "\n\n".join(parts)


def train_models(nlp: Language, psytar_file: Path, druglib_file: Path = DRUGLIB_FILE,
                 keep_settings: bool = False) -> dict:
    """Retrain the outcome classifier (PsyTAR), then the sentiment regressor (DrugLib), which
    takes the new classifier's probabilities as inputs; ``keep_settings``: see ``train``."""
    from fms_pipeline.nlp import reviews

    info = {"outcome_classifier": train(nlp, psytar_file, outcome_model.model_path(), druglib_file,
                                        keep_settings=keep_settings)}
    nlp.get_pipe("fms_outcomes").classifier = outcome_model.load_classifier()
    if druglib_file.exists():
        info["review_sentiment"] = reviews.train_sentiment(nlp, druglib_file, outcome_model.sentiment_model_path())
        nlp.get_pipe("fms_outcomes").sentiment_model = outcome_model.load_sentiment_model()
    return info
