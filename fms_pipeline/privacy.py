"""A shareable copy of the warehouse: authors pseudonymised, people masked.

* Author names (and article bylines) become keyed pseudonyms, ``person-`` + the first 12 hex
  digits of HMAC-SHA256(secret, the name folded to lower case with spaces collapsed): the same
  person keeps the same pseudonym across runs and files as long as the secret is the same, and
  nobody without the secret can test a guess.
* Author lines that ask not to be named ("Do not print my name", "Anonymous") become NULL.
* In every stored body, PERSON mentions and any occurrence of an author's name or a byline,
  or of the first name of any of these written as a name ("Thanks Kathy" for the author
  "Kathy C", "Ginevra" for "Dr. Ginevra Liptan"), are
  replaced by ``[PERSON]``; offsets of mentions, outcomes and sentences are moved to match,
  so they still cut out their text.

Aggregates are recomputed from the masked tables. The copy is built in a new file and renamed
into place, like the warehouse itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from fms_pipeline import warehouse

MASK = "[PERSON]"
OFFSET_TABLES = ("entity_mentions", "outcome_mentions", "sentences")


class MissingSecret(ValueError):
    pass


def pseudonym(name: str, secret: bytes) -> str:
    key = " ".join(name.split()).casefold().encode("utf-8")
    return "person-" + hmac.new(secret, key, hashlib.sha256).hexdigest()[:12]


@dataclass
class Replacement:
    start: int
    end: int


def _merge(spans: list[tuple[int, int]]) -> list[Replacement]:
    merged: list[Replacement] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1].end:
            merged[-1].end = max(merged[-1].end, end)
        else:
            merged.append(Replacement(start, end))
    return merged


def mask_text(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[Replacement]]:
    replacements = _merge(spans)
    parts, last = [], 0
    for r in replacements:
        parts.append(text[last:r.start])
        parts.append(MASK)
        last = r.end
    parts.append(text[last:])
    return "".join(parts), replacements


def move_offset(offset: int, replacements: list[Replacement], is_end: bool) -> int:
    """Where an offset of the original text lands in the masked text."""
    shift = 0
    for r in replacements:
        if offset >= r.end:
            shift += len(MASK) - (r.end - r.start)
        elif offset > r.start or (offset == r.start and is_end):
            # Inside a masked span: a start goes to the mask's start, an end to its end.
            return r.start + shift + (len(MASK) if is_end else 0)
        else:
            break
    return offset + shift


def _name_pattern(names: set[str]) -> re.Pattern[str] | None:
    names = {n for n in names if len(n.strip()) >= 3}
    if not names:
        return None
    alternatives = sorted((re.escape(" ".join(n.split())).replace(r"\ ", r"\s+") for n in names), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def first_names(names: set[str]) -> set[str]:
    """The first name of each name of two or more words, titles skipped ("Dr. Ginevra Liptan" ->
    "Ginevra"): people address each other by it. Only title-case words of letters, matched as
    written, so "Kathy" is masked but not "kathy" or "KATHY"; a first name that is also a word
    ("Will", "May") is masked where it is capitalised, which errs on the side of privacy."""
    from fms_pipeline.nlp.places import person_titles

    titles = set(person_titles())
    found = set()
    for name in names:
        words = [w for w in name.replace(",", " ").split() if w.lower() not in titles]
        if len(words) >= 2 and words[0].isalpha() and words[0].istitle() and len(words[0]) >= 2:
            found.add(words[0])
    return found


def _first_name_pattern(names: set[str]) -> re.Pattern[str] | None:
    if not names:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")(?!\w)")


def write_shareable_copy(warehouse_path: Path, out_path: Path, secret: bytes) -> dict[str, int]:
    """Write the shareable copy of ``warehouse_path`` to ``out_path``; returns row counts."""
    if not secret:
        raise MissingSecret("a secret is needed for pseudonyms: set FMS_SHARE_SECRET (keep it private, reuse it)")
    with warehouse.connect_read_only(warehouse_path) as con:
        tables = {name: con.sql(f"SELECT * FROM {name}").pl() for name in warehouse.CORE_TABLES}
    comments, documents, mentions = tables["comments"], tables["documents"], tables["entity_mentions"]

    named = comments.filter(~pl.col("author_is_anonymous") & pl.col("author").is_not_null())["author"].to_list()
    bylines = documents.filter(pl.col("byline").is_not_null())["byline"].to_list()
    pattern = _name_pattern(set(named) | set(bylines))
    people = set(mentions.filter(pl.col("label") == "PERSON")["text"].to_list())
    first_name_pattern = _first_name_pattern(first_names(set(named) | set(bylines) | people))
    person_spans: dict[tuple[str, str | None], list[tuple[int, int]]] = {}
    for row in mentions.filter(pl.col("label") == "PERSON").iter_rows(named=True):
        person_spans.setdefault((row["document_id"], row["comment_id"]), []).append((row["start_char"], row["end_char"]))

    moved: dict[tuple[str, str | None], list[Replacement]] = {}

    def masked(text: str | None, owner: tuple[str, str | None]) -> str | None:
        if text is None:
            return None
        spans = list(person_spans.get(owner, []))
        for names_pattern in (pattern, first_name_pattern):
            if names_pattern is not None:
                spans += [(m.start(), m.end()) for m in names_pattern.finditer(text)]
        new_text, replacements = mask_text(text, spans)
        moved[owner] = replacements
        return new_text

    documents = documents.with_columns(
        pl.Series("body", [masked(b, (d, None)) for d, b in documents.select("document_id", "body").iter_rows()]),
        pl.Series("byline", [pseudonym(b, secret) if b else None for b in documents["byline"].to_list()]),
    )
    comments = comments.with_columns(
        pl.Series("body", [masked(b, (d, c)) for c, d, b in comments.select("comment_id", "document_id", "body").iter_rows()]),
        pl.Series("author", [
            None if anonymous or author is None else pseudonym(author, secret)
            for author, anonymous in comments.select("author", "author_is_anonymous").iter_rows()
        ]),
    )
    tables["documents"], tables["comments"] = documents, comments
    for name in OFFSET_TABLES:
        df = tables[name]
        starts, ends = [], []
        for d, c, start, end in df.select("document_id", "comment_id", "start_char", "end_char").iter_rows():
            replacements = moved.get((d, c), [])
            starts.append(move_offset(start, replacements, is_end=False))
            ends.append(move_offset(end, replacements, is_end=True))
        df = df.with_columns(pl.Series("start_char", starts, dtype=pl.Int32), pl.Series("end_char", ends, dtype=pl.Int32))
        if "text" in df.columns and name == "entity_mentions":
            person = pl.col("label") == "PERSON"
            df = df.with_columns(
                pl.when(person).then(pl.lit(MASK)).otherwise(pl.col("text")).alias("text"),
                pl.when(person).then(pl.lit(MASK.lower())).otherwise(pl.col("canonical")).alias("canonical"),
            )
        tables[name] = df
    out_path.parent.mkdir(parents=True, exist_ok=True)
    building = out_path.with_name(f".{out_path.name}.building-{os.getpid()}")
    building.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(building)) as con:
            for name, df in tables.items():
                con.register("incoming", df.to_arrow())
                con.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
                con.unregister("incoming")
            # Aggregates are recomputed from the masked tables with the warehouse's own SQL.
            for _, sql in warehouse.sql_files("aggregates"):
                con.execute(sql)
            counts = {name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
                      for name in warehouse.CORE_TABLES + warehouse.AGGREGATE_TABLES}
            con.execute("CHECKPOINT")
        os.replace(building, out_path)
    finally:
        building.unlink(missing_ok=True)
    return counts
