"""Benchmark: what the signal and trend tables add to a full warehouse build (issue 18).

Writes staged Parquet for ``--comments`` comments directly (no parsing, no NLP: the text and the
spans are generated together, so the build's span checks pass), then builds the warehouse from it
twice, each a full build: with every SQL file, and without the signal and trend tables
(``drug_events``, ``drug_event_signals``, ``drug_event_signals_by_month``, ``trend_breaks``; the
rates and ``activity_by_month`` stay, the by-month tables need them). Prints both times, the
difference as a share of the build without them, the time of each signal step (from the build with
them) and, for scale, the same difference as a share of a whole ``materialize`` of that many words at
the end-to-end speed in RESULTS.md (38,505 words/s on 2 cores, session 3).

    uv run --frozen python benchmarks/signals.py --comments 1000000

The corpus: 20 comments a document, authors drawn from 100,000 names (Zipf), comments spread over
120 months (2014-2023, growing), 80 drugs (Zipf) and 40 symptoms; 10% of comments report an adverse
effect ("<drug> gave me <symptom> as a side effect."), 8% an effect, 2% withdrawal, 40% name a drug
only, the rest no drug. Replaces the ``<!-- measured:signals -->`` section of RESULTS.md unless
``--no-write``; the last line printed is the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from fms_pipeline import staging, tables, warehouse  # noqa: E402
from fms_pipeline.nlp.drug_lexicon import read_vocabulary  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")
SIGNAL_TABLES = {"drug_events", "drug_event_signals", "drug_event_signals_by_month", "trend_breaks"}
END_TO_END_WORDS_PER_S = 38_505  # RESULTS.md, session 3: 9.7M words on 2 cores
FILLERS = ["Hang in there everyone, the weather has been rough on my joints this week.",
           "My doctor wants to see me again next month.", "Has anyone tried swimming for the stiffness?",
           "I slept badly again but the morning was better.", "Thanks for sharing, this group helps a lot."]


def _drugs() -> list[str]:
    members = read_vocabulary("drug_class_members.tsv")
    return [d for ds in members.values() for d in ds if " " not in d][:80]


def write_staging(staging_dir: Path, comments: int, seed: int = 18) -> int:
    """Staged tables for ``comments`` comments; returns the number of words in their bodies."""
    rng = np.random.default_rng(seed)
    drugs = _drugs()
    symptoms = [s for s in read_vocabulary("adverse_events.tsv") if s != "withdrawal"][:40]
    n_docs = max(1, comments // 20)
    doc_of = np.sort(rng.integers(0, n_docs, comments))
    kind = rng.choice(5, size=comments, p=[0.10, 0.08, 0.02, 0.40, 0.40])
    drug = np.minimum(rng.zipf(1.6, comments) - 1, len(drugs) - 1)
    related = (drug * 3 + rng.geometric(0.5, comments)) % len(symptoms)
    symptom = np.where(rng.random(comments) < 0.5, related, rng.integers(0, len(symptoms), comments))
    author = np.minimum(rng.zipf(1.4, comments), 100_000)
    start = datetime(2014, 1, 1, tzinfo=UTC).timestamp()
    span = datetime(2024, 1, 1, tzinfo=UTC).timestamp() - start
    published = start + span * np.sqrt(rng.random(comments))  # more comments in later years
    filler = rng.integers(0, len(FILLERS), comments)

    bodies, mentions, outcomes, words = [], [], [], 0
    for i in range(comments):
        d, s, f = drugs[drug[i]], symptoms[symptom[i]], FILLERS[filler[i]]
        cid, did = f"c{i}", f"d{doc_of[i]}"
        k = kind[i]
        if k == 0:
            body = f"{d} gave me {s} as a side effect. {f}"
            spans = [("DRUG", 0, d), ("SYMPTOM", len(d) + 9, s)]
            outcome = ("adverse_effect", len(d) + 1, "gave me", s)
        elif k == 1:
            body = f"{d} helps my {s} a lot. {f}"
            spans = [("DRUG", 0, d), ("SYMPTOM", len(d) + 10, s)]
            outcome = ("effective", len(d) + 1, "helps", None)
        elif k == 2:
            body = f"Coming off {d} gave me withdrawal. {f}"
            spans = [("DRUG", 11, d), ("SYMPTOM", 11 + len(d) + 9, "withdrawal")]
            outcome = ("withdrawal", 0, "Coming off", None)
        elif k == 3:
            body = f"I also take {d} most days. {f}"
            spans, outcome = [("DRUG", 12, d)], None
        else:
            body, spans, outcome = f, [], None
        bodies.append(body)
        words += len(body.split())
        for j, (label, at, text) in enumerate(spans):
            mentions.append((f"m{i}_{j}", did, cid, label, text, text, at, at + len(text)))
        if outcome is not None:
            label, at, text, sym = outcome
            outcomes.append((f"o{i}", did, cid, label, d, sym, text, at, at + len(text)))

    frames = {
        "comments": pl.DataFrame({
            "comment_id": [f"c{i}" for i in range(comments)], "document_id": [f"d{x}" for x in doc_of],
            "author": [f"user{a}" for a in author], "author_is_anonymous": np.zeros(comments, bool),
            "published_at": pl.Series((published * 1e6).astype(np.int64)).cast(pl.Datetime("us", "UTC")),
            "body": bodies, "depth": np.ones(comments, np.int32),
        }).with_columns(pl.int_range(1, pl.len() + 1).over("document_id").cast(pl.Int32).alias("position")),
        "entity_mentions": pl.DataFrame(mentions, schema=["mention_id", "document_id", "comment_id", "label", "text",
                                                          "canonical", "start_char", "end_char"], orient="row")
        .with_columns(pl.lit(0).alias("sentence"), pl.lit(False).alias("negated"), pl.lit(False).alias("hypothetical"),
                      pl.lit(False).alias("historical"), pl.lit("patient").alias("experiencer")),
        "outcome_mentions": pl.DataFrame(outcomes, schema=["outcome_id", "document_id", "comment_id", "outcome", "drug",
                                                           "symptom", "text", "start_char", "end_char"], orient="row")
        .with_columns(pl.lit(0).alias("sentence"), pl.lit(False).alias("negated"), pl.lit(False).alias("hypothetical")),
    }
    frames["sentences"] = frames["comments"].select(
        "document_id", "comment_id", pl.lit(0).alias("sentence"), pl.lit(0).alias("start_char"),
        pl.col("body").str.len_chars().alias("end_char"), pl.lit(0.0).alias("sentiment"), pl.lit(0.0).alias("tone"))
    documents = frames["comments"].group_by("document_id").agg(
        pl.col("published_at").min(), pl.len().cast(pl.Int32).alias("comment_count"))
    frames["documents"] = documents.with_columns(
        (pl.col("document_id") + ".ndjson").alias("source_file"), pl.lit("reddit_ndjson").alias("source_format"),
        pl.lit("ChronicPain").alias("community"), pl.lit("Monthly thread").alias("title"),
        pl.lit("").alias("body"), pl.lit(True).alias("has_comment_section"))
    frames["source_files"] = frames["documents"].select(
        "source_file", (pl.col("document_id").str.slice(1).cast(pl.Int64) % staging.BUCKETS).cast(pl.String)
        .str.zfill(2).alias("bucket"), pl.lit("staged").alias("status"), pl.lit("reddit_ndjson").alias("source_format"),
        pl.lit(1).alias("documents"), "comment_count", pl.lit("x").alias("sha256"), pl.lit("x").alias("fingerprint"),
        pl.lit("bench").alias("pipeline_version"), pl.lit("bench").alias("nlp_version"),
    ).rename({"comment_count": "comments"})
    for table, frame in frames.items():
        bucket = (pl.col("bucket").cast(pl.Int64) if table == "source_files"
                  else pl.col("document_id").str.slice(1).cast(pl.Int64) % staging.BUCKETS)
        for (b,), part in frame.with_columns(bucket.alias("_bucket")).group_by(["_bucket"]):
            staging.write_bucket(staging_dir, table, f"{int(b):02d}", tables.conform(table, part.drop("_bucket")))
    return words


def timed_build(staging_dir: Path, out: Path, with_signals: bool) -> tuple[float, dict[str, float]]:
    """Seconds of a full build (without the signal tables: from a catalogue without them), and the
    seconds of each signal step (its Python view) when they run."""
    steps: dict[str, float] = {}
    catalog = None if with_signals else {n: t for n, t in tables.TABLES.items() if n not in SIGNAL_TABLES}
    original = dict(warehouse.PYTHON_VIEWS)
    names = {"drug_event_statistics": "2x2 SQL + statistics (drug_event_signals and by month)",
             "trend_break_estimates": "monthly series SQL + change points + ITS (trend_breaks)"}

    def timing(name, fn):
        def run(con):
            t = time.perf_counter()
            fn(con)
            steps[name] = steps.get(name, 0.0) + time.perf_counter() - t
        return run

    warehouse.PYTHON_VIEWS.update({view: timing(label, original[view]) for view, label in names.items()})
    try:
        t = time.perf_counter()
        warehouse.build_warehouse(staging_dir, out, incremental=False, catalog=catalog)
        total = time.perf_counter() - t
    finally:
        warehouse.PYTHON_VIEWS.clear()
        warehouse.PYTHON_VIEWS.update(original)
    return total, steps


def drug_events_seconds(path: Path) -> float:
    """Seconds of 07_drug_events.sql alone, run again on a copy of the built warehouse."""
    import shutil

    import duckdb

    copy = path.with_name("copy.duckdb")
    shutil.copyfile(path, copy)
    sql = dict(warehouse.sql_files("aggregates"))["07_drug_events.sql"]
    with duckdb.connect(str(copy)) as con:
        con.execute("DROP TABLE drug_events")
        t = time.perf_counter()
        con.execute(sql)
        return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fms-bench-signals-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        words = write_staging(root / "staging", args.comments)
        generated = time.perf_counter() - t
        without, _ = timed_build(root / "staging", root / "without.duckdb", with_signals=False)
        with_, steps = timed_build(root / "staging", root / "with.duckdb", with_signals=True)
        steps = {"drug_events SQL": drug_events_seconds(root / "with.duckdb"), **steps}
        import duckdb

        with duckdb.connect(str(root / "with.duckdb"), read_only=True) as con:
            rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in
                    ("comments", "drug_events", "drug_event_signals", "drug_event_signals_by_month", "trend_breaks")}
    added = with_ - without
    end_to_end = words / END_TO_END_WORDS_PER_S + without
    figures = {
        "comments": args.comments, "words": words, "staging_generated_s": round(generated, 1),
        "build_without_s": round(without, 2), "build_with_s": round(with_, 2), "added_s": round(added, 2),
        "added_share_of_build": round(added / without, 3),
        "added_share_of_materialize_estimate": round(added / end_to_end, 4),
        "steps_s": {k: round(v, 2) for k, v in steps.items()}, "rows": rows,
        "steps_share_of_build": round(sum(steps.values()) / without, 3),
        "cpu": os.cpu_count(), "load_average": os.getloadavg()[0], "python": platform.python_version(),
    }
    print(f"{args.comments:,} comments, {words:,} words (staging generated in {generated:.1f} s)")
    print(f"full warehouse build without the signal and trend tables: {without:.1f} s; with them: {with_:.1f} s")
    print(f"added: {added:.1f} s = {100 * added / without:.1f}% of the build; "
          f"{100 * added / end_to_end:.2f}% of a whole materialize of these words (~{end_to_end:.0f} s at "
          f"{END_TO_END_WORDS_PER_S:,} words/s)")
    for name, seconds in steps.items():
        print(f"  {name}: {seconds:.1f} s")
    print(f"the signal steps timed inside the build: {sum(steps.values()):.1f} s = "
          f"{100 * sum(steps.values()) / without:.1f}% of the build without them (the difference of two builds "
          "is only meaningful on an idle machine)")
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
    if not args.no_write:
        _write_results(figures)
    print(json.dumps(figures))
    return 0


def _write_results(f: dict) -> None:
    steps = "; ".join(f"{k} {v} s" for k, v in f["steps_s"].items())
    rows = ", ".join(f"`{k}` {v:,}" for k, v in f["rows"].items())
    section = (
        "<!-- measured:signals -->\n"
        f"### Signal and trend tables (issue 18), {datetime.now(UTC):%Y-%m-%d}\n\n"
        f"`benchmarks/signals.py --comments {f['comments']}`: staged data of {f['comments']:,} comments "
        f"({f['words']:,} words) written directly, then two full warehouse builds ({f['cpu']} cores, load average "
        f"{f['load_average']:.1f} at the end): **without** the signal and trend tables {f['build_without_s']} s, "
        f"**with** them {f['build_with_s']} s: **+{f['added_s']} s, {100 * f['added_share_of_build']:.1f}% of the "
        f"warehouse build** and {100 * f['added_share_of_materialize_estimate']:.2f}% of a whole `materialize` of "
        f"these words at the measured end-to-end speed. Steps: {steps}. Rows: {rows}.\n"
        "<!-- /measured:signals -->\n"
    )
    text = RESULTS.read_text(encoding="utf-8")
    begin, end = "<!-- measured:signals -->", "<!-- /measured:signals -->\n"
    if begin in text:
        text = text[:text.index(begin)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
