"""Benchmark of the main job (issue 11's figures): spaCy's tokenizer ceiling, load_nlp(), end to
end through Dagster with one worker and with every core, peak memory, Dagster events per run,
adding one file, a run with nothing to do, the warehouse build alone; a corpus of many small
files with the sensor's evaluation; killing a run mid-batch; a Reddit dump; pathological pages.

    uv run --frozen python benchmarks/run.py --sizes 1M,10M --page-words 440     # corpus part
    uv run --frozen python benchmarks/run.py --parts many-files --many-files 200000
    uv run --frozen python benchmarks/run.py --parts kill --kill-size 1M
    uv run --frozen python benchmarks/run.py --parts reddit --reddit-comments 1000000
    uv run --frozen python benchmarks/run.py --parts pathological --page-sizes 1MB,5MB

Each part replaces its own measured section of benchmarks/RESULTS.md (between
``<!-- measured:PART -->`` and ``<!-- /measured:PART -->``, ``PART-LABEL`` with ``--label``)
unless ``--no-write``; the last line printed is the figures as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus import write_corpus  # noqa: E402
from benchmarks import tokenizer_reference  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FMS_PIPELINE = Path(sys.executable).parent / "fms-pipeline"  # the installed entry point, as users run it
# Columns that differ between two runs over the same files (when, and the files' times), left out
# of the warehouse checksums.
RUN_DEPENDENT_COLUMNS = {"processed_at", "fingerprint", "seen_at"}


def parse_size(text: str) -> int:
    """'200K' -> 200000, '1M' -> 1000000, '5MB' -> 5000000."""
    text = text.strip().upper().removesuffix("B")
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


def _cpu_ticks(pids: list[int], seen: dict[int, int]) -> None:
    """Record each process's CPU so far (its own user + system clock ticks)."""
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seen[pid] = max(seen.get(pid, 0), sum(int(x) for x in fields[11:13]))


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _env(home: Path, workers: int | None) -> dict[str, str]:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.pop("FMS_WORKERS", None)
    if workers is not None:
        env["FMS_WORKERS"] = str(workers)
    return env


def start_cli(data: Path, home: Path, *args: str, workers: int | None = None, out=None) -> subprocess.Popen:
    return subprocess.Popen([str(FMS_PIPELINE), "--data-dir", str(data), "materialize", *args],
                            env=_env(home, workers), cwd=REPO, stdout=out or subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


class JobTimedOut(RuntimeError):
    """The main job ran past its time bound (it was killed)."""


LAST_CPU: dict[str, float] = {}  # CPU seconds of the last main_job's process tree (user + system)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main_job(data: Path, home: Path, *args: str, workers: int | None = None,
             timeout: float | None = None) -> tuple[float, int, str]:
    """Whole-process seconds of `fms-pipeline materialize` (start-up included), the peak memory
    (PSS) of it and its workers, and what it printed. Its CPU seconds (user + system of the CLI
    and every worker it waited for, the kernel's accounting) are left in LAST_CPU["seconds"]."""
    cpu_before = _children_cpu()
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = start_cli(data, home, *args, workers=workers, out=out)
        peak, ticks, samples = 0, {}, []
        LAST_CPU["samples"] = samples  # (unix time, PSS bytes): the memory of each step (step_peaks)
        while process.poll() is None:
            tree = _process_tree(process.pid)
            pss = _pss_bytes(tree)
            peak = max(peak, pss)
            samples.append((time.time(), pss))
            _cpu_ticks(tree, ticks)
            if timeout is not None and time.perf_counter() - started > timeout:
                _kill_tree(process)
                out.seek(0)
                raise JobTimedOut(f"the main job ran past {timeout:.0f} s; its last lines:\n{out.read()[-1500:]}")
            time.sleep(0.25)
        seconds = time.perf_counter() - started
        # the kernel's account of reaped processes; the sampled one covers a fork server nobody reaps
        LAST_CPU["seconds"] = max(_children_cpu() - cpu_before, sum(ticks.values()) / os.sysconf("SC_CLK_TCK"))
        out.seek(0)
        text = out.read()
    if process.returncode != 0:
        raise RuntimeError(f"the main job failed ({process.returncode}):\n{text[-3000:]}")
    return seconds, peak, text


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a CLI this benchmark started and everything under it (its own process group)."""
    tree = _process_tree(process.pid)
    for pid in [process.pid, *tree]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def watched_updates(data: Path, home: Path, first_page: int, page_words: int | None, repeats: int = 3) -> dict:
    """`fms-pipeline watch` (every core) on the processed corpus: ``repeats`` times one page is
    written into raw/ and the time until the process prints that its update is done is taken
    (the look every 0.25 s and the settling look included), with the CPU of its process tree
    over that time and the update's own time as it prints it."""
    interval = 0.25
    process = subprocess.Popen([str(FMS_PIPELINE), "--data-dir", str(data), "watch", "--interval", str(interval)],
                               env=_env(home, None), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    latencies, cpus, updates = [], [], []

    def line_with(text: str) -> str:
        for line in process.stdout:
            if text in line:
                return line
        raise RuntimeError(f"fms-pipeline watch ended ({process.wait()}) before printing {text!r}")

    try:
        line_with("watching")
        for i in range(repeats):
            before: dict[int, int] = {}
            _cpu_ticks(_process_tree(process.pid), before)
            started = time.perf_counter()
            write_corpus(data / "raw", 1, seed=200 + i, start=first_page + i, page_words=page_words)
            done = line_with("update ")
            latencies.append(time.perf_counter() - started)
            after: dict[int, int] = {}
            _cpu_ticks(_process_tree(process.pid), after)
            cpus.append(sum(after[p] - before.get(p, 0) for p in after) / os.sysconf("SC_CLK_TCK"))
            if " done in " not in done:
                raise RuntimeError(f"a watched update failed: {done}")
            updates.append(float(done.split(" done in ")[1].split(" s")[0]))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
    return {"latency": statistics.median(latencies), "cpu": statistics.median(cpus),
            "update": statistics.median(updates), "interval": interval, "repeats": repeats,
            "latencies": latencies}


def nothing_to_do(data: Path, home: Path, repeats: int = 5) -> dict:
    """Whole-process seconds of `fms-pipeline materialize` when every file is processed."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run([str(FMS_PIPELINE), "--data-dir", str(data), "materialize"], env=_env(home, None),
                              cwd=REPO, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0 or "nothing to do" not in done.stdout:
            raise RuntimeError(f"expected nothing to do:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "repeats": repeats}


@contextlib.contextmanager
def instance_at(home: Path):
    """The Dagster instance of ``home``; its dagster.yaml (the CLI's) reads the folder from DAGSTER_HOME."""
    import dagster as dg

    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(home)}), dg.DagsterInstance.get() as instance:
        yield instance


