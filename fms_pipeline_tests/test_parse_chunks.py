"""A parse worker's chunk of many small pages: rows written to part files as the chunk goes, each
file's rows in exactly one part, nothing held back in the results (issue 20: 25,000 forum pages
held as frames made one worker 1.9 GB)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from benchmarks.corpus import write_corpus
from fms_pipeline import stages


def test_a_chunk_of_small_pages_is_written_in_parts_with_every_row_once(tmp_path: Path, monkeypatch):
    raw, work = tmp_path / "raw", tmp_path / "work"
    work.mkdir()
    files, _ = write_corpus(raw, 0, page_words=28, files_wanted=23)
    monkeypatch.setattr(stages, "PART_ROWS", 20)  # a part every few pages
    monkeypatch.setattr(stages, "COMPACT_FILES", 3)  # and frames concatenated every 3 pages
    names = sorted(p.name for p in raw.iterdir())
    items = [(name, f"{i % 2:02d}", "fp", (raw / name).stat().st_size, None, None) for i, name in enumerate(names)]
    parse_file, written_before = stages.parse_file, []

    def parse_counting_parts(*args, **kwargs):
        written_before.append(len(list(work.rglob("documents.parquet"))))
        return parse_file(*args, **kwargs)

    monkeypatch.setattr(stages, "parse_file", parse_counting_parts)
    results = stages._parse_chunk((raw, work, None, items))
    assert written_before[0] == 0 and written_before[-1] >= 2  # parts written while the chunk went on
    assert [r.source_file for r in results] == names and files == 23
    assert all(r.status == "staged" and r.frames == {} for r in results)
    parts = {p for r in results for p in r.parts["documents"]}
    assert len(parts) > 2  # several parts per bucket, written before the chunk ended
    for bucket in ("00", "01"):
        mine = [r for r in results if r.bucket == bucket]
        documents = pl.read_parquet(sorted({p for r in mine for p in r.parts["documents"]}))
        comments = pl.read_parquet(sorted({p for r in mine for p in r.parts["comments"]}))
        # every file's rows once, in its bucket's parts only
        assert sorted(documents["source_file"].to_list()) == sorted(r.source_file for r in mine)
        assert len(documents) == sum(r.documents for r in mine) and len(comments) == sum(r.comments for r in mine)
        assert comments["document_id"].is_in(documents["document_id"].implode()).all()
