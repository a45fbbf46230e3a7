"""Adverse-event figures for ``fms-pipeline evaluate`` (issue 17), on the written set
``data/evaluation/adverse_events_dev.tsv`` (never used to tune; the vocabulary and rules were tuned
on ``adverse_events_tuning.tsv``).

Each row is a short patient text with the adverse events it reports marked as substrings, the kind
of report (adverse_effect, withdrawal, a negative, someone else's) and the drug the events are of.
The pipeline's events are those its asserted ``adverse_effect`` and ``withdrawal`` outcomes carry
(``span._.events``, the warehouse's ``outcome_mentions.events``), located at the entities of the
outcome's sentence that have those names. Matching is by overlap of characters (a found "gained 20
lbs" matches a marked "gained 20 lbs of water weight"), the relaxed overlap used for CADEC:

* precision: found event spans that overlap a marked event; recall: marked events some found span
  overlaps;
* drugs: of the marked events found, those tied to the row's drug;
* negatives: rows reporting no event ("Side effects: none", the drug's indication, fears,
  someone else's effects) where an event is found.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from spacy.language import Language

from fms_pipeline.nlp.annotated import read_rows, split_field
from fms_pipeline.nlp.events import EVENT_LABELS, event_term

REPO_DATA = Path(__file__).resolve().parents[2] / "data"
DEV_FILE = REPO_DATA / "evaluation" / "adverse_events_dev.tsv"
TUNING_FILE = REPO_DATA / "evaluation" / "adverse_events_tuning.tsv"
COLUMNS = ("id", "text", "kind", "drug", "events")
KINDS = ("adverse_effect", "withdrawal", "negative", "other_person")
HARM_KINDS = ("adverse_effect", "withdrawal")
TARGETS = {"precision": 0.85, "recall": 0.80, "drug_accuracy": 0.95, "negative_false_positive_rate": 0.10}


def read_event_set(path: Path) -> list[dict]:
    """The rows of an annotated adverse-event file (see data/evaluation/README.md), each event with its
    character offsets in the text."""
    rows = []
    for number, row in read_rows(path, COLUMNS):
        where = f"{path} row {number} ({row.get('id')})"
        text = row["text"] or ""
        if not text.strip():
            raise ValueError(f"{where}: empty text")
        if row["kind"] not in KINDS:
            raise ValueError(f"{where}: kind {row['kind']!r} is not one of {', '.join(KINDS)}")
        events = []
        for event in split_field(row["events"]):
            at = text.find(event)
            if at < 0:
                raise ValueError(f"{where}: event {event!r} is not in the text")
            events.append((at, at + len(event), event))
        if (row["kind"] in HARM_KINDS) != bool(events):
            raise ValueError(f"{where}: a {row['kind']} row must {'' if row['kind'] in HARM_KINDS else 'not '}"
                             "mark events")
        rows.append({"id": row["id"], "text": text, "kind": row["kind"], "drug": (row["drug"] or "").strip() or None,
                     "events": events, "terms": split_field(row.get("terms") or "")})
    return rows


def found_events(doc) -> list[tuple[int, int, str, str | None]]:
    """(start_char, end_char, event, drug) of each event the doc's asserted harm outcomes carry."""
    out: dict[tuple[int, int, str | None], tuple[int, int, str, str | None]] = {}
    for outcome in doc.spans.get("outcomes", []):
        if outcome.label_ not in HARM_KINDS or outcome._.negated or outcome._.hypothetical or not outcome._.events:
            continue
        sentence = doc[outcome.start].sent
        for entity in sentence.ents:
            if entity.label_ in EVENT_LABELS and event_term(entity) in outcome._.events:
                key = (entity.start_char, entity.end_char, outcome._.drug)
                out[key] = (entity.start_char, entity.end_char, entity.ent_id_, outcome._.drug)
    return list(out.values())


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def evaluate_events(nlp: Language, path: Path = DEV_FILE) -> dict:
    rows = read_event_set(path)
    found_total = found_right = gold_total = gold_found = drug_right = 0
    negatives = negatives_with_events = 0
    missed: Counter = Counter()
    wrong: Counter = Counter()
    wrong_drugs: list[str] = []
    for row, doc in zip(rows, nlp.pipe([r["text"] for r in rows], batch_size=64)):
        found = found_events(doc)
        spans = {(s, e): (name, drug) for s, e, name, drug in found}
        if row["kind"] not in HARM_KINDS:
            negatives += 1
            negatives_with_events += bool(spans)
        found_total += len(spans)
        for (s, e), (name, _) in spans.items():
            if any(_overlaps((s, e), g[:2]) for g in row["events"]):
                found_right += 1
            else:
                wrong[name] += 1
        for number, (s, e, text) in enumerate(row["events"]):
            gold_total += 1
            hits = [drug for (fs, fe), (_, drug) in spans.items() if _overlaps((fs, fe), (s, e))]
            if hits:
                gold_found += 1
                if row["drug"] is None or row["drug"] in hits:
                    drug_right += 1
                else:
                    wrong_drugs.append(f"{row['id']} {row['drug']}->{'/'.join(sorted({h or '-' for h in hits}))}")
            else:
                term = row["terms"][number] if number < len(row["terms"]) else text.lower()
                missed[term] += 1
    return {
        "file": str(path), "rows": len(rows), "events": gold_total,
        "precision": found_right / found_total if found_total else 0.0,
        "recall": gold_found / gold_total if gold_total else 0.0,
        "drug_accuracy": drug_right / gold_found if gold_found else 0.0,
        "negatives": negatives,
        "negative_false_positive_rate": negatives_with_events / negatives if negatives else 0.0,
        "missed": missed, "wrongly_found": wrong, "wrong_drugs": wrong_drugs,
    }


