"""Dates written as text on a page ("16. March, 2023 at 16:59", "5. März 2019", "Gestern, 14:05"),
read with ``dateparser`` (a maintained parser that knows some 200 languages and relative forms).

* The page's language (``<html lang>``) chooses the language and, where the day and the month could
  be either way round ("03/05/2019"), their order: month first for US English (and English without
  a region, as most such sites are American), day first for the other English regions and the
  other languages, year first for Chinese, Japanese, Korean, Hungarian, Lithuanian and Mongolian.
* A relative date ("Gestern, 14:05", "2 hours ago") or one without a year ("March 5") is anchored on
  the page's own date, the one it was saved on or else published on (``page_anchor``), never on
  today: without an anchor such a date is None. A date is taken to depend on the anchor when it reads
  differently against two anchors far apart.
* Dates are returned in UTC; a written date without a zone is taken as UTC, as every source's
  dates are (``parsing/sources/README.md``), and one before 1995 or more than a day past the
  anchor (or today) is None.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import dateparser

EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
# Two anchors far apart: a date that reads the same against both does not depend on one.
_PROBES = (datetime(2001, 1, 1, 12), datetime(2011, 6, 15, 12))
# English regions that write the day first; English without a region is read month first.
_DAY_FIRST_ENGLISH = {"gb", "uk", "ie", "au", "nz", "in", "za", "sg", "mt", "ng", "ke", "pk", "hk"}
# Languages that write the year first (the others than English write the day first).
_YEAR_FIRST = {"zh", "ja", "ko", "hu", "lt", "mn"}
# Words pages put before a date ("answered Feb 19, 2015", "Posted on", "le 3 mars 2019"): tried without them.
_LEADING_WORD = re.compile(r"^\s*[^\W\d]+[.:,]?\s+(?=\S)")
_MAX_TEXT = 80  # a date is a short text; longer ones are sentences, not dates


def language_settings(lang: str | None) -> tuple[list[str] | None, str | None]:
    """(dateparser languages, DATE_ORDER) for an ``<html lang>`` value such as "de", "en-GB", "en_US"."""
    if not lang:
        return None, None
    parts = re.split(r"[-_]", lang.strip().lower())
    language = parts[0]
    if not re.fullmatch(r"[a-z]{2,3}", language):
        return None, None
    if language == "en":
        return ["en"], "DMY" if len(parts) > 1 and parts[1] in _DAY_FIRST_ENGLISH else "MDY"
    # English too: forums in other languages keep English month names in places.
    return [language, "en"], "YMD" if language in _YEAR_FIRST else "DMY"


def parse_written_date(text: str | None, *, lang: str | None = None, anchor: datetime | None = None) -> datetime | None:
    """The date ``text`` writes, in UTC, or None (not a date, relative with no anchor, implausible)."""
    if not text:
        return None
    text = " ".join(text.split())
    if not text or len(text) > _MAX_TEXT or not re.search(r"\d|[^\W\d_]{3}", text):
        return None
    anchor_naive = anchor.astimezone(UTC).replace(tzinfo=None) if anchor is not None else None
    return _parse(text, lang or "", anchor_naive)


@lru_cache(maxsize=65536)
def _parse(text: str, lang: str, anchor: datetime | None) -> datetime | None:
    languages, order = language_settings(lang)
    candidate = text
    for _ in range(4):  # the text, then without up to three leading words
        found = _read(candidate, languages, order, anchor)
        if found is not None:
            return found
        shorter = _LEADING_WORD.sub("", candidate, count=1)
        if shorter == candidate:
            break
        candidate = shorter
    return None


def _read(text: str, languages: list[str] | None, order: str | None, anchor: datetime | None) -> datetime | None:
    def at(base: datetime) -> datetime | None:
        settings = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past", "PREFER_DAY_OF_MONTH": "first",
                    "RETURN_AS_TIMEZONE_AWARE": False, "TO_TIMEZONE": "UTC"}
        if order:
            settings["DATE_ORDER"] = order
        try:
            return dateparser.parse(text, languages=languages, settings=settings)
        except (ValueError, OverflowError, TypeError):
            return None

    readings = [at(base) for base in _PROBES]
    if readings[0] is None:
        return None
    if readings[0] != readings[1]:  # relative, or no year: only with the page's own date
        if anchor is None:
            return None
        found = at(anchor)
        latest = anchor + timedelta(days=1)
    else:
        found = readings[0]
        latest = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)
    if found is None:
        return None
    found = found.replace(tzinfo=UTC)
    if found < EARLIEST or found > latest.replace(tzinfo=UTC):
        return None
    return found


# ---------------------------------------------------------------- the page's own date

# SingleFile writes "saved date: Thu Mar 07 2019 10:12:33 GMT+0100 (...)" in a comment at the top; the
# MAF/Web Archive style writes "saved on"; Chrome's "saved from url" carries no date.
_SAVED = re.compile(r"<!--[^>]*?saved (?:date|on):?\s*([^\n>]{6,80}?)\s*(?:\n|-->)", re.I)


def saved_date(head: str) -> datetime | None:
    """The date the page was saved on, as a saving tool wrote it in the page's first comment."""
    found = _SAVED.search(head[:8192])
    if found is None:
        return None
    value = re.sub(r"\s*\([^)]*\)\s*$", "", found.group(1))  # "(Central European Standard Time)"
    return parse_written_date(value, lang="en")


def page_anchor(head: str, published: datetime | None) -> datetime | None:
    """The date relative dates on the page count from: its saved date, else its publication date."""
    return saved_date(head) or published
