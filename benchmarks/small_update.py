"""The fixed cost of a small update, itemised: a data folder holding the sample page is processed
once, then ``--repeats`` times one new generated page is added and ``fms-pipeline materialize``
runs in a fresh process, as a user would run it. CPU seconds (not wall: the machine may be
shared) of each part are measured in that process with ``time.process_time`` around the functions
that do them; the whole process's CPU comes from the operating system (``getrusage``).

    .venv/bin/python -m benchmarks.small_update --repeats 5
    .venv/bin/python -m benchmarks.small_update --repeats 3 --resident --corpus-words 1000000   # watch at 1M words

Parts (CPU seconds, median over the repeats):
  nlp imports        importing fms_pipeline.nlp's pipeline (spaCy, wordfreq; scikit-learn before fa733fd)
  definitions import importing the Dagster definitions (Dagster, Polars, DuckDB, matplotlib)
  planning           listing raw/ and reading every batch's state
  parse              parsing the new file (its batch's other files are kept)
  nlp pipeline load  loading the saved spaCy pipeline (vocabulary rulers' ~44,000 phrases)
  nlp other          the NLP of the new file and writing its batch
  warehouse build    the incremental DuckDB update and its publication
  charts             matplotlib PNGs (asset pages and report)
  report             the HTML report without its charts
  summary            the printed summary (reads the warehouse)
  dagster            what the two runs cost beyond the steps' own work (events, checks, metadata)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "raw" / "duke-stanford-opioid-fibromyalgia-study.txt"


def _instrument() -> dict[str, float]:
    """Import the project with CPU timers around the functions that do each part; the returned
    dict collects their seconds (cleared by the caller between updates)."""
    totals: dict[str, float] = {}
    clock = time.process_time

    def timed(owner, name: str, part: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            start = clock()
            try:
                return original(*args, **kwargs)
            finally:
                totals[part] = totals.get(part, 0.0) + clock() - start

        setattr(owner, name, wrapper)

    start = clock()
    import fms_pipeline.nlp  # noqa: F401
    import fms_pipeline.nlp.pipeline as nlp_pipeline
    totals["nlp imports"] = clock() - start
    start = clock()
    import dagster as dg

    import fms_pipeline.definitions  # noqa: F401
    totals["definitions import"] = clock() - start

    from fms_pipeline import batches, cli, stages, warehouse
    from fms_pipeline.defs import reports as report_asset
    from fms_pipeline.reports import charts

    timed(batches, "plan_from_storage", "planning")
    timed(stages, "parse_buckets", "parse")
    timed(stages, "nlp_buckets", "nlp step")
    # fms_pipeline.nlp hands out the pipeline module's function (its __getattr__): wrapped once here.
    timed(nlp_pipeline, "shared_nlp", "nlp pipeline load")
    timed(warehouse, "build_warehouse", "warehouse build")
    timed(charts, "_png", "charts")
    timed(report_asset, "build_report", "report step")
    report = report_asset.build_report

    def report_with_its_charts(*args, **kwargs):
        before = totals.get("charts", 0.0)
        try:
            return report(*args, **kwargs)
        finally:
            totals["report charts"] = totals.get("report charts", 0.0) + totals.get("charts", 0.0) - before

    report_asset.build_report = report_with_its_charts
    timed(cli, "print_summary", "summary")
    timed(dg.JobDefinition, "execute_in_process", "runs")
    return totals


def _materialize(data: str, totals: dict[str, float]) -> int:
    from fms_pipeline import cli

    start = time.process_time()
    code = cli.main(["--data-dir", data, "materialize"])
    totals["materialize"] = time.process_time() - start
    return code


def _child(data: str, out: str) -> int:
    """One ``materialize`` in a fresh process; the parts' figures go to ``out`` (JSON)."""
    totals = _instrument()
    code = _materialize(data, totals)
    Path(out).write_text(json.dumps(totals))
    return code


def _resident_child(data: str, out: str, pages: str) -> int:
    """``fms-pipeline watch``'s case: one process that has already run the main job (imports done,
    the pipeline loaded) processes each page of ``pages`` in turn, moved into raw/ one at a time.
    The parts of every update (not of the first run) go to ``out`` (JSON list)."""
    totals = _instrument()
    if _materialize(data, totals) != 0:
        return 1
    rows = []
    for page in sorted(Path(pages).iterdir()):
        shutil.move(page, Path(data) / "raw" / page.name)
        totals.clear()
        totals.update({"nlp imports": 0.0, "definitions import": 0.0})
        usage = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.monotonic()
        if _materialize(data, totals) != 0:
            return 1
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
        rows.append({"wall": time.monotonic() - wall, "cpu": cpu, "timers": dict(totals)})
    Path(out).write_text(json.dumps(rows))
    return 0