def fresh_home(path: Path) -> Path:
    """An empty DAGSTER_HOME: the CLI writes the project's dagster.yaml into it, as for a user."""
    path.mkdir(parents=True)
    return path


def dagster_runs(home: Path) -> list[dict]:
    """Every run recorded in the instance, oldest first, with the number of its event-log entries."""
    import dagster as dg

    with instance_at(home) as instance:
        out = []
        for run in reversed(instance.get_runs()):
            logs = instance.all_logs(run.run_id)
            starts, steps, spans = {}, {}, {}
            for entry in logs:
                event = entry.dagster_event
                if event is None or entry.step_key is None:
                    continue
                if event.event_type_value == "STEP_START":
                    starts[entry.step_key] = entry.timestamp
                elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and entry.step_key in starts:
                    steps[entry.step_key] = entry.timestamp - starts[entry.step_key]
                    spans[entry.step_key] = (starts[entry.step_key], entry.timestamp)
            out.append({"run_id": run.run_id, "job": run.job_name, "status": run.status.value,
                        "events": len(logs), "steps": steps, "spans": spans})
        return out


def step_peaks(runs: list[dict], samples: list[tuple[float, int]]) -> dict[str, float]:
    """Peak PSS (MiB) of the job's process tree while each step ran, and outside every step."""
    peaks: dict[str, float] = {}
    for t, pss in samples:
        where = [k for r in runs for k, (a, b) in r.get("spans", {}).items() if a <= t <= b] or ["(no step)"]
        for k in where:
            peaks[k] = max(peaks.get(k, 0.0), pss / 2**20)
    return peaks


def _peaks(peaks: dict[str, float]) -> str:
    return "; ".join(f"{k} {v:,.0f}" for k, v in peaks.items()) + " MiB"


def _steps(runs: list[dict]) -> str:
    """Seconds per step of the runs, as Dagster recorded them (start to success)."""
    return "; ".join(f"{k} {v:.1f}" for r in runs for k, v in r["steps"].items())


def _new_runs(home: Path, before: list[dict]) -> list[dict]:
    seen = {r["run_id"] for r in before}
    return [r for r in dagster_runs(home) if r["run_id"] not in seen]


def _events(runs: list[dict]) -> str:
    return ", ".join(f"{r['job']} {r['events']}" for r in runs) + f" (total {sum(r['events'] for r in runs)})"


def table_checksums(warehouse_path: Path) -> dict[str, tuple[int, str]]:
    """{table: (rows, md5 of its sorted row hashes)} over every core and aggregate table, without
    the columns that differ between two runs over the same files (times, file fingerprints)."""
    from fms_pipeline import warehouse

    sums = {}
    with warehouse.connect_read_only(warehouse_path) as con:
        for table in (*warehouse.CORE_TABLES, *warehouse.AGGREGATE_TABLES):
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [table]).fetchall() if c not in RUN_DEPENDENT_COLUMNS]
            row = ", ".join(f'"{c}"' for c in columns)
            sums[table] = tuple(con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(h, ',' ORDER BY h), '')) "
                f"FROM (SELECT md5(CAST(ROW({row}) AS VARCHAR)) AS h FROM {table})").fetchone())
    return sums


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _machine(cores: int) -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cores} cores, {memory:.1f} GiB RAM, Python {sys.version.split()[0]}"


# --- part: the corpus (issue 11's main figures) -------------------------------------------------

