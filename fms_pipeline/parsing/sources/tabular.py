"""Tables: ``.csv``, ``.tsv``, ``.jsonl``/``.ndjson`` (one record a line), ``.parquet`` and ``.xlsx``.

Each row is one comment. Its columns are recognised by their names (``tabular_columns.yml``):
the text (one column, or several joined, each a paragraph headed by its column's name, as
DrugLib's benefitsReview / sideEffectsReview / commentsReview), title, date, author, overall
rating, score (votes), further ratings, the drug and condition the row is about, id, parent id,
and a column that groups rows into documents (a URL or thread column; else the drug column;
else the whole table, or each sheet of a workbook, is one document). A mapping file beside the
table, ``<table file name>.mapping.yml`` (``tabular_mapping.md``), overrides recognition.

The drug column is kept as the row's stated subject (``stated_drug``: the lexicon's generic name
when it knows the name, "Lyrica" -> pregabalin, "Effexor-XR" -> venlafaxine: ``drug_lexicon.canonical_drug``;
else the name as written, lower-cased), beside
what the NLP finds in the text; the condition as written (``stated_condition``). The overall
rating is a number; further ratings are kept as numbers, or as the category written
("Highly Effective").

Read in bounded memory: CSV/TSV and JSON Lines in blocks of about ``BLOCK_BYTES`` cut at a
record boundary (a line end outside quotes), each parsed by polars (plain or ``.zst``);
Parquet a row group batch at a time (pyarrow). A workbook is read a sheet at a time (calamine,
via fastexcel: a sheet is held whole, and ``.xlsx`` sheets stop at 1,048,576 rows).

Bad input: a row that polars cannot parse (more fields than the header, a line that is not
JSON) or that holds no text is a SkippedRecord with its line number (Parquet and workbooks:
its row number); a table with no text column is rejected with the columns it has; a mapping
file with an unknown key, a wrong value or a column the table lacks is rejected naming the key.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import BinaryIO
from urllib.parse import urlsplit

import polars as pl
import yaml

from fms_pipeline.parsing.sources.common import (
    ZSTD_MAGIC,
    TruncatedStream,
    author_fields,
    parse_timestamp,
    plain_text,
    raw_chunks,
    zstd_chunks,
)
from fms_pipeline.parsing.sources.model import (
    Record,
    RejectedSource,
    SkippedRecord,
    SourceComment,
    SourceDocument,
    SourceFormat,
)

FORMAT = SourceFormat("table", streaming=True)
KINDS = {".csv": "csv", ".tsv": "csv", ".tab": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
         ".parquet": "parquet", ".xlsx": "xlsx"}
MAPPING_SUFFIX = ".mapping.yml"  # reviews.csv -> reviews.csv.mapping.yml
BLOCK_BYTES = 8 << 20  # a CSV or JSON Lines block parsed at once
PARQUET_BATCH_ROWS = 20_000
PARQUET_MAGIC = b"PAR1"
XLSX_MAGIC = b"PK\x03\x04"
_DELIMITERS = (",", ";", "\t", "|")
_FIRST_LINE = re.compile(r"^\s*(\{[^\n]*\})\s*(\n|$)")


# ---------------------------------------------------------------- detection

def sniff(extension: str, head: str) -> bool:
    """A ``.csv``/``.tsv`` whose first line is a header (text, not markup or JSON), or a
    ``.jsonl``/``.ndjson`` whose first line is a JSON object (Reddit dumps are sniffed before)."""
    kind = KINDS.get(extension)
    if kind == "csv":
        first = head.lstrip("\ufeff").split("\n", 1)[0].strip()
        return bool(first) and "\x00" not in head[:4096] and first[0] not in "<{["
    if kind == "jsonl":
        match = _FIRST_LINE.match(head)
        if not match:
            return False
        try:
            return isinstance(json.loads(match.group(1)), dict)
        except json.JSONDecodeError:
            return False
    return False


def sniff_bytes(extension: str, head: bytes) -> bool:
    """Binary tables, recognised before the magic numbers of files dropped in by mistake:
    a ``.parquet`` starting with ``PAR1``, an ``.xlsx`` (a ZIP archive)."""
    return (extension == ".parquet" and head.startswith(PARQUET_MAGIC)) or (
        extension == ".xlsx" and head.startswith(XLSX_MAGIC))


def _kind_name(source_file: str) -> str:
    name = source_file.lower()
    for compressed in (".zst", ".gz", ".bz2", ".xz"):
        name = name.removesuffix(compressed)
    return name


def _kind(source_file: str) -> str:
    name = source_file.lower()
    for compressed in (".zst", ".gz", ".bz2", ".xz"):  # read decompressed (compression.decompressing)
        name = name.removesuffix(compressed)
    for extension, kind in KINDS.items():
        if name.endswith(extension):
            return kind
    raise RejectedSource("not a table: tables are .csv, .tsv, .jsonl, .ndjson, .parquet or .xlsx")


# ---------------------------------------------------------------- column roles

SINGLE_ROLES = ("id", "parent_id", "document", "document_title", "date", "author", "drug", "condition", "rating", "score")
LIST_ROLES = ("ratings", "title", "text")
ROLES = SINGLE_ROLES + LIST_ROLES
OPTION_KEYS = ("date_format", "delimiter", "sheets", "drug_as_written")
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


@cache
def column_rules() -> dict[str, dict[str, list[str]]]:
    text = resources.files(__package__).joinpath("tabular_columns.yml").read_text(encoding="utf-8")
    rules = yaml.safe_load(text)
    assert list(rules) == list(ROLES), "tabular_columns.yml lists every role, in the order roles are tried"
    return rules


def header_words(header: str) -> list[str]:
    """"urlDrugName" -> ["url", "drug", "name"]; "side_effects Review" -> ["side", "effects", "review"]."""
    return [w.lower() for w in _WORD.findall(header)]


def header_label(header: str) -> str:
    """A column's name as a paragraph heading: "sideEffectsReview" -> "Side effects review"."""
    words = header_words(header)
    return " ".join(words).capitalize() if words else header.strip()


