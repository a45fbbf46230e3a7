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
* a name that is also a word after a greeting: "Thanks Will", "Hi May";
* a word of a surname's shape (``pii_rules/surname_endings.txt``: "Przybylski", "Kovalenko")
  and an unknown capitalised word before a surname: "Wojciech Nowakowski", "Oluwaseun Johnson";
* in ALL-CAPITALS text, two or more names of which one is a given name ("PATRICIA KOWALCZYK"),
  and the names of the people known here (authors, bylines) alone ("TOMASZ").

A name in the lists is *telling* unless it is a word in the very texts being shared (written in
lower case there at least twice and at least as often as capitalised mid-sentence: "will",
"hope", "brown", "pain" are surnames too), a drug name, a place, a vocabulary term the pipeline
recognised, a stop word or one of ``pii_rules/not_person_words.txt`` (months, faiths ...).
The names of the people known here (``name_parts`` of authors and bylines: "Jane Doe" gives Jane
and Doe, the user name "MargaretHolloway1961" gives Margaret and Holloway) are telling anywhere.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

# In order of preference where two kinds cover the same characters (an SSN is also an ID-like number).
KINDS = ("person", "email", "url", "phone", "ssn", "dob", "id", "address", "user")
MASKS = {kind: f"[{kind.upper()}]" for kind in KINDS}

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z]+(?![\w'’-])")
# A capitalised word after a lower-case word (or a comma): mid-sentence, so a name or a proper noun.
_CAPITALISED_MID_SENTENCE = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]+(?![\w'’-])")
_SURNAME_PREFIX = re.compile(r"^(?:Mc|Mac|O['’])[A-Z][a-z]{2,}$")
_POSSESSIVE = re.compile(r"['’]s$")
# Parts of a user name: "MargaretHolloway1961" -> Margaret, Holloway; "painwarrior_kate" -> painwarrior, kate.
_NAME_PART = re.compile(r"[A-Z]?[a-z]+(?:['’][A-Za-z]+)?|[A-Z]+(?![a-z])")


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


def pattern_spans(text: str) -> list[tuple[int, int, str]]:
    """[(start, end, kind)] of every match of ``patterns()`` in ``text``: the group named ``pii``
    where the pattern has one ("DOB 03/14/1972": the date), else the whole match."""
    spans = []
    for kind, pattern in patterns():
        group = "pii" if "pii" in pattern.groupindex else 0
        spans += [(*m.span(group), kind) for m in pattern.finditer(text)]
    return spans


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


@cache
def blog_platforms() -> tuple[str, ...]:
    """Hosts whose sub-domains are their users' blogs (``pii_rules/blog_platforms.txt``)."""
    return tuple(_rule_lines("blog_platforms.txt"))


@cache
def surname_shape() -> re.Pattern[str]:
    """A capitalised word of 6+ letters ending as a surname does (``pii_rules/surname_endings.txt``)."""
    endings = sorted(_rule_lines("surname_endings.txt"), key=len, reverse=True)
    return re.compile(r"[A-Z][a-zà-ž]{2,}(?:" + "|".join(map(re.escape, endings)) + r")", re.IGNORECASE)


def name_parts(name: str, everyday: set[str] = frozenset()) -> set[str]:
    """Lower-case words by which a person known by ``name`` can be named in text. A name of words
    ("Jane Doe", "Tomasz Lewandowski"): each word of 2+ letters. A user name of one word
    ("MargaretHolloway1961", "painwarrior_kate", split at capitals, digits and punctuation): the
    parts of 3+ letters in the census lists that are not words (``everyday``, stop words ...):
    "Margaret", "Holloway", "kate", but not "side" of "sunny_side_sam"."""
    words = name.split()
    if len(words) > 1:
        return {w.lower().strip(".,'’") for w in words if len(w.strip(".,'’")) >= 2}
    given, surnames = census_names()
    parts = {p.lower() for p in _NAME_PART.findall(name) if len(p) >= 3}
    return {p for p in parts if (p in given or p in surnames) and p not in everyday and p not in default_not_names()}


def lower_case_words(texts) -> set[str]:
    """Every word written in lower case at least once in ``texts``."""
    return {w for text in texts if text for w in _LOWER_WORD.findall(text)}


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
    # Words written in lower case anywhere in the texts: not an unknown given name ("Thanks Holloway").
    lower_case: set[str] = field(default_factory=set)

    def __post_init__(self):
        from fms_pipeline.nlp.places import person_titles

        self.given, self.surnames = census_names()
        self.titles = {t.rstrip(".") for t in person_titles()}

    def _listed(self, word: str) -> bool:
        parts = word.lower().split("-")
        return all(p in self.given or p in self.surnames for p in parts) or bool(_SURNAME_PREFIX.match(word))

    def _word(self, word: str) -> bool:
        """An everyday word, a place, a drug ... (see ``not_names``): alone it names no one."""
        return any(p in self.everyday or p in self.not_names for p in word.lower().split("-"))

    def _telling(self, word: str) -> bool:
        lower = word.lower()
        if lower in self.known or all(p in self.known for p in lower.split("-")):
            return True
        if not self._listed(word) and not surname_shape().fullmatch(word):
            return False
        return not self._word(word)

    def _unknown_given(self, word: str) -> bool:
        """Could be a given name in no list: 3+ letters, never written in lower case here, not a
        greeting, title, stop word, drug or place ("Wojciech", "Oluwaseun"; not "Thanks", "Ping")."""
        lower = word.lower()
        return (len(word) >= 3 and not self._word(word) and lower not in self.lower_case
                and lower not in greetings() and lower not in self.titles)

    def _surname(self, word: str) -> bool:
        """Telling as a surname: "Johnson", "Nowakowski", "Przybylski" (not "Hope", "Will")."""
        lower = word.lower()
        return self._telling(word) and (lower in self.surnames or bool(surname_shape().fullmatch(word))
                                        or bool(_SURNAME_PREFIX.match(word)) or lower in self.known)

    def find(self, text: str, protected: list[tuple[int, int]] = ()) -> list[tuple[int, int, str]]:
        """[(start, end, kind)] of everything to mask in ``text`` (spans may overlap); no name is
        looked for inside the ``protected`` spans (what the pipeline recognised as a drug, place ...)."""
        spans = pattern_spans(text)
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
        return found + self._shouted_names(text, words)

    def _shouted_names(self, text: str, words: list[tuple[int, str]]) -> list[tuple[int, int]]:
        """Names in ALL-CAPITALS text: a run of two or more telling names with a given name among
        them ("PATRICIA KOWALCZYK", not "HINT HINT" or "DRUG SEEKER"), or a known person's name
        alone unless it is a word here ("TOMASZ", "DOE"; not "PAIN" of the author Pain Warrior)."""
        found = []
        i = 0
        while i < len(words):
            if not _shouted(words[i][1]):
                i += 1
                continue
            run = [words[i]]
            while i + len(run) < len(words) and _shouted(words[i + len(run)][1]) and _adjacent(
                    text, run[-1][0] + len(run[-1][1]), words[i + len(run)][0]):
                run.append(words[i + len(run)])
            i += len(run)
            titled = [w.title() for _, w in run]
            telling = [self._telling(w) for w in titled]
            masked = [False] * len(run)
            k = 0
            while k < len(run):
                if not telling[k]:
                    k += 1
                    continue
                end = k
                while end + 1 < len(run) and telling[end + 1]:
                    end += 1
                names = titled[k:end + 1]
                if (len(names) > 1 and any(w.lower() in self.given for w in names)) or any(
                        w.lower() in self.known and not self._word(w) for w in names):
                    masked[k:end + 1] = [True] * len(names)
                k = end + 1
            found += _runs_of(run, masked)
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
            # Names, unknown words after a given name ("Robert Liptan") and before a surname
            # ("Wojciech Nowakowski"), up to a word that is neither (a place, a drug, an ordinary word).
            masked = [t or self._listed(w)
                      or (k > 0 and run[k - 1][1].lower() in self.given and not self._word(w))
                      or (k + 1 < len(run) and self._surname(run[k + 1][1]) and self._unknown_given(w))
                      for k, ((_, w), t) in enumerate(zip(run, telling))]
            return _runs_of(run, masked)
        if previous in greetings() and self._listed(run[0][1]):
            return [span(0, 0)]
        return []


def _name_shaped(word: str) -> bool:
    """Capitalised, not all capitals ("Jo", not "IM"), letters only."""
    return word[:1].isupper() and not word.isupper() and word.replace("-", "").replace(
        "'", "").replace("’", "").isalpha()


def _shouted(word: str) -> bool:
    """A word of 2+ letters in all capitals ("TOMASZ", "DOE")."""
    return len(word) >= 2 and word.isupper() and word.replace("-", "").replace("'", "").replace("’", "").isalpha()


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
