"""Access-loss figures for ``fms-pipeline evaluate`` (issue 23), on the written dev set
``data/evaluation/access_loss_dev.tsv`` (never used to tune the rules; they were tuned on
``access_loss_tuning.tsv``).

A dev row counts as found when the pipeline's ``doc.spans["access"]`` has an ``access_loss`` span
in its text. On the rows found that are losses: the first event's mechanism against the row's
(``mechanism accuracy``), the set of actors and of drugs against the row's, the consequences
(micro precision and recall). Fears, questions and voluntary tapers found as losses are their
false-positive rate. Two alternatives are measured on the same rows: the rule the outcomes used
before (an access cue of ``vocab/outcome_cues.tsv`` plus a drug or treatment word) and a small
trained classifier (word and character n-grams, logistic regression, trained on the tuning set).
"""

from __future__ import annotations

import time
from pathlib import Path

from spacy.language import Language

from fms_pipeline import labels
from fms_pipeline.nlp.annotated import read_rows, split_field

REPO_DATA = Path(__file__).resolve().parents[2] / "data"
DEV_FILE = REPO_DATA / "evaluation" / "access_loss_dev.tsv"
TUNING_FILE = REPO_DATA / "evaluation" / "access_loss_tuning.tsv"
COLUMNS = ("id", "label", "kind", "drug", "mechanism", "actor", "consequences", "stigma", "text")
ROW_LABELS = ("access_loss", "access_fear", "none")
FEAR_KINDS = ("fear", "question", "voluntary_taper")
TARGETS = {"precision": 0.90, "recall": 0.85, "mechanism_accuracy": 0.80, "fear_false_positive_rate": 0.05}
# What the outcomes' access rule counted as a treatment word (the rule this component replaced).
OLD_TREATMENT_WORDS = frozenset({"treatment", "meds", "medication", "medications", "medicine", "prescription",
                                 "prescriptions", "script", "scripts", "dose", "doses", "dosage", "management",
                                 "therapy"})


def _split(value: str) -> set[str]:
    return set(split_field(value))


def read_access_set(path: Path) -> list[dict]:
    """The rows of an annotated access-loss file (see data/evaluation/README.md)."""
    mechanisms, actors = set(labels.names("access_mechanism")), set(labels.names("access_actor"))
    consequences = set(labels.names("access_consequence"))
    rows = []
    for number, row in read_rows(path, COLUMNS):
        where = f"{path} row {number} ({row.get('id')})"
        if not (row["text"] or "").strip():
            raise ValueError(f"{where}: empty text")
        if row["label"] not in ROW_LABELS:
            raise ValueError(f"{where}: label {row['label']!r} is not one of {', '.join(ROW_LABELS)}")
        if row["label"] == "access_loss" and row["mechanism"] not in mechanisms:
            raise ValueError(f"{where}: an access_loss row needs a mechanism of labels.yml, not {row['mechanism']!r}")
        if _split(row["actor"]) - actors or _split(row["consequences"]) - consequences:
            raise ValueError(f"{where}: unknown actor or consequence ({row['actor']!r}, {row['consequences']!r})")
        if row["stigma"] not in ("0", "1"):
            raise ValueError(f"{where}: stigma is 0 or 1, not {row['stigma']!r}")
        rows.append({**row, "drugs": _split(row["drug"]), "actors": _split(row["actor"]),
                     "consequence_set": _split(row["consequences"]), "has_stigma": row["stigma"] == "1"})
    return rows


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def binary(gold: list[bool], predicted: list[bool]) -> dict:
    tp = sum(g and p for g, p in zip(gold, predicted))
    fp = sum(p and not g for g, p in zip(gold, predicted))
    fn = sum(g and not p for g, p in zip(gold, predicted))
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {"precision": precision, "recall": recall, "f1": _ratio(2 * precision * recall, precision + recall),
            "tp": tp, "fp": fp, "fn": fn}


