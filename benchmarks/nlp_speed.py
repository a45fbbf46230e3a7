"""The NLP's speed against spaCy's tokenizer on one core (CPU seconds, so that a shared machine's load
weighs less), with and without one pipeline component, on the benchmark corpus's texts.

    .venv/bin/python benchmarks/nlp_speed.py --words 300K --repeats 3 --without fms_access_loss

Prints one line per run and, last, the figures as JSON: the tokenizer's words per CPU second, the
pipeline's, their ratio, and the same without the component; the tokenizer measured with its cache
(as the pipeline runs it) and without (the reference issue 17's target, >= 0.30 per core, was set
against: see benchmarks/tokenizer_reference.py).
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
from benchmarks.tokenizer_reference import uncached_copy  # noqa: E402


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

    uncached_tokenizer = uncached_copy(nlp.tokenizer)

    def tokenizer(ts):
        for _ in nlp.tokenizer.pipe(ts, batch_size=256):
            pass

    def uncached(ts):
        for _ in uncached_tokenizer.pipe(ts, batch_size=256):
            pass

    def pipeline(ts):
        for _ in nlp.pipe(ts, batch_size=256):
            pass

    def without(ts):
        for _ in nlp.pipe(ts, batch_size=256, disable=[args.without]):
            pass

    pipeline(texts[:50])  # warm caches (lexemes, VADER tokens, fuzzy matches) before measuring
    figures: dict[str, list[float]] = {"tokenizer": [], "uncached": [], "pipeline": [], "without": []}
    for run in range(args.repeats):
        for name, fn in (("tokenizer", tokenizer), ("uncached", uncached), ("pipeline", pipeline),
                         ("without", without)):
            figures[name].append(cpu_words_per_second(fn, texts, words))
        last = {name: values[-1] for name, values in figures.items()}
        print(f"run {run + 1}: tokenizer {last['tokenizer']:,.0f} words/CPU s (uncached {last['uncached']:,.0f}), "
              f"pipeline {last['pipeline']:,.0f} ({last['pipeline'] / last['tokenizer']:.3f}; "
              f"{last['pipeline'] / last['uncached']:.3f} of the uncached), without {args.without} "
              f"{last['without']:,.0f} ({last['without'] / last['uncached']:.3f} of the uncached)", flush=True)

    def ratio(of: str, to: str) -> float:
        return round(statistics.median(a / b for a, b in zip(figures[of], figures[to])), 3)

    print(json.dumps({"words": words, "texts": len(texts), "repeats": args.repeats,
                      "tokenizer_words_per_cpu_second": round(statistics.median(figures["tokenizer"])),
                      "uncached_tokenizer_words_per_cpu_second": round(statistics.median(figures["uncached"])),
                      "pipeline_words_per_cpu_second": round(statistics.median(figures["pipeline"])),
                      "pipeline_to_tokenizer": ratio("pipeline", "tokenizer"),
                      "pipeline_to_uncached_tokenizer": ratio("pipeline", "uncached"),
                      f"without_{args.without}_to_uncached_tokenizer": ratio("without", "uncached")}))


if __name__ == "__main__":
    main()
