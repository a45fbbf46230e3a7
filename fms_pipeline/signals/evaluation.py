"""How well IC025 ranks known adverse reactions above negative controls on real patient text.

WEB-RADR (Caster et al. 2018, Drug Saf 41:1355) found that disproportionality on Twitter and Facebook
posts ranked known drug–event pairs no better than chance (AUC 0.47–0.53). This measures the same on
the DrugLib reviews (``../shared/corpus/druglib``, CC BY 4.0; Gräßer et al. 2018): each review is a
report of one drug (its ``urlDrugName``, mapped to the generic name by the drug dictionary) with the
events the pipeline finds in its side-effects text (asserted symptoms and conditions of the patient),
less the review's ``condition`` (the indication). The 2×2 tables are counted by the warehouse's SQL
(``sql/signal_units.sql``, ``sql/drug_event_2x2.sql``) and scored by ``build.signal_statistics``;
the reference set is ``reference/label_reactions.tsv`` (label adverse reactions and negative controls).

PsyTAR's sentences are labelled ADR/WD/EF/INF but do not say which of the four drugs they are about,
so they cannot make drug–event reports; they are not used here.

Run: ``python -m fms_pipeline.signals.evaluation [reviews.tsv]``.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl

DEFAULT_REVIEWS = Path("../shared/corpus/druglib/reviews_train.tsv")
EVENT_LABELS = ("SYMPTOM", "CONDITION")


@dataclass(frozen=True)
class Evaluation:
    reviews: int
    reports: int  # reviews of a known drug with at least one event
    pairs: int
    reference_pairs: int  # reference pairs whose drug and event both occur in the reports
    positives_reported: int
    negatives_reported: int
    auc_reported: float  # over the reference pairs reported at least once
    auc_all: float  # over every evaluable reference pair (a = 0 included)


def reference_set() -> list[tuple[str, str, bool]]:
    """(drug, event, known adverse reaction) rows of ``reference/label_reactions.tsv``."""
    text = resources.files(__package__).joinpath("reference").joinpath("label_reactions.tsv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return [(r["drug"], r["event"], r["known"] == "1") for r in csv.DictReader(lines, delimiter="\t")]


def auc(positive_scores, negative_scores) -> float:
    """Area under the ROC curve: P(a positive outscores a negative), ties counting one half."""
    pos, neg = np.asarray(positive_scores, dtype=float), np.asarray(negative_scores, dtype=float)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def generic_name(url_name: str) -> str | None:
    """The generic name of a DrugLib ``urlDrugName`` ("effexor-xr" -> venlafaxine), None when unknown."""
    from fms_pipeline.nlp.drug_lexicon import drug_lexicon

    lexicon = drug_lexicon()
    name = url_name.strip().lower()
    for candidate in (name, name.replace("-", " "), name.split("-")[0]):
        if candidate in lexicon:
            return lexicon[candidate].canonical
    return None


def druglib_reports(path: Path, nlp=None) -> pl.DataFrame:
    """One row per (review, drug, event): the drug_events of the reviews."""
    from fms_pipeline.nlp.pipeline import shared_nlp
    from fms_pipeline.nlp.reviews import read_druglib

    nlp = nlp or shared_nlp()
    reviews = [r for r in read_druglib(path)]
    drugs = [generic_name(r.drug) for r in reviews]

    def events(texts: list[str]) -> list[set[str]]:
        return [{e.ent_id_ for e in doc.ents if e.label_ in EVENT_LABELS and not e._.negated
                 and not e._.hypothetical and getattr(e._, "experiencer", "patient") != "other"}
                for doc in nlp.pipe(texts, batch_size=64)]

    side_effects = events([r.side_effects_text or "" for r in reviews])
    indications = events([r.condition or "" for r in reviews])
    rows = [{"review_id": str(r.review_id), "drug": drug, "event": event}
            for r, drug, found, indication in zip(reviews, drugs, side_effects, indications) if drug
            for event in sorted(found - indication)]
    return pl.DataFrame(rows, schema={"review_id": pl.String, "drug": pl.String, "event": pl.String})


def statistics_of(reports: pl.DataFrame) -> pl.DataFrame:
    """drug_event_signals' rows (grouping 'drug', unit 'comment') for the reports, by the warehouse's SQL."""
    import duckdb

    from fms_pipeline.signals import build

    events = reports.select(
        pl.col("review_id").alias("comment_id"), pl.col("review_id").alias("document_id"), "drug",
        pl.lit("DRUG").alias("drug_label"), pl.lit(None, dtype=pl.String).alias("drug_class"), "event",
        pl.lit(None, dtype=pl.Date).alias("month"))
    with duckdb.connect() as con:
        con.register("drug_events", events.to_arrow())
        con.register("documents", events.select("document_id", pl.lit("druglib.com").alias("community"),
                                                pl.lit(None, dtype=pl.String).alias("byline")).unique().to_arrow())
        con.register("comments", events.select("comment_id", pl.lit(None, dtype=pl.String).alias("author"),
                                               pl.lit(True).alias("author_is_anonymous")).unique().to_arrow())
        con.execute(build.query("signal_units.sql"))
        counts = con.sql(build.query("drug_event_2x2.sql")).pl().filter(
            (pl.col("grouping") == "drug") & (pl.col("unit") == "comment"))
        by_month = con.sql(build.query("drug_event_2x2_by_month.sql")).pl()
    overall, _ = build.signal_statistics(counts, by_month)
    return overall


def evaluate(path: Path = DEFAULT_REVIEWS) -> Evaluation:
    from fms_pipeline.nlp.reviews import read_druglib
    from fms_pipeline.signals import disproportionality as dp

    reports = druglib_reports(path)
    scored = statistics_of(reports)
    ic025 = {(d, e): v for d, e, v in scored.select("drug", "event", "ic025").iter_rows()}
    n = int(scored.select((pl.col("a") + pl.col("b") + pl.col("c") + pl.col("d")).first()).item())
    with_drug = dict(scored.group_by("drug").agg((pl.col("a") + pl.col("b")).first()).iter_rows())
    with_event = dict(scored.group_by("event").agg((pl.col("a") + pl.col("c")).first()).iter_rows())
    reported, everything = {True: [], False: []}, {True: [], False: []}
    for drug, event, known in reference_set():
        if drug not in with_drug or event not in with_event:
            continue  # the drug or the event never occurs: nothing to rank
        if (drug, event) in ic025:
            reported[known].append(ic025[(drug, event)])
            everything[known].append(ic025[(drug, event)])
        else:  # a = 0: IC025 from the margins alone
            b, c = with_drug[drug], with_event[event]
            everything[known].append(float(dp.statistics([0], [b], [c], [n - b - c])["ic025"][0]))
    return Evaluation(
        reviews=len(read_druglib(path)),
        reports=reports["review_id"].n_unique(), pairs=len(scored),
        reference_pairs=len(everything[True]) + len(everything[False]),
        positives_reported=len(reported[True]), negatives_reported=len(reported[False]),
        auc_reported=auc(reported[True], reported[False]), auc_all=auc(everything[True], everything[False]),
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else DEFAULT_REVIEWS
    result = evaluate(path)
    print(f"DrugLib reviews: {result.reviews}; with a known drug and an event: {result.reports}; "
          f"drug–event pairs: {result.pairs}")
    print(f"reference pairs evaluable: {result.reference_pairs}; reported at least once: "
          f"{result.positives_reported} known, {result.negatives_reported} negative controls")
    print(f"AUC of IC025, pairs reported at least once: {result.auc_reported:.3f}")
    print(f"AUC of IC025, every evaluable reference pair (a = 0 included): {result.auc_all:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