def measure_corpus(words_target: int, work: Path, cores: int, page_words: int | None,
                   nlp_sample_words: int | None, skip_one_core: bool = False) -> dict:
    from fms_pipeline import warehouse
    from fms_pipeline.nlp import load_nlp

    raw = work / f"raw-{words_target}"
    files, _ = write_corpus(raw, words_target, page_words=page_words)
    texts = texts_of(raw)
    words = sum(len(t.split()) for t in texts)
    nlp = load_nlp()
    # Words per CPU second too: load-independent. Both references: benchmarks/tokenizer_reference.py.
    tokenizer, tokenizer_cpu = tokenizer_reference.words_per_second(nlp.tokenizer, texts, words)
    uncached, uncached_cpu = tokenizer_reference.words_per_second(
        tokenizer_reference.uncached_copy(nlp.tokenizer), texts, words)
    if nlp_sample_words:  # load_nlp() over the first texts only: its speed does not depend on the size
        sample, n = [], 0
        for t in texts:
            if n >= nlp_sample_words:
                break
            sample.append(t)
            n += len(t.split())
    else:
        sample, n = texts, words
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in nlp.pipe(sample, batch_size=256):
        pass
    pipeline = n / (time.perf_counter() - started)
    pipeline_cpu = n / (time.process_time() - cpu_started)
    del nlp, texts, sample
    runs = {}
    for label, workers in (("one_core", 1), ("all_cores", cores)):
        if label == "one_core" and skip_one_core:
            continue
        data = work / f"data-{words_target}-{label}"
        shutil.copytree(raw, data / "raw")
        home = fresh_home(work / f"home-{words_target}-{label}")
        seconds, peak, _ = main_job(data, home, workers=workers)
        runs[label] = {"data": data, "home": home, "seconds": seconds, "peak": peak, "runs": dagster_runs(home),
                       "cpu": LAST_CPU["seconds"], "load": _load()}
        runs[label]["step_peaks"] = step_peaks(runs[label]["runs"], LAST_CPU["samples"])
    full = runs["all_cores"]
    data, home = full["data"], full["home"]
    write_corpus(data / "raw", 1, seed=99, start=files, page_words=page_words)  # one more page
    before = dagster_runs(home)
    one_file_seconds, one_file_peak, _ = main_job(data, home)
    one_file_cpu = LAST_CPU["seconds"]
    one_file_runs = _new_runs(home, before)
    watched = watched_updates(data, home, files + 1, page_words)
    idle = nothing_to_do(data, home)
    started = time.perf_counter()
    warehouse.build_warehouse(data / "staging", work / f"alone-{words_target}.duckdb", incremental=False)
    build_alone = time.perf_counter() - started
    for r in runs.values():
        shutil.rmtree(r["data"])
    shutil.rmtree(raw)
    one = runs.get("one_core")
    return {"words": words, "files": files, "cores": cores, "tokenizer": tokenizer, "pipeline": pipeline,
            "tokenizer_cpu": tokenizer_cpu, "pipeline_cpu": pipeline_cpu,
            "uncached": uncached, "uncached_cpu": uncached_cpu,
            "pipeline_sample_words": n, "end_to_end": words / full["seconds"], "full_seconds": full["seconds"],
            "peak_bytes": full["peak"], "runs_all_cores": full["runs"], "full_cpu": full["cpu"],
            "full_load_after": full["load"], "one_file_cpu": one_file_cpu, "step_peaks": full["step_peaks"],
            "end_to_end_one_core": words / one["seconds"] if one else None,
            "one_core_seconds": one["seconds"] if one else None,
            "peak_bytes_one_core": one["peak"] if one else None, "runs_one_core": one["runs"] if one else [],
            "one_file_seconds": one_file_seconds, "one_file_runs": one_file_runs,
            "nothing_to_do": idle, "warehouse_build_seconds": build_alone, "watched": watched}


