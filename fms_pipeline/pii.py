"""Finding what identifies a person in free text: names, e-mail addresses, phone numbers, URLs,
street addresses and ID-like numbers. Used by the shareable copy (``privacy.py``).

Contact details and numbers are regular expressions (``pii_rules/patterns.tsv``). Names have no
model behind them (the pipeline runs without a statistical one), so they are found from the US
Census 1990 first-name and surname lists (the ``names`` package, 5,163 given names and 88,799
surnames) and the shape of the text:

* a title and capitalised words: "Mr. McCay", "Dr. Will Brown";
* capitalised words next to each other of which one is a *telling* name and the others are names
  or unknown words: "Robert Smith", "Mary-Ann Coghlan", "Robert Liptan";
* a telling name alone: "Coghlan", "Jo", "Mary-Ann", "McCay";
* a name that is also a word after a greeting: "Thanks Will", "Hi May".

A name in the lists is *telling* unless it is a word in the very texts being shared (written in
lower case there at least twice and at least as often as capitalised mid-sentence: "will",
"hope", "brown", "pain" are surnames too), a drug name, a place, a vocabulary term the pipeline
recognised, a stop word or one of ``pii_rules/not_person_words.txt`` (months, faiths ...).
All-capitals text ("ROBERT SMITH") is not searched for names.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

KINDS = ("person", "email", "url", "phone", "ssn", "id", "address")
MASKS = {kind: f"[{kind.upper()}]" for kind in KINDS}

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z]+(?![\w'’-])")
# A capitalised word after a lower-case word (or a comma): mid-sentence, so a name or a proper noun.
_CAPITALISED_MID_SENTENCE = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]+(?![\w'’-])")
_SURNAME_PREFIX = re.compile(r"^(?:Mc|Mac|O['’])[A-Z][a-z]{2,}$")
_POSSESSIVE = re.compile(r"['’]s$")


def _rule_lines(name: str) -> list[str]:
    text = resources.files("fms_pipeline").joinpath("pii_rules", name).read_text(encoding="utf-8")
    return [line.rstrip("\n") for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def patterns() -> list[tuple[str, re.Pattern[str]]]:
    """[(kind, compiled pattern)] from ``pii_rules/patterns.tsv``, in file order."""
    found = []
    for line in _rule_lines("patterns.tsv"):
        kind, pattern = line.split("\t", 1)
        if kind not in MASKS:
            raise ValueError(f"pii_rules/patterns.tsv: unknown kind {kind!r} (known: {', '.join(KINDS)})")
        found.append((kind, re.compile(pattern)))
    return found


@cache
def census_names() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, surnames), lower case, from the ``names`` package's census files."""
    import names

    folder = resources.files(names)

    def read(filename: str) -> frozenset[str]:
        return frozenset(line.split()[0].lower() for line in folder.joinpath(filename).read_text().splitlines()
                         if line.strip())

    return read("dist.female.first") | read("dist.male.first"), read("dist.all.last")


@cache
def english_stop_words() -> frozenset[str]:
    """spaCy's English stop words, read from its data file without importing spaCy (~1 s of the
    share copy's start-up otherwise)."""
    import importlib.util
    import runpy
    from pathlib import Path

    spec = importlib.util.find_spec("spacy")
    data_file = Path(spec.origin).parent / "lang" / "en" / "stop_words.py"
    return frozenset(runpy.run_path(str(data_file))["STOP_WORDS"])


@cache
def default_not_names() -> frozenset[str]:
    """Lower-case words that alone are not a person: stop words, months and the like, drug
    names, and the places the pipeline knows (``nlp.places``: countries, states, large cities;
    not those named by a given name, such as Austin)."""
    from fms_pipeline.nlp.drug_lexicon import drug_lexicon
    from fms_pipeline.nlp.places import place_names

    words = set(english_stop_words()) | set(_rule_lines("not_person_words.txt"))
    # Whole one-word names only: "Saint Mary" or "Smith Island" must not make Mary or Smith a place.
    words |= {name.lower() for name in drug_lexicon() if " " not in name}
    words |= {name.lower() for name in place_names() if " " not in name}
    return frozenset(words)


@cache
def protected_places() -> re.Pattern[str]:
    """Place names of several words as written ("San Diego", "Fort Worth", "Long Beach"): their
    words are never a name, though "Diego" and "Worth" alone may be."""
    from fms_pipeline.nlp.places import place_names

    several = sorted((n for n in place_names() if " " in n), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, several)) + r")(?!\w)")


@cache
def place_words() -> frozenset[str]:
    return frozenset(_rule_lines("place_words.txt"))


@cache
def greetings() -> frozenset[str]:
    return frozenset(_rule_lines("greetings.txt"))


def everyday_words(texts) -> set[str]:
    """Lower-case words used as words in ``texts``: written in lower case at least twice and at
    least as often as capitalised in mid-sentence."""
    lower, capitalised = Counter(), Counter()
    for text in texts:
        if text:
            lower.update(_LOWER_WORD.findall(text))
            capitalised.update(w.lower() for w in _CAPITALISED_MID_SENTENCE.findall(text))
    return {w for w, n in lower.items() if n >= 2 and n >= capitalised[w]}


