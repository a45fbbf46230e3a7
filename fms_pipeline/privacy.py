"""A shareable copy of the warehouse: authors pseudonymised, people and contact details masked
in every text of every table.

* Author names (and article bylines) become keyed pseudonyms, ``person-`` + the first 12 hex
  digits of HMAC-SHA256(secret, the name folded to lower case with spaces collapsed): the same
  person keeps the same pseudonym across runs and files as long as the secret is the same, and
  nobody without the secret can test a guess. File names become ``file-`` + a keyed hash (+ the
  extension): a file name can hold a name, and the same file keeps its pseudonym in every table.
* Author lines that ask not to be named ("Do not print my name", "Anonymous") become NULL.
* Each column is handled by the privacy class its table declares (``warehouse/sql/*/NN_table.yml``:
  kept, pseudonymised, masked, file, host); a VARCHAR column found in ``information_schema`` but
  declared nowhere is masked. Masked columns: people (PERSON mentions,
  authors' and bylines' names and first names, and names found by ``pii.NameFinder``) become
  ``[PERSON]``; e-mail addresses, URLs, phone numbers, SSN-like and other ID-like numbers and
  street addresses become ``[EMAIL]``, ``[URL]``, ``[PHONE]``, ``[SSN]``, ``[ID]``, ``[ADDRESS]``.
* Offsets into the masked bodies (``start_char``/``end_char`` of every table that has them with
  ``document_id`` and ``comment_id``) are moved to match, and such a table's ``text`` column is
  cut again from the masked body, so every mention and outcome still cuts out exactly its text.
* ``documents.url`` keeps its scheme and host only ("https://www.reddit.com/"): the path holds
  user names and title words; the host says where the text came from.

Aggregates are recomputed from the masked tables. The copy is built in a new file and renamed
into place, like the warehouse itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import duckdb
import polars as pl

from fms_pipeline import pii, tables, warehouse

MASK = pii.MASKS["person"]
# Texts that mentions, outcomes and sentences point into: masked once, offsets moved to match.
OWNER_TEXTS = {"documents": ("document_id", None), "comments": ("document_id", "comment_id")}
SPAN_KEYS = ("document_id", "comment_id", "start_char", "end_char")


class ShareRefused(ValueError):
    """The copy was not written; the message says why."""


class MissingSecret(ShareRefused):
    pass


def column_class(table: str, column: str, catalog: dict[str, tables.Table] | None = None) -> str:
    """The declared privacy class of a column; an undeclared one is masked."""
    declared = (catalog or tables.TABLES).get(table)
    found = [c.privacy for c in declared.columns if c.name == column] if declared else []
    return found[0] if found else "masked"


def pseudonym(name: str, secret: bytes) -> str:
    key = " ".join(name.split()).casefold().encode("utf-8")
    return "person-" + hmac.new(secret, key, hashlib.sha256).hexdigest()[:12]


def file_pseudonym(source_file: str, secret: bytes) -> str:
    suffix = PurePosixPath(source_file).suffix
    suffix = suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", suffix) else ""
    return "file-" + hmac.new(secret, b"file:" + source_file.encode("utf-8"), hashlib.sha256).hexdigest()[:12] + suffix


def url_host(url: str) -> str:
    """Scheme and host of a URL, nothing of its path, query or user part."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.hostname:
        return pii.MASKS["url"]
    return f"{parts.scheme}://{parts.hostname}/"


@dataclass
class Replacement:
    start: int
    end: int
    mask: str = MASK


_MASK_ORDER = {mask: i for i, mask in enumerate(pii.MASKS.values())}


def _merge(spans: list[tuple[int, int, str]]) -> list[Replacement]:
    """Overlapping spans as one, under the mask of the first and longest (the more specific kind,
    in ``pii.KINDS`` order, where two cover the same characters: an SSN is also an ID-like number)."""
    merged: list[Replacement] = []
    for start, end, mask in sorted(spans, key=lambda s: (s[0], -s[1], _MASK_ORDER.get(s[2], len(_MASK_ORDER)))):
        if merged and start <= merged[-1].end:
            merged[-1].end = max(merged[-1].end, end)
        else:
            merged.append(Replacement(start, end, mask))
    return merged


def mask_text(text: str, spans: list[tuple[int, int]] | list[tuple[int, int, str]]) -> tuple[str, list[Replacement]]:
    """``text`` with each span (start, end[, mask]) replaced by its mask, overlapping spans merged."""
    replacements = _merge([(s[0], s[1], s[2] if len(s) > 2 else MASK) for s in spans if s[1] > s[0]])
    parts, last = [], 0
    for r in replacements:
        parts.append(text[last:r.start])
        parts.append(r.mask)
        last = r.end
    parts.append(text[last:])
    return "".join(parts), replacements