def corpus_table(results: list[dict]) -> str:
    na = "not run"
    lines = ["| figure | " + " | ".join(f"{r['words'] / 1e6:.1f}M words ({r['files']:,} files)" for r in results)
             + " |", "|---|" + "---|" * len(results)]
    rows = [
        ("1. spaCy tokenizer alone, words/s (with its cache, as the pipeline runs it)",
         lambda r: f"{r['tokenizer']:,.0f}"),
        ("1u. spaCy tokenizer without a cache, words/s (the issues' reference: see tokenizer_reference.py)",
         lambda r: f"{r['uncached']:,.0f}" if "uncached" in r else na),
        ("2. load_nlp(), one process, words/s", lambda r: f"{r['pipeline']:,.0f}"
         + (f" (first {r['pipeline_sample_words'] / 1e6:.1f}M words)" if r["pipeline_sample_words"] < r["words"]
            else "")),
        ("3. end to end (raw files → warehouse and report via Dagster, whole process), FMS_WORKERS=1, words/s",
         lambda r: f"{r['end_to_end_one_core']:,.0f}" if r["end_to_end_one_core"] else na),
        ("3. end to end, one worker per core, words/s", lambda r: f"{r['end_to_end']:,.0f}"),
        ("3. every core / one core", lambda r: f"{r['end_to_end'] / r['end_to_end_one_core']:.2f}×"
         if r["end_to_end_one_core"] else na),
        ("ratio 2/1 (one core)", lambda r: f"{r['pipeline'] / r['tokenizer']:.2f}"),
        ("ratio 3/1, FMS_WORKERS=1", lambda r: f"{r['end_to_end_one_core'] / r['tokenizer']:.3f}"
         if r["end_to_end_one_core"] else na),
        ("ratio 3/1 per core (every core; target ≥ 0.25)",
         lambda r: f"{r['end_to_end'] / r['cores'] / r['tokenizer']:.3f}"),
        ("by CPU: words per CPU second of the tokenizer; of load_nlp(); of the end to end process tree",
         lambda r: f"{r['tokenizer_cpu']:,.0f}; {r['pipeline_cpu']:,.0f}; {r['words'] / r['full_cpu']:,.0f}"),
        ("ratio by CPU: load_nlp() / tokenizer; end to end / tokenizer (the per-core ratio on idle cores)",
         lambda r: f"{r['pipeline_cpu'] / r['tokenizer_cpu']:.3f}; {r['words'] / r['full_cpu'] / r['tokenizer_cpu']:.3f}"),
        ("ratio by CPU to the uncached tokenizer (1u): load_nlp(); end to end (targets ≥ 0.30; ≥ 0.25)",
         lambda r: f"{r['pipeline_cpu'] / r['uncached_cpu']:.3f}; {r['words'] / r['full_cpu'] / r['uncached_cpu']:.3f}"
         if "uncached_cpu" in r else na),
        ("4. peak memory of 3 (PSS of the job and its workers), every core",
         lambda r: f"{r['peak_bytes'] / 2**20:,.0f} MiB"),
        ("4. peak memory of 3, FMS_WORKERS=1",
         lambda r: f"{r['peak_bytes_one_core'] / 2**20:,.0f} MiB" if r["peak_bytes_one_core"] else na),
        ("full run (every core), s wall; CPU s of the process tree; load average after",
         lambda r: f"{r['full_seconds']:.1f}; {r['full_cpu']:.1f} CPU s; {r['full_load_after']}"),
        ("full run, FMS_WORKERS=1, s", lambda r: f"{r['one_core_seconds']:.1f}" if r["one_core_seconds"] else na),
        ("5. adding one file to the processed corpus, s (CPU s)",
         lambda r: f"{r['one_file_seconds']:.1f} ({r['one_file_cpu']:.1f} CPU s)"),
        ("5. as a share of the full run (target ≤ 5%)",
         lambda r: f"{100 * r['one_file_seconds'] / r['full_seconds']:.1f}%"),
        ("5w. adding one file with `fms-pipeline watch` running: s from writing it to the update printed "
         "(looks every 0.25 s); the update's own s; CPU s of the process tree",
         lambda r: f"{r['watched']['latency']:.1f}; {r['watched']['update']:.1f}; {r['watched']['cpu']:.1f} CPU s "
                   f"(median of {r['watched']['repeats']})" if "watched" in r else na),
        ("5w. as a share of the full run (target ≤ 5%)",
         lambda r: f"{100 * r['watched']['latency'] / r['full_seconds']:.1f}%" if "watched" in r else na),
        ("6. warehouse build from staging alone (full, not incremental), s",
         lambda r: f"{r['warehouse_build_seconds']:.2f}"),
        ("7. Dagster events per run, full run, every core", lambda r: _events(r["runs_all_cores"])),
        ("7. Dagster events per run, full run, FMS_WORKERS=1",
         lambda r: _events(r["runs_one_core"]) if r["runs_one_core"] else na),
        ("7. Dagster events per run, adding one file", lambda r: _events(r["one_file_runs"])),
        ("seconds per Dagster step, full run, every core", lambda r: _steps(r["runs_all_cores"])),
        ("peak PSS per Dagster step, full run, every core", lambda r: _peaks(r["step_peaks"])),
        ("seconds per Dagster step, full run, FMS_WORKERS=1",
         lambda r: _steps(r["runs_one_core"]) if r["runs_one_core"] else na),
        ("seconds per Dagster step, adding one file", lambda r: _steps(r["one_file_runs"])),
        ("8. a run with nothing to do (whole process), s (target ≤ 3 s)",
         lambda r: f"{r['nothing_to_do']['median']:.2f} (median of {r['nothing_to_do']['repeats']}; "
                   f"{r['nothing_to_do']['min']:.2f}–{r['nothing_to_do']['max']:.2f})"),
    ]
    for name, fmt in rows:
        lines.append(f"| {name} | " + " | ".join(fmt(r) for r in results) + " |")
    return "\n".join(lines)


# --- part: many small files, the sensor ---------------------------------------------------------

def _evaluate_sensor(data: Path, home: Path) -> dict:
    import dagster as dg

    from fms_pipeline.defs.automation import raw_files_sensor
    from fms_pipeline.defs.resources import settings_from_env

    with instance_at(home) as instance:
        context = dg.build_sensor_context(instance=instance, resources={"settings": settings_from_env(str(data))})
        started = time.perf_counter()
        result = raw_files_sensor(context)
        seconds = time.perf_counter() - started
    if isinstance(result, dg.SkipReason):
        return {"seconds": seconds, "skipped": result.skip_message, "cursor_bytes": 0, "run_requests": 0}
    return {"seconds": seconds, "skipped": None, "cursor_bytes": len((result.cursor or "").encode()),
            "run_requests": len(result.run_requests or [])}


