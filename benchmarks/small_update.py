"""The fixed cost of a small update, itemised: a data folder holding the sample page is processed
once, then ``--repeats`` times one new generated page is added and ``fms-pipeline materialize``
runs in a fresh process, as a user would run it. CPU seconds (not wall: the machine may be
shared) of each part are measured in that process with ``time.process_time`` around the functions
that do them; the whole process's CPU comes from the operating system (``getrusage``).

    .venv/bin/python -m benchmarks.small_update --repeats 5

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


def _child(data: str, out: str) -> int:
    """One ``materialize`` with CPU timers around its parts; the figures go to ``out`` (JSON)."""
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
    start = clock()
    code = cli.main(["--data-dir", data, "materialize"])
    totals["materialize"] = clock() - start
    Path(out).write_text(json.dumps(totals))
    return code


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
    parser.add_argument("--child", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.exit(_child(*args.child))

    from benchmarks.corpus import write_corpus

    root = Path(tempfile.mkdtemp(prefix="fms-small-update-"))
    data, home, pages = root / "data", root / "dagster_home", root / "pages"
    (data / "raw").mkdir(parents=True)
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n")
    shutil.copy(SAMPLE, data / "raw")
    for i in range(args.repeats):
        write_corpus(pages, words=1, seed=100 + i, start=1000 + i)  # one page of ~1,700 words each
    env = {**os.environ, "DAGSTER_HOME": str(home), "FMS_WORKERS": "1"}
    command = [sys.executable, "-m", "benchmarks.small_update", "--child", str(data), str(root / "parts.json")]

    def run() -> tuple[float, float, dict]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"materialize failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return cpu, wall, json.loads((root / "parts.json").read_text())

    run()  # the sample, processed once (not measured)
    rows = []
    for page in sorted(pages.iterdir()):
        shutil.move(page, data / "raw" / page.name)
        cpu, wall, timers = run()
        rows.append({"wall (machine-dependent)": wall, **_parts(timers, cpu)})
    shutil.rmtree(root, ignore_errors=True)
    print(f"adding one page (~1,700 words) to the sample, {len(rows)} times; CPU seconds, median (min-max)")
    for key in rows[0]:
        values = [r[key] for r in rows]
        print(f"  {key:<45} {statistics.median(values):6.2f}  ({min(values):.2f}-{max(values):.2f})")


if __name__ == "__main__":
    main()
