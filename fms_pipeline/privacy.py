"""A shareable copy of the warehouse: authors pseudonymised, people and contact details masked
in every text of every table.

* Author names (and article bylines) become keyed pseudonyms, ``person-`` + the first 12 hex
  digits of HMAC-SHA256(secret, the name folded to lower case with spaces collapsed): the same
  person keeps the same pseudonym across runs and files as long as the secret is the same, and
  nobody without the secret can test a guess. File names become ``file-`` + a keyed hash (+ the
  extension): a file name can hold a name, and the same file keeps its pseudonym in every table.
* Author lines that ask not to be named ("Do not print my name", "Anonymous") become NULL.
* Each column is handled by the privacy class its table declares (``warehouse/sql/*/NN_table.yml``:
  kept, pseudonymised, masked, file, host, community); a VARCHAR column found in ``information_schema`` but
  declared nowhere is masked. Masked columns: people (PERSON mentions,
  authors' and bylines' names and first names, and names found by ``pii.NameFinder``) become
  ``[PERSON]``; e-mail addresses, URLs, phone numbers, SSN-like and other ID-like numbers and
  street addresses become ``[EMAIL]``, ``[URL]``, ``[PHONE]``, ``[SSN]``, ``[ID]``, ``[ADDRESS]``.
* Offsets into the masked bodies (``start_char``/``end_char`` of every table that has them with
  ``document_id`` and ``comment_id``) are moved to match, and such a table's ``text`` column is
  cut again from the masked body, so every mention and outcome still cuts out exactly its text.
* ``documents.url`` keeps its scheme and host only ("https://www.reddit.com/"): the path holds
  user names and title words; the host says where the text came from.
* ``community`` (a subreddit or a site's host) and the host of ``url`` are kept unless they name
  a person (``Communities``): a Reddit profile ``u_MargaretHolloway1961`` becomes ``u_`` + the
  author's pseudonym, a host holding an author's name or a given name and a surname
  (``janedoe.wordpress.com``) becomes ``site-`` + a keyed hash (+ the blog platform's domain).
* The secret must be at least ``MIN_SECRET_BYTES`` long: pseudonyms of a short one are reversed
  by trying every key.

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
# HMAC-SHA256 keys shorter than this are found by trying keys (a one-character key: 95 tries).
MIN_SECRET_BYTES = 16
MAKE_A_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
# Texts that mentions, outcomes and sentences point into: masked once, offsets moved to match.
OWNER_TEXTS = {"documents": ("document_id", None), "comments": ("document_id", "comment_id")}
SPAN_KEYS = ("document_id", "comment_id", "start_char", "end_char")


class ShareRefused(ValueError):
    """The copy was not written; the message says why."""


class MissingSecret(ShareRefused):
    pass


def check_secret(secret: bytes) -> None:
    """Refuse a missing or short secret, saying how to make a good one."""
    how = (f"make one with `{MAKE_A_SECRET}`, set it as FMS_SHARE_SECRET, keep it private and reuse it "
           "(pseudonyms stay the same only under the same secret)")
    if not secret:
        raise MissingSecret(f"a secret is needed for pseudonyms: FMS_SHARE_SECRET is not set; {how}")
    if len(secret) < MIN_SECRET_BYTES:
        raise MissingSecret(f"FMS_SHARE_SECRET is {len(secret)} byte(s) long, under the {MIN_SECRET_BYTES} needed: "
                            f"the pseudonyms of a short secret can be reversed by trying every secret; {how}")


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


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.casefold())


class Communities:
    """Communities (subreddits, hosts) and URL hosts: kept, or pseudonymised where they name a
    person: a Reddit profile (``u_<user name>``), or a name (a subreddit, a host's labels other
    than "www", its top-level domain and a blog platform's domain) that, letters only, holds an
    author's or byline's name of several words (5+ letters: "janedoe" for Jane Doe; first and last
    name either way round), holds a one-word user name of 8+ letters or is one of fewer
    ("MargaretHolloway1961", "fibrofran"), or is a census given name and surname ("janedoe").
    Names that are words of the texts, drugs or places ("fibromyalgia") are not looked for."""

    def __init__(self, known_names: set[str], secret: bytes, words: set[str] = frozenset()):
        """``known_names``: authors and bylines; ``words``: lower-case words that are no one's name
        here (the texts' everyday words, what the pipeline recognised as a drug, condition, place)."""
        from fms_pipeline.nlp.places import person_titles

        titles = {t.rstrip(".") for t in person_titles()}
        self.secret = secret
        self.words = pii.default_not_names() | set(words)
        contained, whole = set(), set()
        for name in known_names:
            parts = [w for w in re.split(r"[\s,]+", name) if w and w.lower().rstrip(".") not in titles]
            if len(parts) >= 2:
                contained |= {_letters("".join(parts)), _letters(parts[0] + parts[-1]), _letters(parts[-1] + parts[0])}
            elif parts:
                key = _letters(parts[0])
                (contained if len(key) >= 8 else whole).add(key)
        self.contained = sorted(k for k in contained if len(k) >= 5 and k not in self.words)
        self.whole = {k for k in whole if len(k) >= 3 and k not in self.words}
        self.platforms = tuple(pii.blog_platforms())
        self._seen: dict[str, bool] = {}  # name -> names a person (a column repeats few values many times)

    def _given_and_surname(self, letters: str) -> bool:
        if len(letters) > 40:  # longer than any given name and surname together
            return False
        given, surnames = pii.census_names()
        return any(letters[:i] in given and letters[i:] in surnames and not {letters[:i], letters[i:]} & self.words
                   for i in range(3, len(letters) - 2))

    def names_a_person(self, name: str) -> bool:
        if name not in self._seen:
            letters = _letters(name)
            self._seen[name] = bool(letters) and (letters in self.whole or any(k in letters for k in self.contained)
                                                  or self._given_and_surname(letters))
        return self._seen[name]

    def _platform(self, host: str) -> str | None:
        return next((p for p in self.platforms if host == p or host.endswith("." + p)), None)

    def host_names_a_person(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        platform = self._platform(host)
        own = host[: -len(platform)].rstrip(".") if platform else host.rsplit(".", 1)[0] if "." in host else host
        labels = [label for label in own.split(".") if label and label != "www"]
        return any(self.names_a_person(label) for label in labels)

    def host(self, host: str) -> str:
        """The host, or ``site-`` + a keyed hash of it (+ its blog platform) where it names a person."""
        if not self.host_names_a_person(host):
            return host
        platform = self._platform(host.lower().rstrip("."))
        digest = hmac.new(self.secret, b"site:" + host.lower().rstrip(".").encode("utf-8"), hashlib.sha256)
        return "site-" + digest.hexdigest()[:12] + (f".{platform}" if platform else "")

    def community(self, value: str) -> str:
        """A subreddit or host as it is, or pseudonymised where it names a person."""
        if re.match(r"(?i)u_.", value):  # a Reddit user's profile: the user's pseudonym
            return "u_" + pseudonym(value[2:], self.secret)
        if "." in value and " " not in value:
            return self.host(value)
        if self.names_a_person(value):
            return "community-" + hmac.new(self.secret, b"community:" + value.casefold().encode("utf-8"),
                                           hashlib.sha256).hexdigest()[:12]
        return value

    def url(self, url: str) -> str:
        """Scheme and host (``url_host``), the host pseudonymised where it names a person."""
        kept = url_host(url)
        parts = urlsplit(kept)
        if not parts.hostname:
            return kept
        return f"{parts.scheme}://{self.host(parts.hostname)}/"


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
        self.everyday = pii.everyday_words(texts)
        # Every part of each name ("Jane", "Doe"; "Margaret", "Holloway" of MargaretHolloway1961).
        known_words = {w for n in known_names for w in pii.name_parts(n, self.everyday)}
        self.finder = pii.NameFinder(everyday=self.everyday, lower_case=pii.lower_case_words(texts),
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
    check_secret(secret)
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
    pseudonymised, a file pseudonym, cut to its host, a community; kept as it is), hosts and
    communities pseudonymised where they name a person; offsets and span texts moved to the
    masked bodies."""
    comments, documents = tables.get("comments"), tables.get("documents")
    mentions = tables.get("entity_mentions")
    known: set[str] = set()
    if comments is not None:
        known |= set(comments.filter(~pl.col("author_is_anonymous") & pl.col("author").is_not_null())["author"])
    if documents is not None:
        known |= set(documents.filter(pl.col("byline").is_not_null())["byline"])
    authors = set(known)  # authors and bylines: a PERSON mention ("Dr. Oz") makes no site someone's own
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
    communities = Communities(authors, secret, masker.everyday | set(masker.finder.not_names))

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
                columns[column] = [None if v is None else communities.url(v) for v in values]
            elif privacy == "community":
                columns[column] = [None if v is None else communities.community(v) for v in values]
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
