"""A deterministic corpus of comment-thread pages in the sample's format, at a chosen size.

Sentences are drawn from the sample page's comments and from the PsyTAR sentences; authors
from first and last names (45% of comments lose theirs, as in the sample); thread lengths
vary like real ones (a few long threads, many short); 2% of words get a typo.
With ``page_words`` the pages are small instead, of about that many words each, with a few
short comments (many small files, as a forum crawl gives them).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from fms_pipeline.nlp.outcome_model import read_psytar
from fms_pipeline.parsing.decode import decode_page
from fms_pipeline.parsing.thread_format import parse_page

REPO = Path(__file__).resolve().parents[1]
FIRST = ["Kathy", "Debbie", "James", "Terry", "Denise", "Hayden", "Gail", "Brett", "Maria", "Ann", "Kim", "Robert",
         "Linda", "Susan", "Mark", "Karen", "Paul", "Nancy", "Lisa", "Donna", "Sandra", "Carol", "Ruth", "Sharon"]
LAST = ["C", "Heck", "McCay", "Ott", "Bault", "Hamby Jr.", "Honadle", "H", "Lopez", "O'Neil", "Smith", "Jones",
        "Brown", "Garcia", "Miller", "Davis", "Wilson", "Moore", "Taylor", "Thomas", "White", "Harris"]
HANDLES = ["dis may", "painwarrior_62", "fibro mom", "spoonie77", "Do not print my name", "Anonymous"]
BOILERPLATE = "Subscribe to our blog via email\n\nEnter your email address to subscribe to this blog and receive notifications of new posts by email.\n\n"


def sentence_pool() -> list[str]:
    page = parse_page(decode_page((REPO / "data" / "raw" / "duke-stanford-opioid-fibromyalgia-study.txt").read_bytes()))
    pool = []
    for text in [page.body] + [c.body for c in page.comments]:
        pool += [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 3]
    for split in ("train", "dev"):
        texts, _ = read_psytar(REPO / "data" / "psytar" / f"sentences_{split}.tsv")
        pool += [t for t in texts if len(t.split()) >= 3]
    return pool


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 5 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def _sentences(rng: random.Random, pool: list[str], n: int) -> str:
    out = []
    for _ in range(n):
        words = rng.choice(pool).split()
        out.append(" ".join(_typo(rng, w) if rng.random() < 0.02 else w for w in words))
    return " ".join(out)


def page(rng: random.Random, pool: list[str], number: int) -> tuple[str, int]:
    title = f"Patients on pain treatment, part {number}"
    parts = [title, title] + [_sentences(rng, pool, rng.randint(2, 5)) for _ in range(rng.randint(3, 8))]
    text = "\n\n".join(parts) + "\n\n" + BOILERPLATE + f"Authored by: {rng.choice(FIRST)} {rng.choice(LAST)}\n\nnewest oldest\nNotify of\n"
    comments = min(int(rng.lognormvariate(2.6, 1.0)) + 1, 300)
    blocks = []
    for _ in range(comments):
        body = "\n\n".join(_sentences(rng, pool, rng.randint(1, 6)) for _ in range(rng.choice([1, 1, 2, 3])))
        if rng.random() < 0.45:
            blocks.append("\n\n" + body)  # author lost: two blank lines, then the body
        else:
            author = rng.choice(HANDLES) if rng.random() < 0.15 else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            blocks.append(f"{author}\n\n{body}")
    text += "\n\n".join(blocks) + "\n"
    return text, len(text.split())


def _sentences_up_to(rng: random.Random, pool: list[str], words: int) -> str:
    """Sentences until about ``words`` words (at least one sentence)."""
    out, n = [], 0
    while not out or n < words:
        sentence = _sentences(rng, pool, 1)
        out.append(sentence)
        n += len(sentence.split())
    return " ".join(out)


def small_page(rng: random.Random, pool: list[str], number: int, words: int) -> tuple[str, int]:
    """A page of about ``words`` words: title, a short article, byline, 1 to ~words/100 comments
    (at least one, at most 6) sharing about 60% of the words."""
    title = f"Pain forum post {number}"
    body = _sentences_up_to(rng, pool, int(words * 0.4))
    text = f"{title}\n\n{body}\n\nAuthored by: {rng.choice(FIRST)} {rng.choice(LAST)}\n\nnewest oldest\nNotify of\n"
    comments = rng.randint(1, max(1, min(6, words // 100)))
    blocks = []
    for _ in range(comments):
        comment = _sentences_up_to(rng, pool, int(words * 0.6 / comments))
        if rng.random() < 0.45:
            blocks.append("\n\n" + comment)
        else:
            blocks.append(f"{rng.choice(FIRST)} {rng.choice(LAST)}\n\n{comment}")
    text += "\n\n".join(blocks) + "\n"
    return text, len(text.split())


def write_corpus(folder: Path, words: int, seed: int = 7, start: int = 0,
                 page_words: int | None = None, files_wanted: int | None = None) -> tuple[int, int]:
    """Write pages into ``folder`` until about ``words`` words (or exactly ``files_wanted`` pages);
    returns (files, words). ``page_words``: small pages of about that many words each (default:
    the varied long threads)."""
    rng = random.Random(seed)
    pool = sentence_pool()
    folder.mkdir(parents=True, exist_ok=True)
    total, files = 0, 0
    while (files < files_wanted) if files_wanted else (total < words):
        if page_words:
            text, n = small_page(rng, pool, start + files, page_words)
        else:
            text, n = page(rng, pool, start + files)
        (folder / f"page-{start + files:05d}.txt").write_text(text, encoding="utf-8")
        total += n
        files += 1
    return files, total
