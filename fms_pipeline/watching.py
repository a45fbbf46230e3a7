"""``fms-pipeline watch``: the main job kept loaded in one process and run whenever ``raw/`` changes.

Every ``fms-pipeline materialize`` starts a Python process that imports Dagster and the project and
loads the spaCy pipeline before it looks at the new file: ~6 of the ~13 CPU s a one-file update
costs (``benchmarks/small_update.py``). This process pays that once, then looks at the raw
folder's listing every ``interval`` seconds and runs the same main job (``cli.materialize``: the
same planning, the same Dagster runs recorded in DAGSTER_HOME, the same warehouse and report)
when the listing has changed and stayed the same for one more look (a file still being copied in
is not processed half-written).

The loaded pipeline is the one the files it processes are stamped with (``batches.pipeline_version``):
when a vocabulary, rule or model file changes on disk, the process starts itself again (``exec``)
before it processes anything, so the files are processed by the rules they are stamped with.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence

from fms_pipeline import batches, raw_files


def listing(raw_dir) -> tuple[tuple[str, str], ...]:
    """What the raw folder holds: each file's name and fingerprint (size and times, or an ETag)."""
    return tuple(sorted((name, entry.fingerprint) for name, entry in raw_files.scan(raw_dir).items()))


def current_version() -> str:
    """``batches.pipeline_version`` as the files on disk are now (that function keeps its first answer)."""
    return batches.pipeline_version.__wrapped__()


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
    ``restart`` replaces this process when the rules on disk are not the loaded ones."""
    loaded = batches.pipeline_version()
    load(settings)
    seen = listing(settings.raw_dir)  # before the run: what changes during it is seen at the next look
    code = run()
    say(f"watching {settings.raw_dir} every {interval:g} s (Ctrl-C to stop)")
    done = 0
    while updates is None or done < updates:
        time.sleep(interval)
        now = listing(settings.raw_dir)
        if now == seen:
            continue
        time.sleep(interval)  # settled: the same listing one look later
        if listing(settings.raw_dir) != now:
            continue
        if current_version() != loaded:
            say("the rules, vocabularies or model on disk changed: starting again to load them")
            if restart is None:
                return 75  # EX_TEMPFAIL: run again
            restart()
        started = time.monotonic()
        code = run()
        seen = now
        done += 1
        say(f"update {'done' if code == 0 else f'failed (exit {code}): tried again at the next change'} "
            f"in {time.monotonic() - started:.1f} s; watching")
        if code == 130:  # interrupted inside the run
            return code
    return code


def restart_with(argv: Sequence[str]) -> Callable[[], None]:
    """A ``restart`` that replaces this process by ``python -m fms_pipeline.cli ARGV``."""

    def restart() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, "-m", "fms_pipeline.cli", *argv])

    return restart