def headed(label: str | None, text: str) -> str:
    """A text column's paragraph as it reaches the NLP: "Side effects review: none" (its heading, when it has one)."""
    return f"{label}: {text}" if label else text


def recognise(columns: list[str]) -> dict[str, list[str]]:
    """{role: [columns]} for the columns whose names fit a role (tabular_columns.yml)."""
    rules = column_rules()
    free = list(columns)
    found: dict[str, list[str]] = {}
    for role in ROLES:
        names = rules[role].get("names", [])
        last_words = set(rules[role].get("last_words", []))
        joined = {c: "".join(header_words(c)) for c in free}
        by_name = sorted((c for c in free if joined[c] in names), key=lambda c: names.index(joined[c]))
        by_last = [c for c in free if c not in by_name and (header_words(c) or [""])[-1] in last_words]
        matches = by_name + by_last
        if not matches:
            continue
        if role in SINGLE_ROLES:
            matches = matches[:1]
        else:
            matches = [c for c in free if c in matches]  # the table's order
        found[role] = matches
        free = [c for c in free if c not in matches]
    return found


@dataclass
class Mapping:
    """What a mapping file says: columns by role (an empty list turns a role off), text labels, options."""
    source: str  # the mapping file's name, for errors
    roles: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # text column -> its heading
    date_format: str | None = None
    delimiter: str | None = None
    sheets: list[str] | None = None
    drug_as_written: bool = False