def evaluate_access(nlp: Language, path: Path = DEV_FILE) -> dict:
    """The pipeline's access-loss figures on an annotated file."""
    rows = read_access_set(path)
    words = sum(len(r["text"].split()) for r in rows)
    started = time.perf_counter()
    docs = list(nlp.pipe([r["text"] for r in rows], batch_size=256))
    seconds = time.perf_counter() - started
    gold_loss = [r["label"] == "access_loss" for r in rows]
    found_loss, found_fear, mechanism_ok, actors_ok, drugs_ok = [], [], 0, 0, 0
    consequence_counts = {"tp": 0, "fp": 0, "fn": 0}
    stigma_gold, stigma_found, misses, wrong = [], [], [], []
    by_mechanism: dict[str, list[int]] = {}
    for row, doc in zip(rows, docs):
        spans = doc.spans["access"]
        losses = [s for s in spans if s.label_ == "access_loss"]
        found_loss.append(bool(losses))
        found_fear.append(not losses and any(s.label_ == "access_fear" for s in spans))
        stigma_gold.append(row["has_stigma"])
        stigma_found.append(any(s.label_ == "stigma" for s in spans))
        if row["label"] == "access_loss":
            by_mechanism.setdefault(row["mechanism"], [0, 0])[1] += 1
            if not losses:
                misses.append(f"{row['id']} {row['text']}")
        elif losses:
            wrong.append(f"{row['id']} ({row['kind']}) {row['text']}")
        if row["label"] == "access_loss" and losses:
            first = losses[0]
            by_mechanism[row["mechanism"]][0] += 1
            mechanism_ok += first._.mechanism == row["mechanism"]
            actors_ok += set(first._.actors) == row["actors"]
            drugs_ok += {s._.drug for s in losses} == row["drugs"]
            found = set(first._.consequences)
            consequence_counts["tp"] += len(found & row["consequence_set"])
            consequence_counts["fp"] += len(found - row["consequence_set"])
            consequence_counts["fn"] += len(row["consequence_set"] - found)
    loss = binary(gold_loss, found_loss)
    fear_rows = [i for i, r in enumerate(rows) if r["kind"] in FEAR_KINDS]
    c = consequence_counts
    return {
        "file": str(path), "rows": len(rows), "losses": sum(gold_loss),
        "fears": sum(r["label"] == "access_fear" for r in rows),
        "loss": loss,
        "mechanism_accuracy": _ratio(mechanism_ok, loss["tp"]),
        "actor_accuracy": _ratio(actors_ok, loss["tp"]),
        "drug_accuracy": _ratio(drugs_ok, loss["tp"]),
        "consequences": {"precision": _ratio(c["tp"], c["tp"] + c["fp"]), "recall": _ratio(c["tp"], c["tp"] + c["fn"]),
                         "mentions": c["tp"] + c["fn"]},
        "stigma": binary(stigma_gold, stigma_found),
        "fear": binary([r["label"] == "access_fear" for r in rows], found_fear),
        "fear_false_positive_rate": _ratio(sum(found_loss[i] for i in fear_rows), len(fear_rows)),
        "fear_rows": len(fear_rows),
        "recall_by_mechanism": {m: (f, n) for m, (f, n) in sorted(by_mechanism.items())},
        "misses": misses, "false_positives": wrong,
        "words_per_second": words / seconds if seconds else 0.0,
    }


def old_rule_scores(nlp: Language, path: Path = DEV_FILE) -> dict:
    """The rule the outcomes used before this component: an access cue phrase of
    ``vocab/outcome_cues.tsv`` in a sentence with a drug or a treatment word."""
    rows = read_access_set(path)
    outcomes = nlp.get_pipe("fms_outcomes")
    found = []
    for doc in nlp.pipe([r["text"] for r in rows], disable=["fms_access_loss"]):
        hit = False
        for sentence in doc.sents:
            cues = [c for c in outcomes.cues(doc) if c.label_ == "access_loss" and sentence.start <= c.start < sentence.end]
            drugs = [e for e in sentence.ents if e.label_ in ("DRUG", "DRUG_CLASS")]
            if cues and (drugs or any(t.lower_ in OLD_TREATMENT_WORDS for t in sentence)):
                hit = True
        found.append(hit)
    return binary([r["label"] == "access_loss" for r in rows], found)


