"""The NLP's speed against spaCy's tokenizer on one core (CPU seconds, so that a shared machine's load
weighs less), with and without one pipeline component, on the benchmark corpus's texts.

    .venv/bin/python benchmarks/nlp_speed.py --words 300K --repeats 3 --without fms_access_loss

Prints one line per run and, last, the figures as JSON: the tokenizer's words per CPU second, the
pipeline's, their ratio (the issue's target: >= 0.30 per core), and the same without the component.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus import write_corpus  # noqa: E402
from benchmarks.run import parse_size, texts_of  # noqa: E402


def cpu_words_per_second(run, texts: list[str], words: int) -> float:
    started = time.process_time()
    run(texts)
    return words / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", default="300K", help="corpus size in words (default 300K)")
    parser.add_argument("--page-words", type=int, default=440)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--without", default="fms_access_loss", help="a component to measure the pipeline without")
    args = parser.parse_args()

    from fms_pipeline.nlp import load_nlp

    with tempfile.TemporaryDirectory(prefix="fms-nlp-speed-") as work:
        raw = Path(work) / "raw"
        write_corpus(raw, parse_size(args.words), page_words=args.page_words)
        texts = texts_of(raw)
    words = sum(len(t.split()) for t in texts)
    nlp = load_nlp()

    def tokenizer(ts):
        for _ in nlp.tokenizer.pipe(ts, batch_size=256):
            pass

    def pipeline(ts):
        for _ in nlp.pipe(ts, batch_size=256):
            pass

    def without(ts):
        for _ in nlp.pipe(ts, batch_size=256, disable=[args.without]):
            pass

    pipeline(texts[:50])  # warm caches (lexemes, VADER tokens, fuzzy matches) before measuring
    figures: dict[str, list[float]] = {"tokenizer": [], "pipeline": [], "without": []}
    for run in range(args.repeats):
        for name, fn in (("tokenizer", tokenizer), ("pipeline", pipeline), ("without", without)):
            figures[name].append(cpu_words_per_second(fn, texts, words))
        print(f"run {run + 1}: tokenizer {figures['tokenizer'][-1]:,.0f} words/CPU s, pipeline "
              f"{figures['pipeline'][-1]:,.0f} ({figures['pipeline'][-1] / figures['tokenizer'][-1]:.3f}), without "
              f"{args.without} {figures['without'][-1]:,.0f} ({figures['without'][-1] / figures['tokenizer'][-1]:.3f})",
              flush=True)
    ratios = [p / t for p, t in zip(figures["pipeline"], figures["tokenizer"])]
    ratios_without = [p / t for p, t in zip(figures["without"], figures["tokenizer"])]
    print(json.dumps({"words": words, "texts": len(texts), "repeats": args.repeats,
                      "tokenizer_words_per_cpu_second": round(statistics.median(figures["tokenizer"])),
                      "pipeline_words_per_cpu_second": round(statistics.median(figures["pipeline"])),
                      "pipeline_to_tokenizer": round(statistics.median(ratios), 3),
                      f"without_{args.without}_to_tokenizer": round(statistics.median(ratios_without), 3)}))


if __name__ == "__main__":
    main()
