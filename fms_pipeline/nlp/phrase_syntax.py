"""The one shorthand of the phrase vocabularies: a brace group of alternatives, as a shell expands it.

"side {effects,affects} {are,were} {,so }awful" stands for the eight phrases "side effects are awful", "side
effects are so awful", ... "side affects were so awful": each ``{a,b,c}`` group is replaced by each of its
alternatives in turn (written as they are, spaces included, so ``{,so }`` is an optional "so "), every group of a
phrase with every other, and runs of spaces are closed up. Groups do not nest. A group without a comma is a mistake,
unless the reader names it a placeholder it fills in itself (``{n}``, the number slot of ``adverse_event_phrases.tsv``).

The phrase files split their alternatives on "|" first and expand each with ``expand``: the rule cues
(``outcome_rule_cues.tsv``), the context triggers, the event cues and every ``canonical<TAB>variants`` vocabulary.

A file whose lines are products of slots (``adverse_event_phrases.tsv``) may also name a list once and use it in
many slots: a line ``@name<TAB>a | b | c`` defines it, an alternative ``@name`` stands for all of its phrases
("ache | @hurting"). A name is defined before it is used, once.
"""

from __future__ import annotations

import itertools
import re

_GROUP = re.compile(r"\{([^{}]*,[^{}]*)\}")
_COMMALESS_GROUP = re.compile(r"\{[^{}]*\}")
_SPACES = re.compile(r"\s+")


def expand(phrase: str, placeholders: frozenset[str] = frozenset()) -> list[str]:
    """The phrases a phrase with brace groups stands for, in the order written (the first alternative varying
    slowest), without repeats; a phrase without a group is itself, stripped. A mistake that would leave a phrase
    that can never match raises ValueError: braces unbalanced or nested, a group without a comma that is none of
    ``placeholders`` ("{effects}"), a choice that leaves nothing ("{ , }")."""
    if "{" not in phrase and "}" not in phrase:
        return [phrase.strip()] if phrase.strip() else []
    depth = 0
    for char in phrase:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth not in (0, 1):
            raise ValueError(f"unbalanced or nested braces in {phrase!r}")
    if depth:
        raise ValueError(f"unbalanced braces in {phrase!r}")
    pieces = _GROUP.split(phrase)  # literal, group, literal, group, ..., literal
    for literal in pieces[::2]:
        for group in _COMMALESS_GROUP.findall(literal):
            if group not in placeholders:
                raise ValueError(f"{group} in {phrase!r} has no comma and is no placeholder")
    choices = [[piece] if k % 2 == 0 else piece.split(",") for k, piece in enumerate(pieces)]
    out = [_SPACES.sub(" ", "".join(words)).strip() for words in itertools.product(*choices)]
    if not all(out):
        raise ValueError(f"a choice of {phrase!r} leaves no phrase")
    return list(dict.fromkeys(out))


def alternatives(field: str, named: dict[str, list[str]] | None = None, where: str = "",
                 placeholders: frozenset[str] = frozenset()) -> list[str]:
    """The phrases of a ``a | b {c,d} | @name`` field: split on "|", each expanded (``placeholders``: see
    ``expand``); with ``named``, a ``@name`` is replaced by the phrases it gives that name. A mistake raises
    ValueError, its message starting with ``where`` (the file and line: "vocab/outcome_rule_cues.tsv line 12")."""
    out: list[str] = []
    for part in field.split("|"):
        name = part.strip()
        try:
            if named is not None and name.startswith("@"):  # elsewhere "@" is a word's ("@CDCgov")
                if name not in named:
                    raise ValueError(f"{name} is not a named list defined before it")
                out.extend(named[name])
            else:
                out.extend(expand(part, placeholders))
        except ValueError as error:
            raise ValueError(f"{where}: {error}" if where else str(error)) from None
    return out
