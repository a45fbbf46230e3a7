"""A dated test corpus for the drug–event signals, written here: patients' comments in a Reddit dump
(Pushshift-style ndjson: submissions and comments, one JSON object a line), with planted drug–event
pairs whose 2×2 counts are known from ``REPORTS`` alone.

Each ``Report`` is one comment: its author, month and the (drug, event) pairs it reports, written as
"<Brand> gave me <event>." sentences, plus comments that must report nothing (a drug named without
an event, a negated or hypothetical event, someone else's, an indication).

Planted: duloxetine–nausea (8 comments, 7 authors), pregabalin–weight gain (7), oxycodone–constipation
(7) and, by class, opioid–constipation (oxycodone 7, hydrocodone 2, "opioids" 4). Ibuprofen is the
noise drug: named in many comments and reported with every event about as often as the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

NAMES = {
    "duloxetine": "Cymbalta", "pregabalin": "Lyrica", "oxycodone": "Oxycodone", "hydrocodone": "Hydrocodone",
    "opioid": "Opioids", "ibuprofen": "Ibuprofen", "tramadol": "Tramadol", "milnacipran": "Savella",
    "amitriptyline": "Elavil", "cyclobenzaprine": "Flexeril", "sertraline": "Zoloft", "zolpidem": "Ambien",
    "prednisone": "Prednisone", "naproxen": "Naproxen", "gabapentin": "Neurontin",
}
PHRASES = {
    "nausea": "terrible nausea", "weight gain": "weight gain", "constipation": "bad constipation",
    "headache": "a headache", "drowsiness": "drowsiness", "insomnia": "insomnia", "sweating": "sweating",
    "rash": "a rash", "itching": "itching", "vomiting": "vomiting", "hives": "hives", "brain fog": "brain fog",
    "fatigue": "fatigue", "muscle spasms": "muscle spasms", "numbness": "numbness", "vision loss": "blurred vision",
    "fever": "a fever",
}
# Two phrasings the pipeline reads as an adverse effect of the named drug, whatever the event.
TEMPLATES = ("{drug} gave me {event} as a side effect.", "The side effects of {drug} were {event}.")
# The drug_class of each drug as the drug dictionary gives it (a class word is its own class).
CLASSES = {
    "duloxetine": "snri", "milnacipran": "snri", "pregabalin": "gabapentinoid", "gabapentin": "gabapentinoid",
    "oxycodone": "opioid", "hydrocodone": "opioid", "tramadol": "opioid", "opioid": "opioid", "ibuprofen": "nsaid",
    "naproxen": "nsaid", "amitriptyline": "tricyclic antidepressant", "cyclobenzaprine": "muscle relaxant",
    "sertraline": "ssri", "zolpidem": "z-drug", "prednisone": "corticosteroid",
}
CLASS_WORDS = {"opioid"}
PLANTED_DRUG_SIGNALS = {("duloxetine", "nausea"), ("pregabalin", "weight gain"), ("oxycodone", "constipation")}
PLANTED_CLASS_SIGNALS = {("snri", "nausea"), ("gabapentinoid", "weight gain"), ("opioid", "constipation")}
NOISE_DRUG = "ibuprofen"


@dataclass(frozen=True)
class Report:
    author: str
    month: date
    pairs: tuple[tuple[str, str], ...]
    extra: str = ""  # a sentence that must add no drug–event pair
    body: str = field(default="", compare=False)  # the whole text, instead of sentences from the pairs

    def text(self, variant: int = 0) -> str:
        if self.body:
            return self.body
        sentences = [TEMPLATES[(variant + i) % len(TEMPLATES)].format(drug=NAMES[d], event=PHRASES[e])
                     for i, (d, e) in enumerate(self.pairs)]
        return " ".join(sentences + ([self.extra] if self.extra else []))


def _m(i: int) -> date:
    """The i-th month from July 2015 (36 months, cycling: to June 2018)."""
    i = i % 36 + 6
    return date(2015 + i // 12, i % 12 + 1, 1)


NOISE = "I also take ibuprofen most days."
_PLANTED: tuple[Report, ...] = (
    # duloxetine–nausea: 8 comments, 7 authors (pat twice)
    Report("ann", _m(0), (("duloxetine", "nausea"),), NOISE),
    Report("bob", _m(2), (("duloxetine", "nausea"), ("ibuprofen", "headache"))),
    Report("cat", _m(5), (("duloxetine", "nausea"),),
           body="I take Cymbalta for my fibromyalgia and it gave me terrible nausea."),  # fibromyalgia: indication
    Report("dan", _m(9), (("duloxetine", "nausea"),), NOISE),
    Report("pat", _m(14), (("duloxetine", "nausea"),)),
    Report("pat", _m(20), (("duloxetine", "nausea"),), NOISE),
    Report("rae", _m(27), (("duloxetine", "nausea"),)),
    Report("sol", _m(33), (("duloxetine", "nausea"),), NOISE),
    # pregabalin–weight gain: 7
    Report("eve", _m(1), (("pregabalin", "weight gain"),), NOISE),
    Report("fay", _m(4), (("pregabalin", "weight gain"),),
           body="Lyrica helps my pain but gave me weight gain."),  # pain: indication
    Report("gus", _m(8), (("pregabalin", "weight gain"),)),
    Report("hal", _m(13), (("pregabalin", "weight gain"), ("ibuprofen", "nausea"))),
    Report("ivy", _m(22), (("pregabalin", "weight gain"),), NOISE),
    Report("tess", _m(29), (("pregabalin", "weight gain"),)),
    Report("uli", _m(34), (("pregabalin", "weight gain"),), NOISE),
    # constipation: oxycodone 7, hydrocodone 2, the class word 4
    Report("jon", _m(3), (("oxycodone", "constipation"),)),
    Report("kim", _m(7), (("oxycodone", "constipation"),), NOISE),
    Report("lee", _m(12), (("oxycodone", "constipation"),)),
    Report("max", _m(18), (("oxycodone", "constipation"),), NOISE),
    Report("vera", _m(25), (("oxycodone", "constipation"),)),
    Report("walt", _m(31), (("oxycodone", "constipation"),), NOISE),
    Report("xan", _m(35), (("oxycodone", "constipation"),)),
    Report("ned", _m(6), (("hydrocodone", "constipation"),)),
    Report("oli", _m(16), (("hydrocodone", "constipation"),), NOISE),
    Report("pam", _m(10), (("opioid", "constipation"),)),
    Report("quinn", _m(24), (("opioid", "constipation"),), NOISE),
    Report("yan", _m(28), (("opioid", "constipation"),)),
    Report("zed", _m(32), (("opioid", "constipation"),), NOISE),
)
# Comments that report no drug–event pair.
_NOTHING: tuple[Report, ...] = (
    Report("kai", _m(2), (), body="My sister says Cymbalta gave her nausea."),
    Report("lou", _m(5), (), body="Cymbalta never gave me nausea."),
    Report("mo", _m(8), (), body="If Lyrica gave me weight gain I would quit."),
    Report("nia", _m(11), (), body="Hang in there everyone, I also take ibuprofen most days."),
    Report("pat", _m(26), (), body="Ibuprofen is what I reach for first."),
    Report("ros", _m(30), (), body="Tramadol didn't help my pain at all."),
    # the noise drug named every month, so that its monthly rate is a series to look for breaks in
    *(Report(f"regular{i:02d}", _m(i), (), body="Ibuprofen and a heat pad, that is my routine.") for i in range(36)),
)


def _background() -> tuple[Report, ...]:
    """One report each of the other drugs with a few events each (rotating through the events other
    than the planted ones, so that every event comes with several drugs), and the noise drug with
    every event once."""
    others = [e for e in PHRASES if e not in {"nausea", "weight gain", "constipation"}]
    drugs = ["milnacipran", "amitriptyline", "cyclobenzaprine", "sertraline", "zolpidem",
             "prednisone", "naproxen", "gabapentin", "duloxetine", "pregabalin", "oxycodone", "hydrocodone"]
    reports, k = [], 0
    for i, drug in enumerate(drugs):
        for j in range(4 + (drug == "hydrocodone")):
            event = others[(i * 4 + j) % len(others)]
            reports.append(Report(f"user{k:03d}", _m(k), ((drug, event),), NOISE if k % 3 == 0 else ""))
            k += 1
    for event in PHRASES:
        if (NOISE_DRUG, event) in {("ibuprofen", "headache"), ("ibuprofen", "nausea")}:
            continue  # reported in the planted comments above
        reports.append(Report(f"user{k:03d}", _m(k), ((NOISE_DRUG, event),)))
        k += 1
    return tuple(reports)


REPORTS: tuple[Report, ...] = _PLANTED + _background() + _NOTHING


def _epoch(month: date, day: int, hour: int) -> int:
    return int(datetime(month.year, month.month, day, hour, tzinfo=UTC).timestamp())


def reddit_dump(reports: tuple[Report, ...] = REPORTS, subreddit: str = "Fibromyalgia") -> str:
    """The reports as a Reddit dump: one submission a month (its own text reports nothing), the month's
    reports as its top-level comments, in the order Pushshift files list them."""
    lines = []
    months = sorted({r.month for r in reports})
    for i, month in enumerate(months):
        sid = f"sg{i:04d}"
        lines.append(json.dumps({
            "id": sid, "name": f"t3_{sid}", "author": "mod_team", "created_utc": _epoch(month, 1, 9),
            "title": f"Monthly check-in {month:%B %Y}", "selftext": "How is everyone doing this month?",
            "subreddit": subreddit, "score": 5, "permalink": f"/r/{subreddit}/comments/{sid}/monthly_checkin/",
            "num_comments": sum(r.month == month for r in reports),
        }))
        for j, report in enumerate(r for r in reports if r.month == month):
            cid = f"{sid}c{j:02d}"
            lines.append(json.dumps({
                "id": cid, "name": f"t1_{cid}", "link_id": f"t3_{sid}", "parent_id": f"t3_{sid}",
                "author": report.author, "created_utc": _epoch(month, 3 + j % 25, 12), "body": report.text(j),
                "subreddit": subreddit, "score": 1,
            }))
    return "\n".join(lines) + "\n"
