"""spaCy's tokenizer as the benchmarks' reference speed, measured two ways.

- ``cached``: the pipeline's own tokenizer as it runs now (its cache of chunk splits emptied
  after load and 200,000 chunks large: ``fms_pipeline.nlp.pipeline.TOKENIZER_CACHE_CHUNKS``).
- ``uncached``: the same tokenizer rules and vocabulary with no cache (``max_cache_size = 0``).
  This is the reference issues 17 and 20 set their ratios against ("the NLP keeps >= 0.30 of
  spaCy's tokenizer per core"): until session 7 the pipeline's tokenizer ran with its 10,000-chunk
  cache already full of the rulers' patterns, so it cached nothing of the corpus (a few pattern
  words aside, which is why its speed varied between versions of the vocabularies).
"""

from __future__ import annotations

import time

from spacy.tokenizer import Tokenizer


def uncached_copy(tokenizer: Tokenizer) -> Tokenizer:
    copy = Tokenizer(tokenizer.vocab)
    copy.from_bytes(tokenizer.to_bytes())
    copy.max_cache_size = 0
    return copy


def words_per_second(tokenizer: Tokenizer, texts: list[str], words: int) -> tuple[float, float]:
    """(words per wall-clock second, words per CPU second) of one pass over ``texts``."""
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in tokenizer.pipe(texts, batch_size=256):
        pass
    return words / (time.perf_counter() - started), words / (time.process_time() - cpu_started)
