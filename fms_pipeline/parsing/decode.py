"""Bytes of a saved page -> clean text, or a clear reason why not."""

from __future__ import annotations

import codecs
import re
import unicodedata

import ftfy


class UndecodableFile(ValueError):
    """The file is not text we can read; the message says why."""


# Control characters other than tab/newline/CR (and ESC) are a strong sign of a binary file.
_BINARY_CONTROL_BYTES = set(range(0, 9)) | {11, 12} | set(range(14, 32)) - {27}
_BINARY_CONTROL_CHARS = {chr(b) for b in _BINARY_CONTROL_BYTES}
_BINARY_CONTROL_DELETE = bytes(sorted(_BINARY_CONTROL_BYTES))  # counted by bytes.translate, in C

# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
)

# Single-byte encodings tried when a file is not UTF-8, in order of preference: Windows-1252
# first (what most non-UTF-8 pages of English-language sites are), then Central European
# (Windows and ISO) and Cyrillic. The first whose reading looks like plain text wins.
LEGACY_ENCODINGS = ("cp1252", "cp1250", "iso8859_2", "cp1251")
_ENCODING_NAMES = {"cp1252": "Windows-1252", "cp1250": "Windows-1250", "iso8859_2": "ISO-8859-2 (Latin-2)",
                   "cp1251": "Windows-1251 (Cyrillic)"}
# Non-ASCII symbols text writes next to letters: Lyrica®, OxyContin™, 98°F, ©Site, “quotes”, don’t,
# pain—again. Others beside a letter ("£ód¼" for "Łódź", "zim±" for "zimą") mean a wrong encoding.
_SYMBOLS_BESIDE_LETTERS = set("®™©°€’‘“”«»‹›„‚–—…·•\u00a0")


def decode_page(data: bytes) -> str:
    """Decode a page saved by a browser or scraper, in the order browsers sniff an encoding (WHATWG
    Encoding Standard, "encoding sniffing algorithm"): a byte-order mark, then a declaration in the
    first 1,024 bytes (``<meta charset>`` or ``<meta http-equiv="Content-Type" content="…charset=…">``,
    labels mapped as browsers map them: ISO-8859-1 and ASCII are Windows-1252), then detection.

    A byte-order mark says UTF-8, UTF-16 or UTF-32. A declared encoding is used when the bytes read
    in it (a page declaring a single-byte encoding whose bytes are valid UTF-8 with non-ASCII
    characters was re-encoded when saved: UTF-8 wins). Without either: UTF-8, else the first of
    ``LEGACY_ENCODINGS`` that reads as plain text (Windows-1252 for English pages, so "don\\x92t"
    is "don’t"; Latin-2 or Windows-1250 for "Łódź"; Windows-1251 for Cyrillic). When none does,
    or two read differently and charset-normalizer cannot tell them apart, the file is set
    aside ("encoding unclear") rather than decoded into the wrong letters. ftfy then repairs
    mojibake such as "donâ€™t". Line endings become "\\n".
    """
    text = _decode_with_mark(data)
    if text is None:
        if b"\x00" in data:
            raise UndecodableFile("binary file: it contains NUL bytes")
        sample = data[:65536]
        if sample and (len(sample) - len(sample.translate(None, _BINARY_CONTROL_DELETE))) / len(sample) > 0.01:
            raise UndecodableFile("binary file: more than 1% control characters")
        text = _decode_declared(data)
        if text is None:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as utf8_error:
                text = _decode_legacy(data, utf8_error)
    return repair(text).replace("\r\n", "\n").replace("\r", "\n")


# Keep the writer's curly quotes, dashes and ellipses: they are part of the text.
FTFY_OPTIONS = {"uncurl_quotes": False, "fix_character_width": False, "normalization": "NFC"}
_FTFY_CONFIG = ftfy.TextFixerConfig(explain=False, **FTFY_OPTIONS)