def _parts(t: dict[str, float], whole: float) -> dict[str, float]:
    """Exclusive parts (each CPU second counted once) from the nested timers."""
    charts, report_charts = t.get("charts", 0.0), t.get("report charts", 0.0)
    load = t.get("nlp pipeline load", 0.0)
    steps = t.get("parse", 0.0) + t.get("nlp step", 0.0) + t.get("warehouse build", 0.0) + t.get("report step", 0.0)
    return {
        "whole process": whole,
        "process start, imports before the run": whole - t["materialize"] - t["nlp imports"]
        - t["definitions import"],
        "nlp imports": t["nlp imports"],
        "definitions import": t["definitions import"],
        "planning": t.get("planning", 0.0),
        "parse": t.get("parse", 0.0),
        "nlp pipeline load": load,
        "nlp other": t.get("nlp step", 0.0) - load,
        "warehouse build": t.get("warehouse build", 0.0),
        "charts (asset pages and report)": charts,
        "report without charts": t.get("report step", 0.0) - report_charts,
        "summary": t.get("summary", 0.0),
        "dagster (runs beyond their steps' work)": t.get("runs", 0.0) - steps - (charts - report_charts),
        "other (CLI)": t["materialize"] - t.get("runs", 0.0) - t.get("planning", 0.0) - t.get("summary", 0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--resident", action="store_true",
                        help="every update in one process that has run the job before (fms-pipeline watch), "
                             "not a fresh process each (fms-pipeline materialize)")
    parser.add_argument("--corpus-words", type=int, default=0,
                        help="start from a generated corpus of about this many words (pages of --page-words) "
                             "beside the sample, processed once before the updates (default: the sample alone)")
    parser.add_argument("--page-words", type=int, default=440,
                        help="words of each generated page of --corpus-words and of each added page")
    parser.add_argument("--child", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--resident-child", nargs=3, metavar=("DATA", "OUT", "PAGES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.exit(_child(*args.child))
    if args.resident_child:
        sys.exit(_resident_child(*args.resident_child))

    from benchmarks.corpus import write_corpus

    root = Path(tempfile.mkdtemp(prefix="fms-small-update-"))
    data, home, pages = root / "data", root / "dagster_home", root / "pages"
    (data / "raw").mkdir(parents=True)
    home.mkdir()
    shutil.copy(SAMPLE, data / "raw")
    if args.corpus_words:
        write_corpus(data / "raw", words=args.corpus_words, page_words=args.page_words)
    for i in range(args.repeats):
        # one page each: ~1,700 words (a long thread) on the sample alone, else one of --page-words
        write_corpus(pages, words=1, seed=100 + i, start=90000 + i,
                     page_words=args.page_words if args.corpus_words else None)
    # DAGSTER_HOME/dagster.yaml as the CLI writes it (ensure_dagster_home) in the child. One worker:
    # a small update's work fits one; a corpus is processed first with every core.
    env = {**os.environ, "DAGSTER_HOME": str(home), "FMS_WORKERS": "1"}
    if args.corpus_words:
        del env["FMS_WORKERS"]

    def run(child_args: list[str]) -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        command = [sys.executable, "-m", "benchmarks.small_update", *child_args]
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"materialize failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall

    out = root / "parts.json"
    rows = []
    if args.resident:
        run(["--resident-child", str(data), str(out), str(pages)])
        for update in json.loads(out.read_text()):
            parts = _parts(update["timers"], update["cpu"])
            del parts["process start, imports before the run"], parts["nlp imports"], parts["definitions import"]
            rows.append({"wall (machine-dependent)": update["wall"], **parts})
        what = "in one resident process (fms-pipeline watch)"
    else:
        run(["--child", str(data), str(out)])  # the sample, processed once (not measured)
        for page in sorted(pages.iterdir()):
            shutil.move(page, data / "raw" / page.name)
            cpu, wall = run(["--child", str(data), str(out)])
            rows.append({"wall (machine-dependent)": wall, **_parts(json.loads(out.read_text()), cpu)})
        what = "a fresh process each (fms-pipeline materialize)"
    shutil.rmtree(root, ignore_errors=True)
    base = f"the sample and a {args.corpus_words:,}-word corpus" if args.corpus_words else "the sample"
    size = f"~{args.page_words}" if args.corpus_words else "~1,700"
    print(f"adding one page ({size} words) to {base}, {len(rows)} times, {what}; CPU seconds, median (min-max)")
    for key in rows[0]:
        values = [r[key] for r in rows]
        print(f"  {key:<45} {statistics.median(values):6.2f}  ({min(values):.2f}-{max(values):.2f})")


if __name__ == "__main__":
    main()
