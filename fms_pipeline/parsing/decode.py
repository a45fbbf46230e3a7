"""Bytes of a saved page -> clean text, or a clear reason why not."""

from __future__ import annotations

import ftfy


class UndecodableFile(ValueError):
    """The file is not text we can read; the message says why."""


# Control characters other than tab/newline are a strong sign of a binary file.
_BINARY_CONTROL_BYTES = set(range(0, 9)) | {11, 12} | set(range(14, 32)) - {27}


def decode_page(data: bytes) -> str:
    """Decode a page saved by a browser or scraper.

    UTF-8 (with or without a byte-order mark) first, then Windows-1252, which is what
    most non-UTF-8 pages from English-language sites are; ftfy then repairs mojibake
    such as "donâ€™t". Line endings become "\\n".
    """
    if b"\x00" in data:
        raise UndecodableFile("binary file: it contains NUL bytes")
    sample = data[:65536]
    if sample and sum(b in _BINARY_CONTROL_BYTES for b in sample) / len(sample) > 0.01:
        raise UndecodableFile("binary file: more than 1% control characters")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise UndecodableFile(
                f"not valid UTF-8 ({utf8_error.reason} at byte {utf8_error.start}) "
                "nor Windows-1252 text"
            ) from None
    text = ftfy.fix_text(
        text,
        # Keep the writer's curly quotes, dashes and ellipses: they are part of the text.
        uncurl_quotes=False,
        fix_character_width=False,
        normalization="NFC",
    )
    return text.replace("\r\n", "\n").replace("\r", "\n")