def _plan(data: Path) -> dict:
    """The CLI's planning alone (scan, recorded state, plan, run groups), timed."""
    from fms_pipeline import batches
    from fms_pipeline.defs.resources import settings_from_env

    settings = settings_from_env(str(data))
    started = time.perf_counter()
    scan, plans = batches.plan_from_storage(settings.raw_dir, settings.staging_dir)
    groups = batches.run_groups(plans, settings.buckets_per_run)
    return {"seconds": time.perf_counter() - started, "files": len(scan), "runs": len(groups),
            "batches_with_work": sum(p.has_work for p in plans.values())}


def measure_many_files(files_wanted: int, work: Path, cores: int, page_words: int, plan_only: bool = False) -> dict:
    from fms_pipeline import warehouse

    data = work / f"many-{files_wanted}"
    started = time.perf_counter()
    files, file_words = write_corpus(data / "raw", 0, page_words=page_words, files_wanted=files_wanted)
    generate_seconds = time.perf_counter() - started
    home = fresh_home(work / f"home-many-{files_wanted}")
    _write_cli_config(home)  # the sensor's instance before the CLI has made one
    sensor_before = _evaluate_sensor(data, home)
    if plan_only:
        plan = _plan(data)
        shutil.rmtree(data)
        return {"files": files, "file_words": file_words, "generate_seconds": generate_seconds,
                "sensor_before": sensor_before, "plan": plan, "plan_only": True}
    seconds, peak, output = main_job(data, home, workers=cores)
    cpu, load_after = LAST_CPU["seconds"], _load()
    runs = dagster_runs(home)
    peaks = step_peaks(runs, LAST_CPU["samples"])
    sensor_after = _evaluate_sensor(data, home)
    idle = nothing_to_do(data, home, repeats=3)
    with warehouse.connect_read_only(data / "warehouse.duckdb") as con:
        counts = dict(con.execute(
            "SELECT 'source_files', count(*) FROM source_files UNION ALL SELECT 'staged', count(*) FROM source_files "
            "WHERE status = 'staged' UNION ALL SELECT 'documents', count(*) FROM documents UNION ALL "
            "SELECT 'comments', count(*) FROM comments").fetchall())
        words = con.execute(  # words of bodies and comments, as texts_of counts them
            "SELECT sum(len(string_split_regex(trim(body), '\\s+'))) FROM "
            "(SELECT body FROM documents UNION ALL SELECT body FROM comments) WHERE trim(body) <> ''").fetchone()[0]
    staged_objects = sum(1 for _ in (data / "staging").rglob("*.parquet"))
    shutil.rmtree(data)
    return {"files": files, "words": words, "generate_seconds": generate_seconds, "seconds": seconds,
            "peak_bytes": peak, "runs": runs, "sensor_before": sensor_before, "sensor_after": sensor_after,
            "nothing_to_do": idle, "counts": counts, "staged_objects": staged_objects, "cores": cores,
            "failed_runs": [r for r in runs if r["status"] != "SUCCESS"], "cpu": cpu, "load_after": load_after, "step_peaks": peaks}