def repair(text: str) -> str:
    """``ftfy.fix_text(text, **FTFY_OPTIONS)``: the same segments (lines, at most
    ``max_decode_length``) and the same switch of ``unescape_html`` after a "<", with the
    segments of clean ASCII passed over (ftfy returns them unchanged: ``is_clean_ascii``) and
    the config built once. ftfy was 3% of a 10M-word job's CPU, most of it on lines it
    left as they were (a test holds the two equal)."""
    if is_clean_ascii(text):
        return text
    config, out, pos = _FTFY_CONFIG, [], 0
    while pos < len(text):
        textbreak = text.find("\n", pos) + 1 or len(text)
        if textbreak - pos > config.max_decode_length:
            textbreak = pos + config.max_decode_length
        segment = text[pos:textbreak]
        if config.unescape_html == "auto" and "<" in segment:
            config = config._replace(unescape_html=False)
        out.append(segment if is_clean_ascii(segment) else ftfy.fix_and_explain(segment, config).text)
        pos = textbreak
    return "".join(out)


# ASCII that ftfy changes: control characters (not tab, line feed, form feed) and HTML entities.
_FTFY_CHANGES_ASCII = re.compile(r"[\x00-\x08\x0b\x0d-\x1f\x7f]|&[#0-9A-Za-z]")


def is_clean_ascii(text: str) -> bool:
    """True when ftfy would return ``text`` unchanged without looking (test_parsing checks it
    character by character against the installed ftfy): mojibake needs non-ASCII characters.
    Skipping it saves ~0.3 ms of CPU a 450-word page, half of parsing an English forum page."""
    return text.isascii() and not _FTFY_CHANGES_ASCII.search(text)


def _decode_with_mark(data: bytes) -> str | None:
    """The text after a byte-order mark, None without one."""
    for mark, codec, name in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            try:
                text = data[len(mark):].decode(codec)
            except UnicodeDecodeError as error:
                raise UndecodableFile(
                    f"starts with a {name} byte-order mark but is not valid {name} "
                    f"({error.reason} at byte {error.start + len(mark)})") from None
            sample = text[:65536]
            if "\x00" in sample or (sample and sum(c in _BINARY_CONTROL_CHARS for c in sample) / len(sample) > 0.01):
                raise UndecodableFile(f"binary file: {name} text full of control characters")
            return text
    return None


