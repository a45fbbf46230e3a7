"""The thread parser on the real sample and on variations of the format."""

from __future__ import annotations

import re

import pytest

from fms_pipeline.parsing.decode import UndecodableFile, decode_page
from fms_pipeline.parsing.thread_format import (
    UnparseablePage,
    is_anonymous_author,
    looks_like_author_name,
    parse_page,
)

EXPECTED_AUTHORS = {
    1: "dis may",
    4: "Kathy C",
    5: "Do not print my name",
    7: "Debbie Nickels Heck, MD",
    10: "James McCay",
    13: "Terry Ott",
    14: "Denise Bault",
    15: "Hayden Hamby Jr.",
    18: "Gail Honadle",
    19: "Brett H",
}


def test_sample_has_19_comments_with_authors_in_place(sample_page):
    assert [c.position for c in sample_page.comments] == list(range(1, 20))
    assert {c.position: c.author for c in sample_page.comments if c.author} == EXPECTED_AUTHORS
    assert sum(c.author is None for c in sample_page.comments) == 9


def test_sample_article_title_byline_and_boilerplate(sample_page):
    assert sample_page.title == "Duke and Stanford Opioid and Fibromyalgia Study Published"
    assert sample_page.byline == "Ed Coghlan"
    assert sample_page.body.startswith("When I saw this tweet from Stanford University Pain this week")
    assert sample_page.body.endswith("and almost always interesting.")
    everything = sample_page.body + "\n".join(c.body for c in sample_page.comments)
    for boilerplate in ("Subscribe to our blog", "Enter your email address", "newest oldest", "Notify of", "Authored by"):
        assert boilerplate not in everything
    assert sample_page.title not in sample_page.body


def test_sample_comment_bodies_are_intact(sample_page):
    by_position = {c.position: c.body for c in sample_page.comments}
    assert by_position[3].startswith("Thank God there’s a pain specialist advocating opiates for Fibromyalgia.")
    assert "\n\nUntil I was taken off of successful pain management with small amounts of Methadone and Ativan" in by_position[3]
    assert by_position[3].endswith("make 2nd class drug scripts available for those who benefit from these medications.")
    assert by_position[6] == "Finally some good news."
    assert by_position[11].endswith("So how much credence can I give to such “studies”?")
    assert "NO PAIN MEDS WORK ON ME ANYMORE EXCEPT HIGH DOSE METHADONE." in by_position[11]
    assert "🙂" in by_position[11] or "\U0001f642" in by_position[11]
    assert by_position[14] == (
        "I’ve had fibromyalgia for at least 15 years. Tried EVERYTHING. Finally tried opioids and they "
        "have helped immensely! One of the few things that actually does…"
    )


def test_no_text_of_the_sample_is_lost(sample_text, sample_page):
    """Every line of the file is the title, boilerplate, the byline, an author line or body text."""
    kept = sample_page.body + "\n" + "\n".join(c.body for c in sample_page.comments)
    authors = {c.author for c in sample_page.comments if c.author}
    dropped = {"Subscribe to our blog via email", "newest oldest", "Notify of", "Authored by: Ed Coghlan",
               "Enter your email address to subscribe to this blog and receive notifications of new posts by email."}
    for line in filter(None, (ln.strip() for ln in sample_text.splitlines())):
        if line == sample_page.title or line in dropped or line in authors:
            continue
        assert line in kept, line


THREAD = """A title

A title

The article, one paragraph.

Second paragraph of the article.

Authored by: Some Body

12 Comments
Jane Doe

First comment, first paragraph.

First comment, second paragraph.
Still the second paragraph.


A comment whose author was lost.

Maria de la Cruz

Thanks for this.

Jane

Bob Smith Sr.

Reply to Maria.
Reply
"""


def test_format_variations_markers_names_and_signatures():
    page = parse_page(THREAD)
    assert page.title == "A title" and page.byline == "Some Body"
    assert page.body == "The article, one paragraph.\n\nSecond paragraph of the article."
    assert [(c.author, c.body) for c in page.comments] == [
        ("Jane Doe", "First comment, first paragraph.\n\nFirst comment, second paragraph.\nStill the second paragraph."),
        (None, "A comment whose author was lost."),
        # "Jane" directly above another name is a signature, not the author of an empty comment.
        ("Maria de la Cruz", "Thanks for this.\n\nJane"),
        ("Bob Smith Sr.", "Reply to Maria."),
    ]


def test_windows_line_endings_parse_the_same():
    assert parse_page(THREAD.replace("\n", "\r\n")) == parse_page(THREAD)


def test_article_without_comment_section():
    page = parse_page("Title\n\nJust an article about fibromyalgia.\n")
    assert page.comments == [] and not page.has_comment_section
    assert page.body == "Just an article about fibromyalgia."