def parse_mapping(text: str, source: str) -> Mapping:
    """A mapping file's YAML -> Mapping; RejectedSource naming the file and the bad key."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RejectedSource(f"mapping file {source}: not valid YAML ({error})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RejectedSource(f"mapping file {source}: expected keys and values (a YAML mapping), "
                             f"found a {type(data).__name__}")
    mapping = Mapping(source)

    def bad(key: str, why: str) -> RejectedSource:
        return RejectedSource(f"mapping file {source}: key '{key}': {why}")

    for key, value in data.items():
        if key not in ROLES and key not in OPTION_KEYS:
            raise RejectedSource(f"mapping file {source}: unknown key '{key}' (known keys: "
                                 f"{', '.join(ROLES + OPTION_KEYS)})")
        if key in ROLES:
            if value is None or value is False:
                mapping.roles[key] = []
            elif isinstance(value, str) and value.strip():
                mapping.roles[key] = [value]
            elif key in LIST_ROLES and isinstance(value, list) and value and all(
                    isinstance(v, str) and v.strip() for v in value):
                mapping.roles[key] = list(value)
            elif key == "text" and isinstance(value, dict) and value and all(
                    isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
                mapping.roles[key] = list(value.values())
                mapping.labels.update({column: label for label, column in value.items()})
            else:
                shape = ("a column name, a list of column names" + (" or {heading: column}" if key == "text" else "")
                         if key in LIST_ROLES else "a column name")
                raise bad(key, f"expected {shape}, or null to turn it off; found {value!r}")
        elif key == "date_format":
            if not isinstance(value, str) or "%" not in value:
                raise bad(key, f"expected a strptime format such as '%d/%m/%Y'; found {value!r}")
            mapping.date_format = value
        elif key == "delimiter":
            if not isinstance(value, str) or len(value) != 1:
                raise bad(key, f"expected one character (',', ';', '\\t', '|'); found {value!r}")
            mapping.delimiter = value
        elif key == "sheets":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                raise bad(key, f"expected a sheet name or a list of sheet names; found {value!r}")
            mapping.sheets = value
        elif key == "drug_as_written":
            if not isinstance(value, bool):
                raise bad(key, f"expected true or false; found {value!r}")
            mapping.drug_as_written = value
    return mapping


def resolve_roles(columns: list[str], mapping: Mapping | None) -> dict[str, list[str]]:
    """Roles of a table's columns: the mapping's, then recognition for the roles it leaves out
    (over the columns it does not use). RejectedSource when a mapped column is not in the table."""
    if mapping is None:
        return recognise(columns)
    for role, mapped in mapping.roles.items():
        missing = [c for c in mapped if c not in columns]
        if missing:
            raise RejectedSource(f"mapping file {mapping.source}: key '{role}': no column "
                                 f"{', '.join(repr(c) for c in missing)} in the table (its columns: "
                                 f"{', '.join(columns)})")
    used = {c for mapped in mapping.roles.values() for c in mapped}
    recognised = recognise([c for c in columns if c not in used])
    roles = {role: cols for role, cols in recognised.items() if role not in mapping.roles}
    roles.update({role: cols for role, cols in mapping.roles.items() if cols})
    return roles


# ---------------------------------------------------------------- values

_NUMBER = re.compile(r"^\s*([-+]?\d+(?:[.,]\d+)?)\s*(?:/\s*\d+(?:[.,]\d+)?|stars?|points?|%)?\s*$", re.IGNORECASE)


def number(value: str | None) -> float | None:
    """"8", "8.5", "8,5", "4/5", "4 stars" -> the number; anything else None."""
    if value is None:
        return None
    match = _NUMBER.match(value)
    return float(match.group(1).replace(",", ".")) if match else None


class _Table:
    """Turns a table's rows (all columns as text) into documents and comments, given its roles."""

    def __init__(self, roles: dict[str, list[str]], mapping: Mapping | None, table_key: str | None):
        self.roles = roles
        self.mapping = mapping
        self.table_key = table_key
        self.group = roles.get("document", [None])[0]
        self.group_by_drug = self.group is None and "drug" in roles and not (
            mapping is not None and mapping.roles.get("document") == [])
        labels = mapping.labels if mapping else {}
        texts = roles.get("title", []) + roles["text"]
        self.text_parts = [(c, None if c in roles.get("title", []) or len(roles["text"]) == 1 and c not in labels
                            else labels.get(c) or header_label(c)) for c in texts]
        self.documents_seen: set[str | None] = set()
        self._dates: dict[str, datetime | None] = {}
        self._drugs: dict[str, str] = {}

    def columns(self) -> list[str]:
        return list(dict.fromkeys(c for cols in self.roles.values() for c in cols))

    def records(self, frame: pl.DataFrame, where: Callable[[int], str]) -> Iterator[Record]:
        columns = self.columns()
        frame = frame.select([pl.col(c) if c in frame.columns else pl.lit(None, pl.String).alias(c) for c in columns])
        index = {c: i for i, c in enumerate(columns)}
        one = {role: index[cols[0]] for role, cols in self.roles.items() if role in SINGLE_ROLES and cols}
        parts = [(index[c], label) for c, label in self.text_parts]
        extra = [(c, index[c]) for c in self.roles.get("ratings", [])]
        for row_number, row in enumerate(frame.iter_rows()):
            if all(v is None or not v.strip() for v in row):
                continue  # a blank line
            body = self._body(row, parts)
            if not body:
                yield SkippedRecord(where(row_number), "no text in " + ", ".join(c for c, _ in self.text_parts))
                continue
            drug_text = _value(row, one.get("drug"))
            stated_drug = self._drug(drug_text) if drug_text else None
            document_key = self.table_key
            if self.group is not None:
                document_key = _value(row, one["document"]) or self.table_key
            elif self.group_by_drug:
                document_key = stated_drug or self.table_key
            if document_key not in self.documents_seen:
                if len(self.documents_seen) >= 100_000:  # bounded: a repeated document is dropped by assemble_threads
                    self.documents_seen.clear()
                self.documents_seen.add(document_key)
                yield self._document(document_key, stated_drug if self.group_by_drug else
                                     _value(row, one.get("document_title")))
            author, anonymous = author_fields(_value(row, one.get("author")))
            score = number(_value(row, one.get("score")))
            ratings = []
            for name, i in extra:
                written = _value(row, i)
                if written is not None:
                    value = number(written)
                    ratings.append({"name": name, "value": value, "label": None if value is not None else written})
            yield SourceComment(
                document_key=document_key,
                key=_key(_value(row, one.get("id"))),
                parent_key=_parent(_value(row, one.get("parent_id"))),
                author=author,
                author_is_anonymous=anonymous,
                body=body,
                published_at=self._date(_value(row, one.get("date"))),
                score=int(score) if score is not None and abs(score) < 2**31 else None,
                stated_drug=stated_drug,
                stated_condition=" ".join(c.split()) if (c := _value(row, one.get("condition"))) else None,
                rating=number(_value(row, one.get("rating"))),
                ratings=ratings or None,
            )

    def _body(self, row: tuple, parts: list[tuple[int, str | None]]) -> str:
        paragraphs = []
        for i, label in parts:
            text = plain_text(row[i]) if row[i] else ""
            if text:
                paragraphs.append(headed(label, text))
        return "\n\n".join(paragraphs)

    def _document(self, key: str | None, title: str | None) -> SourceDocument:
        url = key if key and re.match(r"https?://", key) else None
        title = title or (key if self.group is not None and not url else None)
        return SourceDocument(key=key, title=title, byline=None, body="", url=url,
                              community=urlsplit(url).hostname if url else None, published_at=None,
                              has_comment_section=True)

    def _date(self, value: str | None) -> datetime | None:
        if value is None:
            return None
        if value not in self._dates:
            if len(self._dates) > 100_000:
                self._dates.clear()
            parsed = None
            if self.mapping is not None and self.mapping.date_format:
                try:
                    parsed = datetime.strptime(value.strip(), self.mapping.date_format)
                except ValueError:
                    parsed = None
                if parsed is not None:
                    parsed = parse_timestamp(parsed.replace(tzinfo=parsed.tzinfo or UTC).isoformat())
            else:
                parsed = parse_timestamp(value)
            self._dates[value] = parsed
        return self._dates[value]

    def _drug(self, written: str) -> str:
        if written not in self._drugs:
            if len(self._drugs) > 100_000:
                self._drugs.clear()
            as_written = " ".join(written.lower().split())
            if self.mapping and self.mapping.drug_as_written:
                self._drugs[written] = as_written
            else:
                # Imported here: the NLP package (spaCy) only once a table has a drug column.
                from fms_pipeline.nlp.drug_lexicon import canonical_drug

                self._drugs[written] = canonical_drug(written)
        return self._drugs[written]


