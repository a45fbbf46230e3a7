"""Progress of long work, shown by whoever listens (the CLI); the stages only report.

On a terminal it is a progress bar (tqdm); otherwise a plain line every ``PLAIN_EVERY_SECONDS``
with files and words done, the rate and the time left.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

PLAIN_EVERY_SECONDS = 10.0


@dataclass
class _Stage:
    name: str
    total_files: int
    total_bytes: int
    files: int = 0
    words: int = 0
    bytes: int = 0
    started: float = field(default_factory=time.monotonic)
    last_line: float = 0.0
    bar: object = None


class Reporter:
    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.stage: _Stage | None = None

    def start(self, name: str, total_files: int, total_bytes: int) -> None:
        self.finish()
        self.stage = _Stage(name, total_files, total_bytes)
        if self.tty:
            from tqdm import tqdm

            self.stage.bar = tqdm(total=total_bytes or None, unit="B", unit_scale=True, desc=name, file=self.stream,
                                  dynamic_ncols=True)

    def advance(self, files: int = 0, words: int = 0, bytes_: int = 0) -> None:
        s = self.stage
        if s is None:
            return
        s.files += files
        s.words += words
        s.bytes += bytes_
        elapsed = max(time.monotonic() - s.started, 1e-6)
        if s.bar is not None:
            s.bar.update(bytes_)
            s.bar.set_postfix_str(f"{s.files:,}/{s.total_files:,} files, {s.words:,} words, {s.words / elapsed:,.0f} words/s")
        elif time.monotonic() - s.last_line >= PLAIN_EVERY_SECONDS or s.files == s.total_files:
            s.last_line = time.monotonic()
            print(self.line(), file=self.stream, flush=True)

    def line(self) -> str:
        s = self.stage
        elapsed = max(time.monotonic() - s.started, 1e-6)
        share = s.bytes / s.total_bytes if s.total_bytes else (s.files / s.total_files if s.total_files else 1.0)
        left = elapsed * (1 - share) / share if share > 0 else float("nan")
        left_text = f"~{left / 60:.1f} min left" if share < 1 and left == left else "done"
        return (f"{s.name}: {s.files:,}/{s.total_files:,} files, {s.words:,} words, "
                f"{s.words / elapsed:,.0f} words/s, {left_text}")

    def finish(self) -> None:
        if self.stage is not None and self.stage.bar is not None:
            self.stage.bar.close()
        self.stage = None


_reporter: Reporter | None = None


def listen(reporter: Reporter | None) -> None:
    """Install (or remove, with None) the process's progress reporter."""
    global _reporter
    _reporter = reporter


def start(name: str, total_files: int, total_bytes: int) -> None:
    if _reporter is not None:
        _reporter.start(name, total_files, total_bytes)


def advance(files: int = 0, words: int = 0, bytes_: int = 0) -> None:
    if _reporter is not None:
        _reporter.advance(files, words, bytes_)


def finish() -> None:
    if _reporter is not None:
        _reporter.finish()