def test_comment_section_without_article():
    page = parse_page("Notify of\nKathy C\n\nOnly comments here.\n\n\nAnd another.\n")
    assert page.body == "" and page.title is None
    assert [(c.author, c.body) for c in page.comments] == [("Kathy C", "Only comments here."), (None, "And another.")]


def test_empty_page_is_refused():
    with pytest.raises(UnparseablePage, match="empty"):
        parse_page(" \n\n\t\n")


@pytest.mark.parametrize(
    "line",
    ["Kathy C", "Debbie Nickels Heck, MD", "Hayden Hamby Jr.", "dis may", "James McCay", "Do not print my name",
     "Anonymous", "Name withheld", "painwarrior_62", "Mary-Jo O'Neil"],
)
def test_author_names(line):
    assert looks_like_author_name(line)


@pytest.mark.parametrize(
    "line",
    ["Finally some good news.", "Exactly how I feel", "Thank you Ed", "Hello!", "So how much credence can I give?",
     "I agree", "Thanks all", "OF COURSE IM ADDICTED.", "Opiates don’t work for every case of FMS.",
     "This is a long line that goes on to be a sentence rather than a name"],
)
def test_sentences_are_not_author_names(line):
    assert not looks_like_author_name(line)


def test_anonymous_author_lines():
    assert is_anonymous_author("Do not print my name") and is_anonymous_author("anonymous")
    assert not is_anonymous_author("Kathy C")


def test_decode_utf8_with_bom_and_crlf():
    assert decode_page("\ufeffTitle\r\nbody don’t\r".encode("utf-8")) == "Title\nbody don’t\n"


def test_decode_windows_1252():
    assert decode_page(b"caf\xe9 \x93quoted\x94 don\x92t") == "café “quoted” don’t"


def test_decode_repairs_mojibake():
    assert decode_page("donâ€™t stop".encode("utf-8")) == "don’t stop"


def test_clean_ascii_skips_ftfy_only_where_ftfy_would_change_nothing():
    """decode_page skips ftfy for ASCII without the characters ftfy changes: checked character by
    character, alone and beside letters, against the installed ftfy."""
    import ftfy

    from fms_pipeline.parsing.decode import FTFY_OPTIONS, is_clean_ascii

    for code in range(128):
        for text in (chr(code), f"ab{chr(code)}cd {chr(code)}", f"x{chr(code)}amp; &{chr(code)}lt;"):
            if is_clean_ascii(text):
                assert ftfy.fix_text(text, **FTFY_OPTIONS) == text, repr(text)
    assert not is_clean_ascii("a &amp; b") and not is_clean_ascii("don’t") and not is_clean_ascii("a\x1b[31mb")
    assert is_clean_ascii("Lyrica 150 mg <b>helped</b>\tso far\n")
    assert decode_page(b"a &amp; b\r\nc") == "a & b\nc"  # the entity still unescaped, the line end still fixed


def test_repair_equals_ftfy_on_pages_of_mixed_lines():
    """decode's ``repair`` (ftfy segment by segment, clean ASCII lines passed over) gives what
    ``ftfy.fix_text`` gives on whole pages: mojibake, entities before and after a "<" (ftfy stops
    unescaping once a line holds one), control characters, NFD letters, CRLF, long lines."""
    import random

    import ftfy

    from fms_pipeline.parsing.decode import FTFY_OPTIONS, repair

    lines = ["Lyrica helped a bit.", "donâ€™t stop the Cymbalta", "it’s “fine” – really…", "R&D &amp; you & me",
             "<p>5 &lt; 6</p>", "caf\u0065\u0301 ol\u00e9", "bell\x07 and \x1b[31mred\x1b[0m", "line\r", "",
             "Ã©tait", "&#39;quoted&#39; &eacute;", "x" * 300, "tab\there", "naïve façade"]
    rng = random.Random(5)
    pages = ["\n".join(rng.choice(lines) for _ in range(rng.randint(1, 12))) + rng.choice(["", "\n"])
             for _ in range(3000)]
    changed = 0
    for page in pages:
        expected = ftfy.fix_text(page, **FTFY_OPTIONS)
        assert repair(page) == expected, repr(page)
        changed += expected != page
    assert changed > 1000  # ftfy did change many of them: the pages test something


def test_decode_refuses_binary():
    with pytest.raises(UndecodableFile, match="NUL"):
        decode_page(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(UndecodableFile, match="control characters"):
        decode_page(bytes(range(1, 9)) * 100)
    with pytest.raises(UndecodableFile, match="control characters"):  # 2% of the bytes
        decode_page((b"x" * 49 + b"\x01") * 100)
    assert decode_page((b"x" * 199 + b"\x01") * 100).startswith("x" * 199)  # 0.5%: text with a stray byte


def test_rules_are_valid_regular_expressions():
    from fms_pipeline.parsing import thread_format

    for name in ("comment_section_markers.txt", "boilerplate.txt", "anonymous_authors.txt"):
        assert isinstance(thread_format._whole_line_regex(name), re.Pattern)
