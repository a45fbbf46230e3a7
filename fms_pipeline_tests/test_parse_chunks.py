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
    assert all(r.status == "staged" and r.frames == {} and r.page is None for r in results)
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


def test_a_page_that_fails_in_the_chunks_assembly_is_rejected_alone(tmp_path: Path, monkeypatch, caplog):
    """The chunk's pages are assembled together; when that fails, each page alone: the page that
    still fails is rejected with the reason, the others are staged."""
    from fms_pipeline.parsing import threads

    raw, work = tmp_path / "raw", tmp_path / "work"
    work.mkdir()
    write_corpus(raw, 0, page_words=28, files_wanted=6)
    names = sorted(p.name for p in raw.iterdir())
    items = [(name, "00", "fp", (raw / name).stat().st_size, None, None) for name in names]
    assemble_pages, calls = threads.assemble_pages, []

    def failing_on_the_third(pages):
        calls.append(len(pages))
        if any(page.source_file == names[2] for page in pages):
            raise ValueError("a page no reader foresaw")
        return assemble_pages(pages)

    monkeypatch.setattr(threads, "assemble_pages", failing_on_the_third)
    results = stages._parse_chunk((raw, work, None, items))
    assert calls == [6, 1, 1, 1, 1, 1, 1]  # together, then each alone
    assert [r.status for r in results] == ["staged", "staged", "rejected", "staged", "staged", "staged"]
    assert results[2].reason == "could not be parsed (ValueError: a page no reader foresaw); nothing of it was kept"
    assert results[2].parts == {} and results[2].page is None and f"parsing {names[2]} failed" in caplog.text
    documents = pl.read_parquet(sorted({p for r in results for p in r.parts.get("documents", [])}))
    assert sorted(documents["source_file"]) == [n for n in names if n != names[2]]
    assert all(r.documents == 1 and r.words > 0 for r in results if r.status == "staged")
