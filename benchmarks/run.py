"""Benchmark: spaCy's tokenizer ceiling, load_nlp(), end to end through Dagster, memory,
the cost of adding one file, and the warehouse build alone.

    uv run --frozen python benchmarks/run.py --sizes 1M,10M

Writes the table to benchmarks/RESULTS.md (the measured section is replaced each run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus import write_corpus  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RUN_MAIN_JOB = (
    "import sys, time; from fms_pipeline import cli; t = time.perf_counter(); "
    "code = cli.main(sys.argv[1:]); print('BENCH', time.perf_counter() - t, flush=True); sys.exit(code)"
)


def parse_size(text: str) -> int:
    text = text.strip().upper()
    factor = {"K": 1_000, "M": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("KM")) * factor)


def texts_of(raw: Path) -> list[str]:
    from fms_pipeline.parsing.decode import decode_page
    from fms_pipeline.parsing.thread_format import parse_page

    texts = []
    for path in sorted(raw.glob("*.txt")):
        page = parse_page(decode_page(path.read_bytes()))
        texts += [page.body] + [c.body for c in page.comments]
    return texts


def _process_tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, grew = {root}, True
    while grew:
        children = {pid for pid, ppid in parents.items() if ppid in tree} - tree
        grew = bool(children)
        tree |= children
    return sorted(tree)


def _pss_bytes(pids: list[int]) -> int:
    """Proportional set size of the processes: shared pages (a fork server's pipeline) counted once."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            pass
    return total


def main_job(data: Path, home: Path, *args: str, workers: int | None = None) -> tuple[float, int]:
    """Seconds of `fms-pipeline materialize` and the peak memory (PSS) of it and its workers."""
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    if workers is not None:
        env["FMS_WORKERS"] = str(workers)
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen([sys.executable, "-c", RUN_MAIN_JOB, "--data-dir", str(data), "materialize", *args],
                                   env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, text=True)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _pss_bytes(_process_tree(process.pid)))
            time.sleep(0.25)
        out.seek(0)
        text = out.read()
    if process.returncode != 0:
        raise RuntimeError(f"the main job failed ({process.returncode}):\n{text[-3000:]}")
    line = next(l for l in text.splitlines() if l.startswith("BENCH"))
    return float(line.split()[1]), peak


def fresh_home(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return path


def measure(words_target: int, work: Path, cores: int) -> dict:
    from fms_pipeline import warehouse
    from fms_pipeline.nlp import load_nlp

    raw = work / f"raw-{words_target}"
    files, _ = write_corpus(raw, words_target)
    texts = texts_of(raw)
    words = sum(len(t.split()) for t in texts)
    nlp = load_nlp()
    started = time.perf_counter()
    for _ in nlp.tokenizer.pipe(texts, batch_size=256):
        pass
    tokenizer = words / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=256):
        pass
    pipeline = words / (time.perf_counter() - started)
    del nlp, texts
    runs = {}
    for label, workers in (("one_core", 1), ("all_cores", cores)):
        data = work / f"data-{words_target}-{label}"
        shutil.copytree(raw, data / "raw")
        home = fresh_home(work / f"home-{words_target}-{label}")
        runs[label] = (data, home, *main_job(data, home, workers=workers))
    data, home, full_seconds, peak = runs["all_cores"]
    write_corpus(data / "raw", 1, seed=99, start=files)  # one more page
    one_file_seconds, _ = main_job(data, home)
    started = time.perf_counter()
    warehouse.build_warehouse(data / "staging", work / f"alone-{words_target}.duckdb", incremental=False)
    build_alone = time.perf_counter() - started
    for data, *_ in runs.values():
        shutil.rmtree(data)
    shutil.rmtree(raw)
    return {"words": words, "files": files, "cores": cores, "tokenizer": tokenizer, "pipeline": pipeline,
            "end_to_end": words / full_seconds, "full_seconds": full_seconds, "peak_bytes": peak,
            "end_to_end_one_core": words / runs["one_core"][2], "peak_bytes_one_core": runs["one_core"][3],
            "one_file_seconds": one_file_seconds, "warehouse_build_seconds": build_alone}


def table(results: list[dict]) -> str:
    lines = ["| figure | " + " | ".join(f"{r['words'] / 1e6:.1f}M words ({r['files']} files)" for r in results) + " |",
             "|---|" + "---|" * len(results)]
    rows = [
        ("1. spaCy tokenizer alone, words/s", lambda r: f"{r['tokenizer']:,.0f}"),
        ("2. load_nlp(), words/s", lambda r: f"{r['pipeline']:,.0f}"),
        ("3. end to end (raw files → warehouse via Dagster), one NLP process, words/s",
         lambda r: f"{r['end_to_end_one_core']:,.0f}"),
        ("3. end to end, one NLP process per core, words/s", lambda r: f"{r['end_to_end']:,.0f}"),
        ("3. speed-up from using every core", lambda r: f"{r['end_to_end'] / r['end_to_end_one_core']:.2f}×"),
        ("ratio 2/1 (one core)", lambda r: f"{r['pipeline'] / r['tokenizer']:.2f}"),
        ("ratio 3/1 (one NLP process)", lambda r: f"{r['end_to_end_one_core'] / r['tokenizer']:.2f}"),
        ("ratio 3/1 per core (every core)", lambda r: f"{r['end_to_end'] / r['cores'] / r['tokenizer']:.2f}"),
        ("4. peak memory of 3 (PSS of the job and its workers), every core",
         lambda r: f"{r['peak_bytes'] / 2**20:,.0f} MiB"),
        ("4. peak memory of 3, one NLP process", lambda r: f"{r['peak_bytes_one_core'] / 2**20:,.0f} MiB"),
        ("full run (every core), s", lambda r: f"{r['full_seconds']:.1f}"),
        ("5. adding one file to the processed corpus, s", lambda r: f"{r['one_file_seconds']:.1f}"),
        ("5. as a share of the full run", lambda r: f"{100 * r['one_file_seconds'] / r['full_seconds']:.1f}%"),
        ("6. warehouse build from staging alone (full, not incremental), s",
         lambda r: f"{r['warehouse_build_seconds']:.2f}"),
    ]
    for name, fmt in rows:
        lines.append(f"| {name} | " + " | ".join(fmt(r) for r in results) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M,10M", help="corpus sizes in words, comma-separated (default 1M,10M)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="fms-bench-") as tmp:
        results = []
        for size in args.sizes.split(","):
            print(f"measuring {size} words ...", flush=True)
            results.append(measure(parse_size(size), Path(tmp), cores))
    report = (f"Machine: {cores} cores, Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}.\n"
              f"Command: `uv run --frozen python benchmarks/run.py --sizes {args.sizes}`\n\n" + table(results))
    print(report)
    if not args.no_write:
        results_file = REPO / "benchmarks" / "RESULTS.md"
        text = results_file.read_text(encoding="utf-8") if results_file.exists() else "# Benchmark results\n"
        head, marker, _ = text.partition("<!-- measured -->")
        results_file.write_text(head + "<!-- measured -->\n" + report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