def _write_cli_config(home: Path) -> None:
    from fms_pipeline.cli import DAGSTER_YAML

    (home / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")


def many_files_table(r: dict) -> str:
    if r.get("plan_only"):
        before, plan = r["sensor_before"], r["plan"]
        rows = [
            ("files (words in the files)", f"{r['files']:,} ({r['file_words']:,} words, titles and bylines included)"),
            ("sensor evaluation, nothing processed yet: s, run requests, cursor",
             f"{before['seconds']:.2f} s, {before['run_requests']} run request(s), cursor {before['cursor_bytes']} bytes"),
            ("the CLI's planning (scan, state, plan, run groups): s",
             f"{plan['seconds']:.2f} s: {plan['files']:,} files, {plan['batches_with_work']} batches with work, "
             f"{plan['runs']} run(s)"),
            ("processed", "not in this run (planned only)"),
        ]
        return "| figure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    before, after = r["sensor_before"], r["sensor_after"]
    rows = [
        ("files (words)", f"{r['files']:,} ({r['words']:,} words in bodies and comments)"),
        ("in the warehouse", ", ".join(f"{k} {v:,}" for k, v in r["counts"].items())),
        ("staged Parquet objects", f"{r['staged_objects']}"),
        ("main job, one worker per core (whole process), s", f"{r['seconds']:.1f} ({r['words'] / r['seconds']:,.0f} "
         f"words/s, {r['files'] / r['seconds']:,.0f} files/s); {r['cpu']:.1f} CPU s of the process tree; "
         f"load average after {r['load_after']}"),
        ("peak memory (PSS of the job and its workers)", f"{r['peak_bytes'] / 2**20:,.0f} MiB"),
        ("Dagster runs and events per run", _events(r["runs"])),
        ("seconds per Dagster step", _steps(r["runs"])),
        ("peak PSS per Dagster step", _peaks(r["step_peaks"])),
        ("runs that did not succeed", str(len(r["failed_runs"]))),
        ("sensor evaluation before processing: s, run requests, cursor",
         f"{before['seconds']:.2f} s, {before['run_requests']} run request(s), cursor {before['cursor_bytes']} bytes"),
        ("sensor evaluation after processing (nothing new): s",
         f"{after['seconds']:.2f} s, skipped: {after['skipped']}"),
        ("a run with nothing to do (whole process), s",
         f"{r['nothing_to_do']['median']:.2f} (median of {r['nothing_to_do']['repeats']}; "
         f"{r['nothing_to_do']['min']:.2f}–{r['nothing_to_do']['max']:.2f})"),
    ]
    return "| figure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)


# --- part: killing a run mid-batch --------------------------------------------------------------

def measure_kill(words_target: int, work: Path, cores: int, moments: list[float]) -> dict:
    """A clean full run; then, on a fresh copy, SIGKILL of the CLI (its process only: workers must
    die with it) at each moment (a share of the clean run's time), a run to completion, and the
    checksums of every table against the clean run's."""
    raw = work / f"raw-kill-{words_target}"
    files, _ = write_corpus(raw, words_target)
    clean = work / "kill-clean"
    shutil.copytree(raw, clean / "raw")
    clean_seconds, _, _ = main_job(clean, fresh_home(work / "home-kill-clean"), workers=cores)
    data = work / "kill-killed"
    shutil.copytree(raw, data / "raw")
    home = fresh_home(work / "home-kill-killed")
    kills = []
    for moment in moments:
        with tempfile.TemporaryFile("w+") as out:
            process = start_cli(data, home, workers=cores, out=out)
            deadline = time.perf_counter() + moment * clean_seconds
            tree: list[int] = []
            while process.poll() is None and time.perf_counter() < deadline:
                tree = _process_tree(process.pid)
                time.sleep(0.1)
            finished = process.poll() is not None
            if not finished:
                tree = _process_tree(process.pid)
                os.kill(process.pid, signal.SIGKILL)  # the CLI alone, as `kill -9 PID` or the OOM killer does
                process.wait()
            wait_until = time.perf_counter() + 30
            while time.perf_counter() < wait_until and any(_alive(p) for p in tree if p != process.pid):
                time.sleep(0.2)
            left = [p for p in tree if p != process.pid and _alive(p)]
            try:
                os.killpg(process.pid, signal.SIGKILL)  # our own processes, should any be left
            except ProcessLookupError:
                pass
            out.seek(0)
            lines = [l for l in out.read().splitlines() if l.strip()]
        kills.append({"moment": moment, "finished_before_kill": finished, "processes": len(tree),
                      "left_running_after_30s": len(left), "last_output": lines[-1][:160] if lines else ""})
    held = slots_held_by_unfinished_runs(home)
    rerun_bound = max(120.0, 2 * clean_seconds)
    lockout = None
    try:
        rerun_seconds, _, _ = main_job(data, home, workers=cores, timeout=rerun_bound)
    except JobTimedOut as timed_out:
        # A killed run's claim on the warehouse writers' pool outlives it: the next run waits for
        # the slot for ever. Free the dead runs' slots (what the CLI would need to do) and go on.
        lockout = {"bound_seconds": rerun_bound, "output": str(timed_out)[-400:],
                   "slots": slots_held_by_unfinished_runs(home)}
        free_slots_of_unfinished_runs(home)
        rerun_seconds, _, _ = main_job(data, home, workers=cores, timeout=rerun_bound)
    killed_sums, clean_sums = table_checksums(data / "warehouse.duckdb"), table_checksums(clean / "warehouse.duckdb")
    runs = dagster_runs(home)
    shutil.rmtree(raw)
    shutil.rmtree(clean)
    shutil.rmtree(data)
    return {"files": files, "words_target": words_target, "clean_seconds": clean_seconds, "kills": kills,
            "slots_held_after_kills": held, "lockout": lockout,
            "rerun_seconds": rerun_seconds, "runs": runs, "killed": killed_sums, "clean": clean_sums,
            "equal": killed_sums == clean_sums}


def slots_held_by_unfinished_runs(home: Path) -> list[dict]:
    """Concurrency-pool slots claimed by runs the instance still records as not finished."""
    import dagster as dg

    with instance_at(home) as instance:
        unfinished = {r.run_id: r for r in instance.get_runs() if not r.is_finished}
        held = []
        for key in instance.event_log_storage.get_concurrency_keys():
            for slot in instance.event_log_storage.get_concurrency_info(key).claimed_slots:
                if slot.run_id in unfinished:
                    held.append({"pool": key, "run_id": slot.run_id, "job": unfinished[slot.run_id].job_name,
                                 "step": slot.step_key})
        return held


def free_slots_of_unfinished_runs(home: Path) -> None:
    """Mark runs left unfinished by a killed CLI failed and free their slots (no CLI is running now)."""
    import dagster as dg

    with instance_at(home) as instance:
        for run in instance.get_runs():
            if not run.is_finished:
                instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
                instance.report_run_failed(run, "its process was killed (benchmark clean-up)")


def kill_table(r: dict) -> str:
    lines = [f"Clean full run: {r['clean_seconds']:.1f} s over {r['files']:,} files. Then, on a fresh copy:", ""]
    for k in r["kills"]:
        what = ("the run finished before the kill" if k["finished_before_kill"] else
                f"SIGKILL of the CLI at {k['moment']:.0%} of the clean run's time ({k['processes']} processes in its "
                f"tree; {k['left_running_after_30s']} still running 30 s later); last line it printed: "
                f"`{k['last_output']}`")
        lines.append(f"- {what}")
    for slot in r["slots_held_after_kills"]:
        lines.append(f"- after the kills, pool `{slot['pool']}` is still claimed by the killed run "
                     f"{slot['run_id'][:8]} ({slot['job']}, step {slot['step']}), which the instance records as "
                     "not finished")
    if r["lockout"]:
        lines.append(f"- **the next `materialize` did not finish within {r['lockout']['bound_seconds']:.0f} s**: it "
                     "waits for that slot (busy-polling), for ever; the benchmark then marked the killed runs "
                     "failed and freed their slots (`free_concurrency_slots_for_run`), as the CLI would have to")
    lines.append(f"- then a run to completion: {r['rerun_seconds']:.1f} s")
    lines.append(f"- Dagster runs of the killed copy: " + ", ".join(f"{x['job']} {x['status']}" for x in r["runs"]))
    lines += ["", "| table | rows, killed then rerun | rows, clean | md5 of sorted row hashes equal? |", "|---|---|---|---|"]
    for table, (rows, digest) in r["killed"].items():
        clean_rows, clean_digest = r["clean"].get(table, (None, None))
        lines.append(f"| {table} | {rows:,} | {clean_rows:,} | {'yes' if digest == clean_digest else 'NO'} "
                     f"(`{digest[:12]}`) |")
    lines.append("")
    lines.append(f"Every table equal: **{'yes' if r['equal'] else 'no'}** (columns left out: "
                 f"{', '.join(sorted(RUN_DEPENDENT_COLUMNS))}).")
    return "\n".join(lines)


# --- part: a Reddit dump ------------------------------------------------------------------------

def measure_reddit(comments: int, work: Path, comments_per_part: int) -> dict:
    from benchmarks.reddit_dump import measure

    folder = work / f"reddit-{comments}-{comments_per_part}"
    folder.mkdir()
    result = measure(comments, folder, comments_per_part=comments_per_part)
    shutil.rmtree(folder)
    return {**result, "comments_per_part": comments_per_part}


def reddit_table(results: list[dict]) -> str:
    header = "| figure | " + " | ".join(
        f"{r['comments']:,} comments, " + (f"assembled in parts of {r['comments_per_part']:,}"
                                           if r["comments_per_part"] else "assembled at once") for r in results)
    rows = [
        ("dump: submissions, uncompressed / .zst bytes",
         lambda r: f"{r['submissions']:,}, {r['bytes'] / 2**20:,.0f} / {r['compressed_bytes'] / 2**20:,.0f} MiB"),
        ("read (read_source, record_batches → Parquet), s", lambda r: f"{r['read_seconds']}"),
        ("assemble threads and write staged Parquet, s", lambda r: f"{r['assemble_seconds']}"),
        ("total, s (CPU s)", lambda r: f"{r['total_seconds']} ({r['cpu_seconds']})"),
        ("comments/s, total (reading alone)", lambda r: f"{r['comments_per_second']:,} ({r['read_comments_per_second']:,})"),
        ("peak RSS of the process: reading / whole", lambda r: f"{r['read_peak_rss_mib']} / {r['peak_rss_mib']} MiB"),
        ("staged documents, comments", lambda r: f"{r['staged_documents']:,}, {r['staged_comments']:,}"),
    ]
    lines = [header + " |", "|---|" + "---|" * len(results)]
    lines += [f"| {name} | " + " | ".join(fmt(r) for r in results) + " |" for name, fmt in rows]
    return "\n".join(lines)


# --- part: pathological pages (issue 13) --------------------------------------------------------

def measure_pathological(size: int, word: str, work: Path, cores: int) -> dict:
    from fms_pipeline import warehouse

    data = work / f"patho-{size}-{word}"
    (data / "raw").mkdir(parents=True)
    title = f"One word, {size:,} bytes\n\n"
    body = (word + " ") * ((size - len(title)) // (len(word) + 1))
    (data / "raw" / f"{word}.txt").write_text(title + body + "\n", encoding="utf-8")
    seconds, peak, output = main_job(data, fresh_home(work / f"home-patho-{size}-{word}"), workers=cores)
    with warehouse.connect_read_only(data / "warehouse.duckdb") as con:
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("documents", "sentences", "entity_mentions", "outcome_mentions", "rejected_files")}
    shutil.rmtree(data)
    return {"size": size, "word": word, "words": len(body.split()), "seconds": seconds, "peak_bytes": peak,
            "counts": counts}


def pathological_table(results: list[dict]) -> str:
    lines = ["| page | words | `fms-pipeline materialize` (whole process), s | peak memory (PSS) | "
             "sentences, entity mentions, outcome mentions, rejected files |", "|---|---|---|---|---|"]
    for r in results:
        c = r["counts"]
        lines.append(f"| {r['size'] / 1e6:g} MB of \"{r['word']}\" | {r['words']:,} | {r['seconds']:.1f} | "
                     f"{r['peak_bytes'] / 2**20:,.0f} MiB | {c['sentences']:,}, {c['entity_mentions']:,}, "
                     f"{c['outcome_mentions']:,}, {c['rejected_files']} |")
    return "\n".join(lines)


# --- the report ---------------------------------------------------------------------------------

def write_section(results_file: Path, part: str, text: str) -> None:
    """Replace the part's measured section of RESULTS.md (appended when it has none yet)."""
    current = results_file.read_text(encoding="utf-8") if results_file.exists() else "# Benchmark results\n"
    start, end = f"<!-- measured:{part} -->", f"<!-- /measured:{part} -->"
    block = f"{start}\n{text}\n{end}"
    if start in current and end in current:
        head, _, rest = current.partition(start)
        _, _, tail = rest.partition(end)
        current = head + block + tail
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    results_file.write_text(current, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="corpus",
                        help="comma-separated: corpus, many-files, kill, reddit, pathological (default corpus)")
    parser.add_argument("--sizes", default="1M,10M", help="corpus sizes in words (default 1M,10M)")
    parser.add_argument("--page-words", type=int, default=None,
                        help="corpus pages of about this many words (440 gives ~490: 10M words in ~20,500 files); "
                             "default: the varied long threads")
    parser.add_argument("--nlp-sample-words", default=None,
                        help="measure load_nlp() over the first N words only (e.g. 2M), to save time at 10M")
    parser.add_argument("--skip-one-core", action="store_true", help="corpus: no FMS_WORKERS=1 run")
    parser.add_argument("--many-files", type=int, default=200_000, help="files of the many-files part")
    parser.add_argument("--many-page-words", type=int, default=28,
                        help="words per page of the many-files part (28 gives ~50 in bodies and comments: 200k files, ~10M words)")
    parser.add_argument("--plan-only", action="store_true",
                        help="many-files: generate the files and evaluate the sensor and the plan, process nothing")
    parser.add_argument("--kill-size", default="1M", help="corpus size of the kill part")
    parser.add_argument("--kill-moments", default="0.3,0.6,0.9",
                        help="when to SIGKILL the CLI, as shares of the clean run's time (one run each)")
    parser.add_argument("--reddit-comments", type=int, default=1_000_000)
    parser.add_argument("--reddit-parts", default="0",
                        help="comments_per_part values for the dump (0: assembled at once), comma-separated")
    parser.add_argument("--page-sizes", default="1MB,5MB", help="pathological page sizes")
    parser.add_argument("--words", default="hello,oxycodone", help="the repeated words of the pathological pages")
    parser.add_argument("--label", default="", help="a suffix of the sections' names, so runs of one part at "
                        "different sizes keep their own sections (e.g. --label 10M writes measured:corpus-10M)")
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "RESULTS.md",
                        help="the file the sections are written to (default benchmarks/RESULTS.md)")
    parser.add_argument("--code", default="", help="what code was measured, for the report (e.g. a commit)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    shown = [a for i, a in enumerate(sys.argv[1:], 1)  # where the report goes and its note are not the measure
             if a not in ("--results", "--code") and sys.argv[i - 1] not in ("--results", "--code")]
    command = "uv run --frozen python benchmarks/run.py " + " ".join(shown)
    for part in args.parts.split(","):
        load_before, started = _load(), time.strftime("%Y-%m-%d %H:%M", time.gmtime())
        with tempfile.TemporaryDirectory(prefix="fms-bench-") as tmp:
            work = Path(tmp)
            print(f"{part} ...", flush=True)
            if part == "corpus":
                sample = parse_size(args.nlp_sample_words) if args.nlp_sample_words else None
                results = [measure_corpus(parse_size(s), work, cores, args.page_words, sample, args.skip_one_core)
                           for s in args.sizes.split(",")]
                body = corpus_table(results)
            elif part == "many-files":
                results = measure_many_files(args.many_files, work, cores, args.many_page_words, args.plan_only)
                body = many_files_table(results)
            elif part == "kill":
                results = measure_kill(parse_size(args.kill_size), work, cores,
                                       [float(m) for m in args.kill_moments.split(",")])
                body = kill_table(results)
            elif part == "reddit":
                results = [measure_reddit(args.reddit_comments, work, int(p)) for p in args.reddit_parts.split(",")]
                body = reddit_table(results)
            elif part == "pathological":
                results = [measure_pathological(parse_size(s), w, work, cores)
                           for s in args.page_sizes.split(",") for w in args.words.split(",")]
                body = pathological_table(results)
            else:
                raise SystemExit(f"unknown part {part!r}")
        finished = time.strftime("%H:%M", time.gmtime())
        report = (f"Machine: {_machine(cores)}; {started}–{finished} UTC; load average (1, 5, 15 min) before "
                  f"{load_before}, after {_load()}.\n" + (f"Code: {args.code}.\n" if args.code else "")
                  + f"Command: `{command}`\n\n{body}")
        print(report, flush=True)
        print("JSON " + json.dumps(results, default=str), flush=True)
        if not args.no_write:
            write_section(args.results, f"{part}-{args.label}" if args.label else part, report)


if __name__ == "__main__":
    main()