def move_offset(offset: int, replacements: list[Replacement], is_end: bool) -> int:
    """Where an offset of the original text lands in the masked text."""
    shift = 0
    for r in replacements:
        if offset >= r.end:
            shift += len(r.mask) - (r.end - r.start)
        elif offset > r.start or (offset == r.start and is_end):
            # Inside a masked span: a start goes to the mask's start, an end to its end.
            return r.start + shift + (len(r.mask) if is_end else 0)
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


class Masker:
    """Masks texts of one warehouse: its known people, names found by ``pii.NameFinder`` and
    contact details."""

    def __init__(self, known_names: set[str], texts: list[str], not_names: set[str]):
        from fms_pipeline.nlp.places import person_titles

        titles = {t.rstrip(".") for t in person_titles()}
        self.known_pattern = _name_pattern(known_names)
        self.first_name_pattern = _first_name_pattern(first_names(known_names))
        known_words = {w.lower().rstrip(".,") for n in known_names for w in n.split() if len(w) >= 2}
        self.finder = pii.NameFinder(everyday=pii.everyday_words(texts),
                                     not_names=pii.default_not_names() | not_names,
                                     known=known_words - titles - set(pii.default_not_names()))

    def spans(self, text: str, protected: list[tuple[int, int]] = ()) -> list[tuple[int, int, str]]:
        found = [(s, e, pii.MASKS[kind]) for s, e, kind in self.finder.find(text, protected)]
        for names_pattern in (self.known_pattern, self.first_name_pattern):
            if names_pattern is not None:
                found += [(m.start(), m.end(), MASK) for m in names_pattern.finditer(text)]
        return found

    def mask(self, text: str | None, people: list[tuple[int, int]] = (),
             protected: list[tuple[int, int]] = ()) -> tuple[str | None, list[Replacement]]:
        """``text`` masked, with the ``people`` spans (PERSON mentions) masked too and no name
        looked for in the ``protected`` ones (other mentions: drugs, places, conditions ...)."""
        if text is None:
            return None, []
        return mask_text(text, self.spans(text, protected) + [(s, e, MASK) for s, e in people])


def _varchar_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? "
        "AND data_type = 'VARCHAR' ORDER BY ordinal_position", [table]).fetchall()]


def check_output(warehouse_path: Path, out_path: Path) -> None:
    """Refuse to write the copy over the private warehouse (or its WAL), however the path is spelt."""
    private, out = Path(warehouse_path).resolve(), Path(out_path).resolve()
    same = out == private or out == private.with_name(private.name + ".wal")
    if not same and out.exists() and private.exists():
        same = os.path.samefile(out, private)
    if same:
        raise ShareRefused(f"refusing to write the shareable copy over the private warehouse {private}: "
                           "choose another --out")


def write_shareable_copy(warehouse_path: Path, out_path: Path, secret: bytes,
                         catalog: dict[str, tables.Table] | None = None) -> dict[str, int]:
    """Write the shareable copy of ``warehouse_path`` to ``out_path``; returns row counts.
    ``catalog`` (default: the package's declarations) is for tests that add a table."""
    core = warehouse.layer_tables("core", catalog)
    aggregates = warehouse.layer_tables("aggregates", catalog)
    if not secret:
        raise MissingSecret("a secret is needed for pseudonyms: set FMS_SHARE_SECRET (keep it private, reuse it)")
    check_output(warehouse_path, out_path)
    if not Path(warehouse_path).is_file():
        raise ShareRefused(f"{warehouse_path} does not exist yet: run `fms-pipeline materialize` first")
    with warehouse.connect_read_only(warehouse_path) as con:
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
        names = [t.name for t in core if t.name in present]
        frames = {name: con.sql(f"SELECT * FROM {name}").pl() for name in names}
        text_columns = {name: _varchar_columns(con, name) for name in names}
    frames = mask_tables(frames, text_columns, secret, catalog)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    building = out_path.with_name(f".{out_path.name}.building-{os.getpid()}")
    building.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(building)) as con:
            for name, df in frames.items():
                con.register("incoming", df.to_arrow())
                con.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
                con.unregister("incoming")
            # Aggregates are recomputed from the masked tables with the warehouse's own SQL.
            warehouse.build_tables(con, aggregates)
            for table in [t for t in core if t.name in frames] + aggregates:
                for statement in warehouse.contract.comment_statements(table):
                    con.execute(statement)
            counts = {name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
                      for name in (*frames, *(t.name for t in aggregates))}
            con.execute("CHECKPOINT")
        os.replace(building, out_path)
    finally:
        building.unlink(missing_ok=True)
    return counts