def format_event_report(f: dict) -> str:
    t = TARGETS

    def mark(ok: bool) -> str:
        return "ok" if ok else "below"

    p, r = f["precision"], f["recall"]
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    lines = [
        f"{f['file']}: {f['rows']} written sentences, {f['events']} marked adverse events, {f['negatives']} "
        f"without one{' (never used to tune)' if Path(f['file']).name == DEV_FILE.name else ''}",
        f"  events precision {p:.3f} (target >= {t['precision']})  {mark(p >= t['precision'])}",
        f"  events recall    {r:.3f} (target >= {t['recall']})  {mark(r >= t['recall'])}   F1 {f1:.3f}",
        f"  events tied to the right drug {f['drug_accuracy']:.3f} (target >= {t['drug_accuracy']})  "
        f"{mark(f['drug_accuracy'] >= t['drug_accuracy'])}",
        f"  negatives with an event found {f['negative_false_positive_rate']:.1%} of {f['negatives']} "
        f"(no side effects, indications, fears, someone else's; target <= {t['negative_false_positive_rate']:.0%})"
        f"  {mark(f['negative_false_positive_rate'] <= t['negative_false_positive_rate'])}",
    ]
    lines += _term_lists(f, missed=40, wrongly_found=30)
    if f["wrong_drugs"]:
        lines.append("  wrong drug: " + "; ".join(f["wrong_drugs"][:15]))
    return "\n".join(lines)


def _term_lists(f: dict, missed: int, wrongly_found: int) -> list[str]:
    """The report's lines of the terms most often missed and wrongly found (at most this many of each)."""
    return [f"  {key.replace('_', ' ')}: " + ", ".join(f"{k} ({v})" if v > 1 else k for k, v in f[key].most_common(most))
            for key, most in (("missed", missed), ("wrongly_found", wrongly_found)) if f[key]]


def report(nlp: Language, path: Path = DEV_FILE) -> str:
    if not path.exists():
        return f"adverse events: skipped ({path} is missing)"
    return format_event_report(evaluate_events(nlp, path))


# --- real side-effect texts read by hand ---------------------------------------------------

REAL_FILE = REPO_DATA / "evaluation" / "druglib_side_effect_events.tsv"
REAL_COLUMNS = ("review_id", "drug", "events", "alternates")


def read_real_set(path: Path = REAL_FILE) -> list[dict]:
    """The rows of a file of DrugLib side-effect texts read by hand (its header says how): the review, the events
    read (preferred terms) and the "found->read" pairs accepted as the same event under another term."""
    from fms_pipeline.nlp.reviews import is_held_back

    rows, seen = [], set()
    for number, row in read_rows(path, REAL_COLUMNS):
        where = f"{path} row {number}"
        if not (row["review_id"] or "").isdigit():
            raise ValueError(f"{where}: review_id {row['review_id']!r} is not a whole number")
        review_id = int(row["review_id"])
        if is_held_back(review_id):
            raise ValueError(f"{where}: review {review_id} is held back for measuring and must not be read")
        if review_id in seen:
            raise ValueError(f"{where}: review {review_id} is read twice")
        seen.add(review_id)
        alternates: dict[str, set[str]] = {}
        for pair in split_field(row["alternates"]):
            found, arrow, read = pair.partition("->")
            if not arrow or not found.strip() or not read.strip():
                raise ValueError(f"{where}: alternate {pair!r} is not 'found->read'")
            alternates.setdefault(found.strip(), set()).add(read.strip())
        rows.append({"review_id": review_id, "events": set(split_field(row["events"])), "alternates": alternates})
    return rows


