"""``fms-pipeline watch``: the main job kept loaded in one process and run whenever ``raw/`` changes.

Every ``fms-pipeline materialize`` starts a Python process that imports Dagster and the project and
loads the spaCy pipeline before it looks at the new file: ~6 of the ~13 CPU s a one-file update
costs (``benchmarks/small_update.py``). This process pays that once, then looks at the raw
folder's listing every ``interval`` seconds and runs the same main job (``cli.materialize``: the
same planning, the same Dagster runs recorded in DAGSTER_HOME, the same warehouse and report)
when the listing has changed and stayed the same for one more look (a file still being copied in
is not processed half-written).

The loaded pipeline is the one the files it processes are stamped with (``batches.pipeline_version``):
when any file of the package (code, SQL, labels, vocabularies, rules, model) or ``.env`` changes on
disk, the process starts itself again (``exec``) before it processes anything, so the files are
processed by the rules they are stamped with. It also starts again when it has grown 1 GiB past its
loaded size (spaCy's string store keeps every new word).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from fms_pipeline import batches, raw_files


def listing(raw_dir) -> tuple[tuple[str, str], ...]:
    """What the raw folder holds: each file's name and fingerprint (size and times, or an ETag)."""
    return tuple(sorted((name, entry.fingerprint) for name, entry in raw_files.scan(raw_dir).items()))


def current_version() -> str:
    """What the loaded process depends on, as the files on disk are now: ``batches.pipeline_version``
    (rules, vocabularies, model; that function keeps its first answer) and every file of the package
    and the project's ``.env`` by name, size and time (the warehouse's SQL and table declarations,
    labels.yml, the code itself after an upgrade), read when the process started."""
    import hashlib

    package = Path(__file__).resolve().parent
    digest = hashlib.sha256(batches.pipeline_version.__wrapped__().encode())
    for path in sorted([*package.rglob("*"), package.parent / ".env"]):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        st = path.stat()
        digest.update(f"{path.relative_to(package.parent)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def resident_bytes() -> int:
    """This process's resident memory now (Linux ``/proc``; 0 where there is none)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


# spaCy's string store and the caches of a long-lived process grow with every new word it reads;
# past this much above what the loaded process held, it starts itself again (~6 s, once).
GROWTH_LIMIT = 1 << 30


def load(settings) -> None:
    """Everything a run needs that takes time to load: the Dagster definitions, the spaCy pipeline,
    the signal statistics (vigipy)."""
    import vigipy  # noqa: F401 - the warehouse build's signal statistics import it when they first run

    import fms_pipeline.definitions  # noqa: F401
    from fms_pipeline.nlp import shared_nlp

    shared_nlp(settings.spacy_model or None)


def watch(settings, run: Callable[[], int], interval: float = 1.0, restart: Callable[[], None] | None = None,
          updates: int | None = None, say: Callable[[str], None] = print) -> int:
    """Run ``run`` (the main job) now and whenever the raw folder's listing changes, until
    interrupted (or after ``updates`` runs following the first, for tests and benchmarks).
    ``restart`` replaces this process when what it loaded has changed on disk. A failed update
    (an error, a run that failed) is tried again after a pause that doubles up to 5 minutes, or at
    the next change; the process goes on watching."""
    loaded = current_version()
    load(settings)
    seen = listing(settings.raw_dir)  # before the run: what changes during it is seen at the next look
    baseline = resident_bytes()
    code = _run_safely(run, say)
    if code == 130:  # interrupted
        return code
    say(f"watching {settings.raw_dir} every {interval:g} s (Ctrl-C to stop)")
    failures = 0 if code == 0 else 1
    retry_at = None if code == 0 else time.monotonic() + 2 * interval
    done = 0
    while updates is None or done < updates:
        time.sleep(interval)
        try:
            now = listing(settings.raw_dir)
            if now == seen and (retry_at is None or time.monotonic() < retry_at):
                continue
            if now != seen:
                time.sleep(interval)  # settled: the same listing one look later
                if listing(settings.raw_dir) != now:
                    continue
        except OSError as error:  # the folder unreadable for a moment, an object store unreachable
            say(f"cannot look at {settings.raw_dir}: {error}; looking again")
            continue
        grown = resident_bytes() - baseline
        if current_version() != loaded or grown > GROWTH_LIMIT:
            say("the rules, vocabularies, model or code on disk changed" if grown <= GROWTH_LIMIT else
                f"this process grew by {grown / 2**20:,.0f} MiB since it loaded")
            say("starting again")
            if restart is None:
                return 75  # EX_TEMPFAIL: run again
            restart()
        started = time.monotonic()
        code = _run_safely(run, say)
        done += 1
        if code == 130:  # interrupted inside the run
            return code
        if code == 0:
            seen, failures, retry_at = now, 0, None
            say(f"update done in {time.monotonic() - started:.1f} s; watching")
        else:
            failures += 1
            pause = min(300.0, interval * 2 ** failures)
            seen, retry_at = now, time.monotonic() + pause
            say(f"update failed (exit {code}) after {time.monotonic() - started:.1f} s; "
                f"trying again in {pause:.0f} s or at the next change")
    return code


def _run_safely(run: Callable[[], int], say: Callable[[str], None]) -> int:
    """``run()``'s exit code; an error that escapes it is printed and counts as a failure (exit 1),
    so that the process goes on watching."""
    try:
        return run()
    except Exception:  # noqa: BLE001 - one failed update must not end the watching process
        say("the update stopped on an error:\n" + traceback.format_exc().rstrip())
        return 1


def restart_with(argv: Sequence[str]) -> Callable[[], None]:
    """A ``restart`` that replaces this process by ``python -m fms_pipeline.cli ARGV``."""

    def restart() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, "-m", "fms_pipeline.cli", *argv])

    return restart
