"""A deterministic review table (CSV in DrugLib's columns plus a date and an author, some review
fields spanning lines) of a chosen size, and the peak memory of parsing it as the pipeline does.

    uv run --frozen python benchmarks/review_table.py --megabytes 1024

writes the table to a temporary folder, then in a fresh process runs the parse step's
``stages.parse_file`` over it (the table reader's blocks, ``record_batches`` into Parquet parts,
``assemble_threads`` a part at a time, the staged Parquet) and prints rows/s and that process's
peak resident memory, which must stay well under the table's size.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import FIRST, LAST, _sentences, sentence_pool

DRUGS = ["lyrica", "cymbalta", "savella", "neurontin", "ultram", "tramadol", "oxycontin", "percocet", "vicodin",
         "norco", "elavil", "flexeril", "celebrex", "naproxen", "ibuprofen", "prednisone", "suboxone", "methadone",
         "gabapentin", "duloxetine", "amitriptyline", "cyclobenzaprine", "meloxicam", "tylenol", "zoloft"]
CONDITIONS = ["fibromyalgia", "chronic pain", "back pain", "neuropathy", "arthritis", "migraine", "depression"]
EFFECTIVENESS = ["Highly Effective", "Considerably Effective", "Moderately Effective", "Marginally Effective",
                 "Ineffective"]
SIDE_EFFECTS = ["No Side Effects", "Mild Side Effects", "Moderate Side Effects", "Severe Side Effects",
                "Extremely Severe Side Effects"]
COLUMNS = ["reviewID", "urlDrugName", "rating", "effectiveness", "sideEffects", "condition", "date", "author",
           "benefitsReview", "sideEffectsReview", "commentsReview"]


def write_review_table(path: Path, megabytes: int, seed: int = 7) -> dict:
    """Rows until the file holds ``megabytes`` MiB; one review in ten has a field of two paragraphs
    (a quoted field spanning lines), one in fifty an empty text (a skipped row)."""
    rng = random.Random(seed)
    pool = sentence_pool()
    limit = megabytes << 20
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        while f.tell() < limit:
            for _ in range(1000):
                benefits = _sentences(rng, pool, rng.randint(1, 3))
                if rng.random() < 0.1:
                    benefits += "\n\n" + _sentences(rng, pool, 1)
                empty = rng.random() < 0.02
                out.writerow([
                    rows + 1, rng.choice(DRUGS), rng.randint(1, 10), rng.choice(EFFECTIVENESS),
                    rng.choice(SIDE_EFFECTS), rng.choice(CONDITIONS),
                    f"20{rng.randint(10, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    "" if empty else benefits, "" if empty else _sentences(rng, pool, rng.randint(1, 2)),
                    "" if empty else _sentences(rng, pool, rng.randint(0, 2)),
                ])
                rows += 1
    return {"rows": rows, "bytes": path.stat().st_size}


def _measure_in_this_process(table: Path, work: Path) -> dict:
    from fms_pipeline import stages
    from fms_pipeline.nlp.drug_lexicon import canonical_drug

    canonical_drug("lyrica")  # the drug lexicon (and spaCy, which its package imports), as a parse worker holds
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    result = stages.parse_file(table.parent, work, table.name, "b0", "benchmark", table.stat().st_size)
    seconds = time.perf_counter() - started
    assert result.status == "staged", result.reason
    return {
        "staged_comments": result.comments, "staged_documents": result.documents,
        "skipped_rows": result.skipped_records, "seconds": round(seconds, 1),
        "rows_per_second": round((result.comments + result.skipped_records) / seconds),
        "megabytes_per_second": round(table.stat().st_size / 2**20 / seconds, 1),
        "cpu_seconds": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
        "baseline_rss_mib": round(baseline),  # after imports and the lexicon, before the table
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def measure(megabytes: int, work: Path, seed: int = 7) -> dict:
    raw = work / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    table = raw / f"reviews_{megabytes}mb.csv"
    started = time.perf_counter()
    written = write_review_table(table, megabytes, seed)
    generate_seconds = time.perf_counter() - started
    (work / "parse").mkdir(exist_ok=True)
    # A fresh process, so its peak memory is that of parsing alone.
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.review_table", "--measure", str(table), str(work / "parse")],
        check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    measured = json.loads(result.stdout.splitlines()[-1])
    measured["peak_rss_share_of_table"] = round(measured["peak_rss_mib"] * 2**20 / written["bytes"], 3)
    return {**written, "table_mib": round(written["bytes"] / 2**20), "generate_seconds": round(generate_seconds, 1),
            **measured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, help="folder for the table and the staged Parquet (default: temporary)")
    parser.add_argument("--measure", nargs=2, type=Path, metavar=("TABLE", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(_measure_in_this_process(*args.measure)))
        return
    if args.work:
        print(json.dumps(measure(args.megabytes, args.work, args.seed), indent=2))
        return
    with tempfile.TemporaryDirectory() as work:
        print(json.dumps(measure(args.megabytes, Path(work), args.seed), indent=2))


if __name__ == "__main__":
    main()