def _value(row: tuple, i: int | None) -> str | None:
    if i is None:
        return None
    value = row[i]
    return value if value is not None and value.strip() else None


def _key(value: str | None) -> str | None:
    return value.strip() if value is not None else None


_REDDIT_PREFIX = re.compile(r"^t([1-6])_")


def _parent(value: str | None) -> str | None:
    """A parent id; Reddit's fullnames lose their type prefix, and a submission (t3_) as parent is the top level."""
    if value is None:
        return None
    value = value.strip()
    match = _REDDIT_PREFIX.match(value)
    if match:
        return None if match.group(1) == "3" else value[3:]
    return value or None


# ---------------------------------------------------------------- reading

def read(open_binary: Callable[[], BinaryIO], source_file: str,
         read_companion: Callable[[str], bytes | None] | None = None) -> Iterator[Record]:
    """Documents and comments of a table; ``read_companion(name)`` gives the bytes of a file beside
    it (its mapping file) or None."""
    kind = _kind(source_file)
    mapping = None
    mapping_name = source_file.rsplit("/", 1)[-1] + MAPPING_SUFFIX
    if read_companion is not None:
        data = read_companion(mapping_name)
        if data is not None:
            mapping = parse_mapping(data.decode("utf-8", errors="replace"), mapping_name)
    with open_binary() as stream:
        if kind in ("csv", "jsonl"):
            yield from _read_text_table(kind, stream, source_file, mapping)
        else:
            yield from _read_binary_table(kind, stream, mapping)