def is_tuning_text(review_id: int) -> bool:
    """The read texts whose misses the rules and vocabulary may be grown from (odd review ids); the others
    (even ids) are measured only."""
    return review_id % 2 == 1


def evaluate_real_events(nlp: Language, druglib_file: Path, path: Path = REAL_FILE) -> dict:
    """Events found in the read side-effect texts, headed as a review table gives them, against the events read:
    per text, a found term counts as read when it is, or when an accepted alternate of it is (a withdrawal outcome
    is the event "withdrawal"); micro precision
    and recall over all texts, and over the texts tuned on and the others (``is_tuning_text``)."""
    from fms_pipeline.nlp import reviews
    from fms_pipeline.parsing.sources.tabular import header_label, headed

    heading = header_label("sideEffectsReview")  # as the review-table parser heads DrugLib's column
    rows = read_real_set(path)
    by_id = {r.review_id: r for r in reviews.read_druglib(druglib_file)}
    absent = [row["review_id"] for row in rows if row["review_id"] not in by_id]
    if absent:
        raise reviews.NotAmongTheReviews(f"{path}: review(s) {', '.join(map(str, absent[:5]))} are not in "
                                         f"{druglib_file}")
    texts = [(headed(heading, by_id[row["review_id"]].side_effects_text), by_id[row["review_id"]].drug) for row in rows]
    groups = {name: Counter() for name in ("all", "tuning", "unseen")}
    missed: Counter = Counter()
    wrong: Counter = Counter()
    for row, doc in zip(rows, nlp.pipe(reviews._stated(nlp, texts), batch_size=64)):
        asserted = [s for s in doc.spans["outcomes"] if s.label_ in HARM_KINDS and not s._.negated
                    and not s._.hypothetical]
        # Withdrawal read as an event is the pipeline's withdrawal outcome (its events are the symptoms, never
        # "withdrawal" itself: ``events.NO_EVENT``).
        found = {e for s in asserted for e in s._.events} | (
            {"withdrawal"} if any(s.label_ == "withdrawal" for s in asserted) else set())
        counts: Counter = Counter(texts=1, found=len(found), read=len(row["events"]))
        as_read = set()
        for term in sorted(found):  # sorted: the lists' ties in the same order every run
            same = row["events"] & ({term} | row["alternates"].get(term, set()))
            as_read |= same
            if same:
                counts["right"] += 1
            else:
                wrong[term] += 1
        counts["read_found"] = len(row["events"] & as_read)
        missed.update(sorted(row["events"] - as_read))
        for name in ("all", "tuning" if is_tuning_text(row["review_id"]) else "unseen"):
            groups[name].update(counts)
    figures = {name: {"texts": c["texts"], "events": c["read"], "found": c["found"],
                      "precision": c["right"] / c["found"] if c["found"] else 0.0,
                      "recall": c["read_found"] / c["read"] if c["read"] else 0.0} for name, c in groups.items()}
    return {"file": str(path), **figures["all"], "tuning": figures["tuning"], "unseen": figures["unseen"],
            "missed": missed, "wrongly_found": wrong}


def format_real_report(f: dict) -> str:
    t = TARGETS

    def figures(g: dict) -> str:
        p, r = g["precision"], g["recall"]
        return (f"precision {p:.3f} (target >= {t['precision']})  {'ok' if p >= t['precision'] else 'below'}; "
                f"recall {r:.3f} (target >= {t['recall']})  {'ok' if r >= t['recall'] else 'below'}")

    lines = [
        f"{f['file']}: {f['texts']} real DrugLib side-effect texts (training split) read by hand, {f['events']} "
        "events read, headed as a review table gives them",
        f"  events {figures(f)}",
        f"  texts never tuned on (even review ids, {f['unseen']['texts']}, {f['unseen']['events']} events): "
        f"{figures(f['unseen'])}",
        f"  texts whose misses the vocabulary was grown from (odd ids, {f['tuning']['texts']}): {figures(f['tuning'])}",
    ]
    return "\n".join(lines + _term_lists(f, missed=30, wrongly_found=20))


def real_report(nlp: Language, druglib_file: Path) -> str:
    for needed in (path for path in (REAL_FILE, druglib_file) if not path.exists()):
        return f"real side-effect texts: skipped ({needed} is missing)"
    return format_real_report(evaluate_real_events(nlp, druglib_file))