def mask_tables(tables: dict[str, pl.DataFrame], text_columns: dict[str, list[str]], secret: bytes,
                catalog: dict | None = None) -> dict[str, pl.DataFrame]:
    """The masked tables: every VARCHAR column handled by its declared privacy class (masked,
    pseudonymised, a file pseudonym or cut to its host; kept as it is); offsets and span texts
    moved to the masked bodies."""
    comments, documents = tables.get("comments"), tables.get("documents")
    mentions = tables.get("entity_mentions")
    known: set[str] = set()
    if comments is not None:
        known |= set(comments.filter(~pl.col("author_is_anonymous") & pl.col("author").is_not_null())["author"])
    if documents is not None:
        known |= set(documents.filter(pl.col("byline").is_not_null())["byline"])
    person_spans: dict[tuple[str, str | None], list[tuple[int, int]]] = {}
    other_spans: dict[tuple[str, str | None], list[tuple[int, int]]] = {}
    not_names: set[str] = set()
    if mentions is not None:
        people = mentions.filter(pl.col("label") == "PERSON")
        known |= set(people["text"])
        for d, c, s, e in people.select("document_id", "comment_id", "start_char", "end_char").iter_rows():
            person_spans.setdefault((d, c), []).append((s, e))
        for d, c, s, e in mentions.filter(pl.col("label") != "PERSON").select(
                "document_id", "comment_id", "start_char", "end_char").iter_rows():
            other_spans.setdefault((d, c), []).append((s, e))
        # Words the pipeline recognised as a drug, condition, place ... are not names alone.
        not_names = {w.lower() for t in mentions.filter(pl.col("label") != "PERSON")["text"] for w in t.split()}
    texts = [t for name, (_, _) in OWNER_TEXTS.items() if name in tables for t in tables[name]["body"].to_list()]
    masker = Masker(known, texts, not_names)

    moved: dict[tuple[str, str | None], list[Replacement]] = {}
    masked_bodies: dict[tuple[str, str | None], str] = {}
    out = {}
    for name, df in tables.items():
        columns = {}
        owner_keys = OWNER_TEXTS.get(name)
        for column in text_columns.get(name, []):
            values = df[column].to_list()
            privacy = column_class(name, column, catalog)
            if privacy == "kept" or (column == "text" and set(SPAN_KEYS) <= set(df.columns)):
                continue  # kept, or a span's text: cut again from the masked body below
            if privacy == "pseudonymised":
                anonymous = df["author_is_anonymous"].to_list() if column == "author" else [False] * len(values)
                columns[column] = [None if v is None or a else pseudonym(v, secret) for v, a in zip(values, anonymous)]
            elif privacy == "file":
                columns[column] = [None if v is None else file_pseudonym(v, secret) for v in values]
            elif privacy == "host":
                columns[column] = [None if v is None else url_host(v) for v in values]
            elif owner_keys is not None and column == "body":
                document_key, comment_key = owner_keys
                owners = zip(df[document_key].to_list(),
                             df[comment_key].to_list() if comment_key else [None] * len(values))
                bodies = []
                for owner, body in zip(owners, values):
                    masked, replacements = masker.mask(body, person_spans.get(owner, []), other_spans.get(owner, []))
                    moved[owner], masked_bodies[owner] = replacements, masked or ""
                    bodies.append(masked)
                columns[column] = bodies
            elif name == "entity_mentions" and column == "canonical":
                columns[column] = [MASK.lower() if label == "PERSON" else v
                                   for v, label in zip(values, df["label"].to_list())]
            else:
                columns[column] = [masker.mask(v)[0] for v in values]
        out[name] = df.with_columns(pl.Series(c, v, dtype=pl.String) for c, v in columns.items())
    for name, df in out.items():
        if name in OWNER_TEXTS or not set(SPAN_KEYS) <= set(df.columns):
            continue
        starts, ends, cut = [], [], []
        originals = df["text"].to_list() if "text" in df.columns else [None] * df.height
        for (d, c, start, end), original in zip(df.select(*SPAN_KEYS).iter_rows(), originals):
            replacements = moved.get((d, c), [])
            new_start = None if start is None else move_offset(start, replacements, is_end=False)
            new_end = None if end is None else move_offset(end, replacements, is_end=True)
            starts.append(new_start)
            ends.append(new_end)
            body = masked_bodies.get((d, c))
            if body is None or new_start is None or new_end is None:
                cut.append(masker.mask(original)[0])  # a span of no text: the checks reject it anyway
            else:
                cut.append(body[new_start:new_end])
        df = df.with_columns(pl.Series("start_char", starts, dtype=df["start_char"].dtype),
                             pl.Series("end_char", ends, dtype=df["end_char"].dtype))
        if "text" in df.columns:
            # Cut from the masked body: masked wherever the body is, and exactly what the offsets hold.
            df = df.with_columns(pl.Series("text", cut, dtype=pl.String))
        out[name] = df
    return out
