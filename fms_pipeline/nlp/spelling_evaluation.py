"""How well the fuzzy matcher finds misspelt drug names, and how often it takes an everyday word
for a drug.

Recall: each misspelling of ``data/evaluation/misspelt_drug_names.tsv`` is put in a sentence and
counts as found when the pipeline tags it DRUG with the expected canonical. False positives: the
share of everyday English words (the 5,000 most frequent by ``wordfreq``) that the matcher maps to
any name; and the share of rare words (wordfreq's large list below the matcher's frequency guard,
so the guard does not protect them: mostly names, foreign and technical words) it maps to a name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spacy.language import Language

MISSPELLINGS = Path(__file__).resolve().parents[2] / "data" / "evaluation" / "misspelt_drug_names.tsv"
SENTENCE = "I was given {} for the pain."


@dataclass(frozen=True)
class SpellingScores:
    misspellings: int
    found: int
    missed: list[tuple[str, str]]  # (misspelling, expected canonical)
    everyday_words: int
    everyday_matches: list[tuple[str, str]]  # (word, canonical it was taken for)
    rarer_words: int
    rarer_matches: list[tuple[str, str]]

    @property
    def recall(self) -> float:
        return self.found / self.misspellings

    @property
    def everyday_false_positive_rate(self) -> float:
        return len(self.everyday_matches) / self.everyday_words

    @property
    def rarer_false_positive_rate(self) -> float:
        return len(self.rarer_matches) / self.rarer_words


def read_misspellings(path: Path = MISSPELLINGS) -> list[tuple[str, str, str]]:
    """(misspelling, canonical, pattern) rows of a ``misspelling<TAB>canonical<TAB>pattern`` file."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise ValueError(f"{path} line {number}: expected misspelling, canonical and pattern separated by tabs")
        rows.append(tuple(p.strip() for p in parts))
    return rows  # type: ignore[return-value]


def _fuzzy_matches(words: list[str]) -> list[tuple[str, str]]:
    from fms_pipeline.nlp.pipeline import match_misspelling

    return [(w, m[1]) for w in words if (m := match_misspelling(w))]


def evaluate_spelling(nlp: Language, path: Path = MISSPELLINGS, everyday: int = 5000) -> SpellingScores:
    from wordfreq import top_n_list, zipf_frequency

    from fms_pipeline.nlp.pipeline import FUZZY_MAX_WORD_ZIPF, FUZZY_MIN_LENGTH

    rows = read_misspellings(path)
    missed = []
    docs = nlp.pipe((SENTENCE.format(word) for word, _, _ in rows), disable=["fms_outcomes"])
    for (word, canonical, _), doc in zip(rows, docs):
        if not any(e.label_ == "DRUG" and e.ent_id_ == canonical for e in doc.ents):
            missed.append((word, canonical))
    common = [w for w in top_n_list("en", everyday) if w.isalpha()]
    rare = [w for w in top_n_list("en", 1_000_000, wordlist="large")
            if w.isascii() and w.isalpha() and len(w) >= FUZZY_MIN_LENGTH and zipf_frequency(w, "en") < FUZZY_MAX_WORD_ZIPF]
    return SpellingScores(len(rows), len(rows) - len(missed), missed,
                          len(common), _fuzzy_matches(common), len(rare), _fuzzy_matches(rare))


def report(scores: SpellingScores) -> str:
    return "\n".join([
        f"misspelt drug names: recall {scores.recall:.2f} ({scores.found}/{scores.misspellings})",
        f"  missed: {', '.join(f'{w} ({c})' for w, c in scores.missed) or 'none'}",
        f"fuzzy matches among the {scores.everyday_words} most frequent English words: "
        f"{scores.everyday_false_positive_rate:.4f} ({len(scores.everyday_matches)})",
        f"  among {scores.rarer_words} rare words the frequency guard lets through: {scores.rarer_false_positive_rate:.4f} "
        f"({len(scores.rarer_matches)}: {', '.join(f'{w}->{c}' for w, c in scores.rarer_matches[:30])})",
    ])


if __name__ == "__main__":
    from fms_pipeline.nlp import load_nlp

    print(report(evaluate_spelling(load_nlp())))