def _table(columns: list[str], mapping: Mapping | None, table_key: str | None, what: str = "the table") -> _Table:
    roles = resolve_roles(columns, mapping)
    if not roles.get("text"):
        raise RejectedSource(f"{what} has no text column (its columns: {', '.join(columns) or 'none'}); name the "
                             f"text column in a mapping file (key 'text')")
    return _Table(roles, mapping, table_key)


def _read_text_table(kind: str, stream: BinaryIO, source_file: str, mapping: Mapping | None) -> Iterator[Record]:
    chunks = raw_chunks(stream)
    first = next(chunks, b"")
    if first.startswith(ZSTD_MAGIC):
        chunks = zstd_chunks(_chain([first], chunks))
    else:
        chunks = _chain([first], chunks)
    try:
        if kind == "csv":
            yield from _read_csv(chunks, source_file, mapping)
        else:
            yield from _read_jsonl(chunks, mapping)
    except TruncatedStream:
        yield SkippedRecord("end of file", "the .zst stream is truncated: the rest of the file is lost")


def _chain(first: list[bytes], rest: Iterable[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def _blocks(chunks: Iterable[bytes], cut: Callable[[bytes], int]) -> Iterator[bytes]:
    """Blocks of about BLOCK_BYTES, each ending where ``cut(buffer)`` says a record ends (the
    index after it, or -1 for none yet); the rest of the data as the last block."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        if len(buffer) < BLOCK_BYTES:
            continue
        end = cut(bytes(buffer))
        if end > 0:
            yield bytes(buffer[:end])
            del buffer[:end]
    if buffer:
        yield bytes(buffer)


def _csv_cut(buffer: bytes) -> int:
    """After the last line end outside quotes (an even number of quotes before it), or -1."""
    quotes_after = 0
    end = len(buffer)
    total = buffer.count(b'"')
    while True:
        at = buffer.rfind(b"\n", 0, end)
        if at < 0:
            return -1
        quotes_after += buffer.count(b'"', at, end)
        if (total - quotes_after) % 2 == 0:
            return at + 1
        end = at


def _encoding(head: bytes) -> str:
    """UTF-8 when the start of the file is (a character cut at the end allowed), else Windows-1252."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:
            return "cp1252"
    return "utf-8"


def _utf8(block: bytes, encoding: str) -> bytes:
    return block if encoding == "utf-8" else block.decode("cp1252", errors="replace").encode("utf-8")


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for number_, name in enumerate(names, start=1):
        name = name.strip() or f"column_{number_}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _read_csv(chunks: Iterable[bytes], source_file: str, mapping: Mapping | None) -> Iterator[Record]:
    blocks = _blocks(chunks, _csv_cut)
    block = next(blocks, b"")
    if block.startswith(b"\xef\xbb\xbf"):
        block = block[3:]
    encoding = _encoding(block[: 1 << 16])
    header_end = _csv_cut(block[: block.find(b"\n") + 1]) if b"\n" in block else len(block)
    if header_end <= 0:  # a quoted header spanning lines
        header_end = _csv_cut(block)
    if header_end <= 0:
        header_end = len(block)
    header_bytes, block = block[:header_end], block[header_end:]
    header_text = header_bytes.decode("utf-8" if encoding == "utf-8" else "cp1252", errors="replace")
    delimiter = mapping.delimiter if mapping and mapping.delimiter else (
        "\t" if _kind_name(source_file).endswith((".tsv", ".tab")) else _delimiter(header_text))
    header = next(csv.reader(io.StringIO(header_text), delimiter=delimiter), [])
    columns = _unique_names(header)
    table = _table(columns, mapping, None)
    schema = {c: pl.String for c in columns}
    line = header_bytes.count(b"\n")  # lines before the block
    for block in _chain([block], blocks):
        if not block.strip():
            line += block.count(b"\n")
            continue
        frame, row_lines, skipped = _csv_block(_utf8(block, encoding), schema, delimiter, line + 1)
        yield from skipped
        yield from table.records(frame, lambda i, row_lines=row_lines: f"line {row_lines[i]}")
        line += block.count(b"\n")


def _delimiter(header: str) -> str:
    """The header line's most frequent candidate delimiter outside quotes (a comma when none)."""
    unquoted = re.sub(r'"[^"]*"', "", header.split("\n", 1)[0])
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _csv_block(block: bytes, schema: dict, delimiter: str, first_line: int
               ) -> tuple[pl.DataFrame, list[int], list[SkippedRecord]]:
    """(rows, the line each row starts on, skipped rows) of a block of CSV records starting on ``first_line``."""
    try:
        frame = pl.read_csv(io.BytesIO(block), has_header=False, schema=schema, separator=delimiter,
                            quote_char='"', encoding="utf8-lossy", raise_if_empty=False)
    except pl.exceptions.ComputeError:
        return _csv_block_by_row(block, schema, delimiter, first_line)
    newlines = frame.select(pl.sum_horizontal(
        [pl.col(c).str.count_matches("\n", literal=True).fill_null(0) for c in schema]) + 1).to_series()
    starts = (newlines.cum_sum() - newlines + first_line).to_list() if len(frame) else []
    return frame, starts, []


def _csv_block_by_row(block: bytes, schema: dict, delimiter: str, first_line: int
                      ) -> tuple[pl.DataFrame, list[int], list[SkippedRecord]]:
    """The slow path for a block polars refuses: row by row, the rows with more fields than the header skipped."""
    width = len(schema)
    reader = csv.reader(io.StringIO(block.decode("utf-8", errors="replace"), newline=""), delimiter=delimiter)
    rows, starts, skipped = [], [], []
    before = 0
    for fields in reader:
        start = first_line + before
        before = reader.line_num
        if len(fields) > width:
            skipped.append(SkippedRecord(f"line {start}", f"{len(fields)} fields where the header has {width}"))
            continue
        rows.append(fields + [None] * (width - len(fields)))
        starts.append(start)
    return pl.DataFrame(rows, schema=schema, orient="row"), starts, skipped


def _read_jsonl(chunks: Iterable[bytes], mapping: Mapping | None) -> Iterator[Record]:
    table: _Table | None = None
    line = 0
    for block in _blocks(chunks, lambda buffer: buffer.rfind(b"\n") + 1 or -1):
        lines = block.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        numbered = [(line + i + 1, text) for i, text in enumerate(lines) if text.strip()]
        line += len(lines)
        if not numbered:
            continue
        frame, row_lines, skipped = _jsonl_block(numbered)
        yield from skipped
        if not len(frame):
            continue
        if table is None:
            table = _table(frame.columns, mapping, None)
        yield from table.records(frame, lambda i, row_lines=row_lines: f"line {row_lines[i]}")
    if table is None and line:
        raise RejectedSource("no line of the file is a JSON object")


def _jsonl_block(numbered: list[tuple[int, bytes]]) -> tuple[pl.DataFrame, list[int], list[SkippedRecord]]:
    try:
        frame = pl.read_ndjson(io.BytesIO(b"\n".join(text for _, text in numbered)), infer_schema_length=None)
        if len(frame) == len(numbered):
            return _as_text(frame), [n for n, _ in numbered], []
    except (pl.exceptions.ComputeError, pl.exceptions.PolarsError):
        pass
    rows, lines, skipped = [], [], []
    for number_, text in numbered:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
            skipped.append(SkippedRecord(f"line {number_}", f"not valid JSON: {reason}"))
            continue
        if not isinstance(data, dict):
            skipped.append(SkippedRecord(f"line {number_}", f"a JSON {type(data).__name__}, not an object"))
            continue
        rows.append({k: v if isinstance(v, str | None) else json.dumps(v) for k, v in _flat(data).items()})
        lines.append(number_)
    frame = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
    return frame.select(pl.all().cast(pl.String)), lines, skipped


def _flat(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[f"{prefix}{key}"] = _number_text(value)
        else:
            out[f"{prefix}{key}"] = value
    return out


def _number_text(value: float | int) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text: structs flattened to "a.b" columns, lists as JSON, whole floats without ".0"."""
    while any(isinstance(dtype, pl.Struct) for dtype in frame.dtypes):
        frame = frame.select([
            pl.col(name).struct.field(f.name).alias(f"{name}.{f.name}") if isinstance(dtype, pl.Struct)
            else pl.col(name) for name, dtype in frame.schema.items() for f in (
                dtype.fields if isinstance(dtype, pl.Struct) else [None])])
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.List | pl.Array):
            column = column.map_elements(lambda v: json.dumps(v.to_list() if hasattr(v, "to_list") else v,
                                                              default=str), return_dtype=pl.String)
        elif dtype.is_float():
            column = pl.when(column == column.round(0)).then(column.cast(pl.Int64, strict=False).cast(pl.String)) \
                .otherwise(column.cast(pl.String))
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
            column = column.dt.replace_time_zone("UTC")
        columns.append(column.cast(pl.String).alias(name))
    return frame.select(columns)


def _read_binary_table(kind: str, stream: BinaryIO, mapping: Mapping | None) -> Iterator[Record]:
    """Parquet and workbooks need the whole file at hand (their index is at the end): spooled to a
    temporary file, read in batches (Parquet) or a sheet at a time (a workbook)."""
    with tempfile.NamedTemporaryFile(prefix="fms-table-", suffix="." + kind) as spool:
        shutil.copyfileobj(stream, spool, 1 << 20)
        spool.flush()
        spool.seek(0)
        magic = spool.read(4)
        if magic == ZSTD_MAGIC:
            raise RejectedSource(f"a zstd-compressed .{kind} file: {kind} files are compressed inside already; "
                                 "store it uncompressed")
        if kind == "parquet":
            yield from _read_parquet(spool.name, mapping)
        else:
            yield from _read_xlsx(spool.name, mapping)


def _read_parquet(path: str, mapping: Mapping | None = None) -> Iterator[Record]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise RejectedSource(f"not a readable Parquet file: {error}") from None
    table = _table(parquet.schema_arrow.names, mapping, None)
    row = 0
    wanted = [c for c in table.columns() if c in parquet.schema_arrow.names]
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=wanted):
        frame = _as_text(pl.from_arrow(batch))
        yield from table.records(frame, lambda i, row=row: f"row {row + i + 1}")
        row += batch.num_rows


def _read_xlsx(path: str, mapping: Mapping | None) -> Iterator[Record]:
    import fastexcel

    try:
        workbook = fastexcel.read_excel(path)
    except Exception as error:  # fastexcel raises its own error types for a broken workbook
        raise RejectedSource(f"not a readable .xlsx workbook: {error}") from None
    names = mapping.sheets if mapping and mapping.sheets else workbook.sheet_names
    missing = [n for n in names if n not in workbook.sheet_names]
    if missing:
        raise RejectedSource(f"mapping file {mapping.source}: key 'sheets': no sheet {', '.join(map(repr, missing))} "
                             f"in the workbook (its sheets: {', '.join(workbook.sheet_names)})")
    without_text = []
    read_any = False
    for name in names:
        # Types from every row (a text after the first thousand numbers stays text), then all as text.
        frame = _as_text(workbook.load_sheet(name, schema_sample_rows=None).to_polars())
        if not frame.columns:
            continue
        try:
            table = _table(frame.columns, mapping, None if len(names) == 1 else name, f"sheet {name!r}")
        except RejectedSource as error:
            if mapping is not None and "mapping file" in str(error) and mapping.sheets:
                raise
            without_text.append(str(error))
            continue
        read_any = True
        prefix = "" if len(names) == 1 else f"sheet {name!r} "
        yield from table.records(frame, lambda i, prefix=prefix: f"{prefix}row {i + 2}")
    if not read_any:
        raise RejectedSource("; ".join(without_text) or "the workbook has no sheet with rows")
    for reason in without_text:
        yield SkippedRecord("workbook", reason)