def classifier_scores(train_path: Path = TUNING_FILE, path: Path = DEV_FILE) -> dict:
    """A small trained alternative: word 1-2-grams and character 2-5-grams, logistic regression,
    fitted on the tuning set, scored on ``path``."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    train, test = read_access_set(train_path), read_access_set(path)
    words = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=1, sublinear_tf=True)
    x_train = sparse.hstack([words.fit_transform([r["text"] for r in train]),
                             chars.fit_transform([r["text"] for r in train])]).tocsr()
    x_test = sparse.hstack([words.transform([r["text"] for r in test]),
                            chars.transform([r["text"] for r in test])]).tocsr()
    model = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")
    model.fit(x_train, [r["label"] == "access_loss" for r in train])
    return binary([r["label"] == "access_loss" for r in test], [bool(p) for p in model.predict(x_test)])


def format_access_report(figures: dict, old_rule: dict | None = None, classifier: dict | None = None) -> str:
    loss = figures["loss"]

    def mark(ok: bool) -> str:
        return "ok" if ok else "below"

    t = TARGETS
    lines = [
        f"{figures['file']}: {figures['rows']} written sentences ({figures['losses']} access losses, "
        f"{figures['fears']} fears; never used to tune the rules)",
        f"  access_loss precision {loss['precision']:.3f} (target >= {t['precision']})  "
        f"{mark(loss['precision'] >= t['precision'])}",
        f"  access_loss recall    {loss['recall']:.3f} (target >= {t['recall']})  {mark(loss['recall'] >= t['recall'])}",
        f"  mechanism accuracy on the losses found {figures['mechanism_accuracy']:.3f} "
        f"(target >= {t['mechanism_accuracy']})  {mark(figures['mechanism_accuracy'] >= t['mechanism_accuracy'])}",
        f"  fears, questions and voluntary tapers found as losses {figures['fear_false_positive_rate']:.1%} "
        f"of {figures['fear_rows']} (target <= {t['fear_false_positive_rate']:.0%})  "
        f"{mark(figures['fear_false_positive_rate'] <= t['fear_false_positive_rate'])}",
        f"  actors exactly right {figures['actor_accuracy']:.3f}, drugs exactly right {figures['drug_accuracy']:.3f} "
        f"(on the losses found)",
        f"  consequences precision {figures['consequences']['precision']:.3f} recall "
        f"{figures['consequences']['recall']:.3f} ({figures['consequences']['mentions']} annotated)",
        f"  stigma precision {figures['stigma']['precision']:.3f} recall {figures['stigma']['recall']:.3f}; "
        f"access_fear precision {figures['fear']['precision']:.3f} recall {figures['fear']['recall']:.3f}",
        "  recall by mechanism: " + ", ".join(f"{m} {f}/{n}" for m, (f, n) in figures["recall_by_mechanism"].items()),
        f"  speed on these sentences: {figures['words_per_second']:,.0f} words/s (whole pipeline, one process)",
    ]
    for name, scores in (("the outcomes' previous access rule", old_rule),
                         ("a word/char n-gram logistic regression trained on the tuning set", classifier)):
        if scores is not None:
            lines.append(f"  alternative, {name}: precision {scores['precision']:.3f} recall {scores['recall']:.3f}")
    if figures["misses"]:
        lines.append("  missed: " + " | ".join(figures["misses"]))
    if figures["false_positives"]:
        lines.append("  wrongly found: " + " | ".join(figures["false_positives"]))
    return "\n".join(lines)


def report(nlp: Language, path: Path = DEV_FILE) -> str:
    """The access-loss section of ``fms-pipeline evaluate``."""
    if not path.exists():
        return f"access loss: skipped ({path} is missing)"
    classifier = classifier_scores(TUNING_FILE, path) if TUNING_FILE.exists() else None
    return format_access_report(evaluate_access(nlp, path), old_rule_scores(nlp, path), classifier)