# The prescan looks at this many bytes, as browsers do.
DECLARATION_WINDOW = 1024
_META = re.compile(rb"<meta\b([^>]*)>", re.I)
_COMMENT = re.compile(rb"<!--.*?-->", re.S)
_ATTRIBUTE = re.compile(rb"""([^\s=/>]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_CHARSET_IN_CONTENT = re.compile(rb"""charset\s*=\s*["']?([^\s"';]+)""", re.I)
# Labels the WHATWG Encoding Standard maps to another encoding than Python's codec of that name.
_WHATWG_LABELS = {
    "latin1": "cp1252", "iso8859_1": "cp1252", "ascii": "cp1252", "iso8859_9": "cp1254", "iso8859_11": "cp874",
    "tis_620": "cp874", "utf_16": "utf-8", "utf_16_be": "utf-8", "utf_16_le": "utf-8", "utf_32": "utf-8",
}


def declared_encoding(data: bytes) -> str | None:
    """The Python codec of the encoding a page declares in its first 1,024 bytes (``<meta charset>``
    or ``<meta http-equiv="Content-Type" content="text/html; charset=…">``), None when it declares
    none or a label no codec knows. A declared UTF-16 is UTF-8, as in browsers (the bytes are ASCII-compatible)."""
    head = _COMMENT.sub(b"", data[:DECLARATION_WINDOW])
    for meta in _META.finditer(head):
        attributes = {m.group(1).lower(): (m.group(2) or m.group(3) or m.group(4) or b"")
                      for m in _ATTRIBUTE.finditer(meta.group(1))}
        label = attributes.get(b"charset")
        if label is None and attributes.get(b"http-equiv", b"").lower() == b"content-type":
            found = _CHARSET_IN_CONTENT.search(attributes.get(b"content", b""))
            label = found.group(1) if found else None
        if label:
            try:
                name = codecs.lookup(label.decode("ascii", "replace").strip()).name.replace("-", "_")
            except LookupError:
                continue
            return _WHATWG_LABELS.get(name, name)
    return None


def _decode_declared(data: bytes) -> str | None:
    """The page read in the encoding it declares; None when it declares none or its bytes do not read in it."""
    encoding = declared_encoding(data)
    if encoding is None:
        return None
    if encoding not in ("utf_8", "utf-8") and not data.isascii():
        try:
            return data.decode("utf-8")  # re-encoded as UTF-8 when saved, the old declaration kept
        except UnicodeDecodeError:
            pass
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        if encoding == "cp1252":
            return data.decode("latin-1")  # the five bytes Windows-1252 leaves undefined are C1 controls, as in browsers
        return None


def _decode_legacy(data: bytes, utf8_error: UnicodeDecodeError) -> str:
    readings: dict[str, str] = {}
    for encoding in LEGACY_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if implausible_words(text) == 0:
            if encoding == LEGACY_ENCODINGS[0]:
                return text
            readings[encoding] = text
    distinct = set(readings.values())
    if len(distinct) == 1:
        return distinct.pop()
    if len(distinct) > 1:
        chosen = _tie_break(data, list(readings))
        if chosen is not None:
            return readings[chosen]
    names = ", ".join(_ENCODING_NAMES[e] for e in LEGACY_ENCODINGS[1:])
    detail = (f"{len(distinct)} encodings ({', '.join(_ENCODING_NAMES[e] for e in readings)}) read it as "
              "different text" if distinct else "none reads it as plain text")
    raise UndecodableFile(
        f"encoding unclear: not valid UTF-8 ({utf8_error.reason} at byte {utf8_error.start}), "
        f"nor Windows-1252 text, and of {names} {detail}")


def _tie_break(data: bytes, encodings: list[str]) -> str | None:
    """The encoding charset-normalizer finds most coherent among those that read cleanly, if it
    names one of them with a language."""
    import charset_normalizer

    best = charset_normalizer.from_bytes(data, cp_isolation=encodings).best()
    if best is None or best.language == "Unknown":
        return None
    normalized = codecs.lookup(best.encoding).name
    return next((e for e in encodings if codecs.lookup(e).name == normalized), None)


def implausible_words(text: str) -> int:
    """How many words of ``text`` no writer would type, the signs of bytes read in the wrong
    encoding: a control character; a symbol glued to a letter ("£ód¼", "zim±"); a word with
    non-ASCII letters that mixes scripts ("cafй") or is in odd case ("ŁódĽ"); and words made of
    accented Latin letters only ("ìåíÿ", Cyrillic read as Windows-1252) when they are most of
    the words with non-ASCII letters (one such word, "Żółć", is Polish)."""
    count = accented_only = non_ascii = 0
    for word in text.split():
        if any(c in _BINARY_CONTROL_CHARS or "\x80" <= c <= "\x9f" for c in word):
            count += 1
            continue
        if word.isascii():
            continue
        if any(_glued_symbol(word, i) for i in range(len(word))):
            count += 1
            continue
        letters = "".join(c for c in word if c.isalpha())
        if not letters or letters.isascii():
            continue
        non_ascii += 1
        scripts = {_script(c) for c in letters}
        if len(scripts) > 1 or not (letters.islower() or letters.isupper() or letters.istitle()):
            count += 1
        elif len(letters) >= 3 and scripts == {"LATIN"} and not any(c.isascii() for c in letters):
            accented_only += 1
    return count + (accented_only if accented_only * 2 > non_ascii else 0)


def _glued_symbol(word: str, i: int) -> bool:
    c = word[i]
    if c.isascii() or c in _SYMBOLS_BESIDE_LETTERS or unicodedata.category(c).startswith(("L", "M", "Nd")):
        return False
    beside = word[i - 1:i] + word[i + 1:i + 2]
    return any(n.isalpha() for n in beside)


def _script(letter: str) -> str:
    name = unicodedata.name(letter, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"