@dataclass
class NameFinder:
    """Finds names and contact details in text (see the module's docstring)."""

    # Words used as words in the texts being masked, and other words that alone are no one.
    everyday: set[str] = field(default_factory=set)
    not_names: frozenset[str] | set[str] = field(default_factory=default_not_names)
    # Given names and surnames known to be people here (authors, bylines, PERSON mentions): telling
    # even where they are everyday words.
    known: set[str] = field(default_factory=set)

    def __post_init__(self):
        from fms_pipeline.nlp.places import person_titles

        self.given, self.surnames = census_names()
        self.titles = {t.rstrip(".") for t in person_titles()}

    def _listed(self, word: str) -> bool:
        parts = word.lower().split("-")
        return all(p in self.given or p in self.surnames for p in parts) or bool(_SURNAME_PREFIX.match(word))

    def _telling(self, word: str) -> bool:
        lower = word.lower()
        if lower in self.known or all(p in self.known for p in lower.split("-")):
            return True
        if not self._listed(word):
            return False
        return not any(p in self.everyday or p in self.not_names for p in lower.split("-"))

    def find(self, text: str, protected: list[tuple[int, int]] = ()) -> list[tuple[int, int, str]]:
        """[(start, end, kind)] of everything to mask in ``text`` (spans may overlap); no name is
        looked for inside the ``protected`` spans (what the pipeline recognised as a drug, place ...)."""
        spans = [(m.start(), m.end(), kind) for kind, pattern in patterns() for m in pattern.finditer(text)]
        spans += [(start, end, "person") for start, end in self.find_names(text, protected)]
        return spans

    def find_names(self, text: str, protected: list[tuple[int, int]] = ()) -> list[tuple[int, int]]:
        protected = [*protected, *((m.start(), m.end()) for m in protected_places().finditer(text))]
        words = [(m.start(), _POSSESSIVE.sub("", m.group())) for m in _WORD.finditer(text)
                 if not any(s <= m.start() < e for s, e in protected)]
        found: list[tuple[int, int]] = []
        i = 0
        while i < len(words):
            start, word = words[i]
            if not _name_shaped(word):
                i += 1
                continue
            # A run: capitalised words one space (or an initial "J. ") apart.
            run = [(start, word)]
            while i + len(run) < len(words) and _name_shaped(words[i + len(run)][1]) and _adjacent(
                    text, run[-1][0] + len(run[-1][1]), words[i + len(run)][0]):
                run.append(words[i + len(run)])
            previous = words[i - 1][1].lower() if i > 0 else ""
            found += self._names_in_run(text, run, previous, words[i - 1][0] if i > 0 else 0)
            i += len(run)
        return found

    def _names_in_run(self, text: str, run: list[tuple[int, str]], previous: str, previous_start: int):
        def span(first: int, last: int) -> tuple[int, int]:
            return run[first][0], run[last][0] + len(run[last][1])

        lowered = [w.lower() for _, w in run]
        if lowered[0] in self.titles and len(run) > 1:
            return [(run[0][0], span(1, len(run) - 1)[1])]
        if previous in self.titles and text[previous_start + len(previous):run[0][0]].strip() in ("", "."):
            return [(previous_start, span(0, len(run) - 1)[1])]
        if len(run) > 1 and any(w in place_words() for w in lowered):
            return []  # "Lake Forest", "Jackson Memorial Hospital": a place or an institution
        telling = [self._telling(w) for _, w in run]
        if any(telling):
            # Names, and unknown words after a given name ("Robert Liptan"), up to a word that is
            # neither (a place, a drug, an ordinary word).
            masked = [t or self._listed(w) or (k > 0 and run[k - 1][1].lower() in self.given
                                                 and w.lower() not in self.not_names and w.lower() not in self.everyday)
                      for k, ((_, w), t) in enumerate(zip(run, telling))]
            return _runs_of(run, masked)
        if previous in greetings() and self._listed(run[0][1]):
            return [span(0, 0)]
        return []


def _name_shaped(word: str) -> bool:
    """Capitalised, not all capitals (except two-letter names: "Jo"), letters only."""
    first = word[:1]
    return first.isupper() and (len(word) == 2 or not word.isupper()) and word.replace("-", "").replace(
        "'", "").replace("’", "").isalpha()


def _adjacent(text: str, end: int, next_start: int) -> bool:
    gap = text[end:next_start]
    return gap == " " or bool(re.fullmatch(r" [A-Z]\. ", gap))


def _runs_of(run: list[tuple[int, str]], masked: list[bool]) -> list[tuple[int, int]]:
    spans, open_start, last_end = [], None, None
    for (start, word), m in zip(run, masked):
        if m and open_start is None:
            open_start = start
        if m:
            last_end = start + len(word)
        if not m and open_start is not None:
            spans.append((open_start, last_end))
            open_start = None
    if open_start is not None:
        spans.append((open_start, last_end))
    return spans
