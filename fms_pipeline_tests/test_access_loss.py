"""Access loss (issue 23): the fms_access_loss component on the sample page and on written
sentences, its rules as data, the dev-set targets, and the warehouse tables built from a dated
Reddit-dump fixture written for this test."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from fms_pipeline import ids
from fms_pipeline.nlp import access_evaluation, access_loss
from fms_pipeline_tests.materialized import dagster_home_env, materialize_folder, raw_folder

ACCESS_FIXTURE = Path(__file__).parent / "fixtures" / "access" / "chronicpain_2016.ndjson"
# What each fixture record reports (written with the fixture): {record id: [(mechanism, actor)]}.
FIXTURE_EVENTS = {
    "ax0001": [("pharmacy", "pharmacy")],
    "ay0001": [("prescriber_stopped", "doctor")],
    "ay0003": [("forced_taper", "cdc"), ("forced_taper", "doctor")],
    "ay0005": [("insurer", "insurer")],
}


def access(doc, label: str) -> list:
    return [s for s in doc.spans["access"] if s.label_ == label]


@pytest.fixture(scope="module")
def seed_docs(nlp, sample_page) -> list:
    return list(nlp.pipe([c.body for c in sample_page.comments]))


def _comment(sample_page, seed_docs, words: str):
    return next(doc for c, doc in zip(sample_page.comments, seed_docs) if words in c.body)


def test_seed_page_taken_off_methadone_and_ativan_with_the_loss_of_independence(sample_page, seed_docs):
    doc = _comment(sample_page, seed_docs, "Until I was taken off")
    losses = access(doc, "access_loss")
    assert {"methadone", "lorazepam"} <= {s._.drug for s in losses}
    assert {s._.mechanism for s in losses if s._.drug in ("methadone", "lorazepam")} == {"prescriber_stopped"}
    assert all("lost_function" in s._.consequences for s in losses)


def test_seed_page_patients_stripped_of_opioids_with_withdrawal_and_stigma(sample_page, seed_docs):
    doc = _comment(sample_page, seed_docs, "stripped of there Opoids")
    losses = access(doc, "access_loss")
    assert losses and {s._.drug for s in losses} == {"opioid"}
    assert all(s._.mechanism == "prescriber_stopped" and "withdrawal" in s._.consequences and s._.stigma
               for s in losses)
    assert any("drug addict" in s.text for s in access(doc, "stigma"))


def test_seed_page_pain_not_covered_since_the_cdc_is_a_policy_loss(sample_page, seed_docs):
    doc = _comment(sample_page, seed_docs, "before the CDC")
    losses = access(doc, "access_loss")
    assert any(s._.mechanism == "policy" and "cdc" in s._.actors for s in losses)


def test_seed_page_fear_and_stigma_are_not_losses(sample_page, seed_docs):
    doctor_can = _comment(sample_page, seed_docs, "Any doctor can cut you off")
    assert not access(doctor_can, "access_loss")
    assert access(doctor_can, "access_fear") and access(doctor_can, "stigma")  # "treating you as an addict"
    drug_seeker = _comment(sample_page, seed_docs, "DRUG SEEKER")
    assert access(drug_seeker, "stigma") and not access(drug_seeker, "access_loss")


@pytest.mark.parametrize("text, mechanism, actors, drugs", [
    ("The Rite Aid pharmacist would not fill my Dilaudid script.", "pharmacy", ("pharmacy",), {"hydromorphone"}),
    ("Humana rejected the prior authorization for my oxycodone.", "insurer", ("insurer",), {"oxycodone"}),
    ("We lost our pain doctor when the practice shut down, so no more meds.", "clinic_closed", ("doctor", "clinic"),
     {"pain medication"}),
    ("My pain clinic discharged me over a missed pill count.", "dismissed", ("clinic",), {"pain medication"}),
    ("My doctor dropped my morphine dose by half against my will.", "forced_taper", ("doctor",), {"morphine"}),
])
def test_losses_carry_mechanism_actor_and_drug(nlp, text, mechanism, actors, drugs):
    losses = access(nlp(text), "access_loss")
    assert losses, text
    assert losses[0]._.mechanism == mechanism and losses[0]._.actors == actors
    assert {s._.drug for s in losses} == drugs


@pytest.mark.parametrize("text, label", [
    ("I'm worried my pharmacy will stop filling my oxycodone.", "access_fear"),
    ("Will Medicare cut my hydrocodone next year?", "access_fear"),
    ("I decided to taper off my tramadol myself.", None),
    ("The dentist refused to give me Percocet after my tooth was pulled.", None),
    ("They sent me home from the hospital with four days of oxycodone.", None),
    ("My doctor has never cut me off.", None),
    ("Insurance denied my MRI again.", None),
    # losing something else while on a drug is an effect, not a loss of the drug
    ("Lyrica made me gain 20 lbs and lose my hair.", None),
    ("I started losing my appetite on Cymbalta.", None),
    # "pulled me out of" a depression is the drug working, not a prescription pulled
    ("Lexapro really pulled me out of a deep depression.", None),
])
def test_fears_voluntary_tapers_and_other_refusals_are_not_losses(nlp, text, label):
    doc = nlp(text)
    assert not access(doc, "access_loss"), text
    assert bool(access(doc, "access_fear")) == (label == "access_fear")


@pytest.mark.parametrize("text", [
    # what patients also do themselves is a loss only when someone else does it
    "I stopped taking Savella because of the headaches.",
    "Weaning off Effexor took me four months.",
    "I cut my Lyrica dose in half so I could drive.",
    # a drug that stops, lowers or takes away a symptom is relief
    "Tramadol reduced my back pain a lot.",
    "The Celebrex took the edge off and took away the stiffness.",
    "Mobic lowered my pain enough to walk again.",
    # "can't get" something that is no medication
    "I couldn't get out of bed on Cymbalta.",
    "Doctor added Lyrica and it took the burning pain away.",
    "My pain was reduced a lot by Cymbalta.",
    # "she" of a sister is no prescriber; a doctor in the sentence before a stop the writer made
    "My sister was on Cymbalta and she stopped it after a month.",
    "I saw my doctor. I stopped taking Lyrica last year.",
    # the writer's own act after a sentence naming a doctor (third review of session 15)
    "Went to the ER. Stopped my Norco cold.",
    "Talked to my doctor about it. Tapered off Cymbalta over six weeks.",
])
def test_own_acts_relief_and_other_gets_are_not_losses(nlp, text):
    assert not access(nlp(text), "access_loss"), text


@pytest.mark.parametrize("text, mechanism", [
    ("My doctor stopped my tramadol last month.", "prescriber_stopped"),
    ("My oxycodone was tapered down to nothing.", "forced_taper"),
    ("They weaned me off Norco in six weeks.", "forced_taper"),
    ("I can't get my Percocet filled anywhere.", "prescriber_stopped"),
    # forum posts with no subject, or the patient as the object (review of session 15)
    ("Tapered me down to 2 a day after ten years.", "forced_taper"),
    ("Weaned off my methadone against my will.", "forced_taper"),
    ("Had my Norco pulled last week.", "prescriber_stopped"),
    ("Got my oxycodone reduced again.", "forced_taper"),
    ("Dropped from 90 mme to 30 in two months.", "forced_taper"),
    ("After 15 years, no more opioids.", "prescriber_stopped"),
    ("Took away my Xanax after 10 years.", "prescriber_stopped"),
    ("I can't get anyone to prescribe my Norco.", "prescriber_stopped"),
    # the actor in the sentence before one that starts with what was done
    ("Saw my PCP today. Cut my oxy in half.", "forced_taper"),
    ("Saw the new doc this morning. Stopped my Norco, just like that.", "prescriber_stopped"),
    # "she" after a husband is still the doctor
    ("My husband sat right there while she cut my Norco in half.", "forced_taper"),
])
def test_the_same_acts_done_by_someone_else_are_losses(nlp, text, mechanism):
    losses = access(nlp(text), "access_loss")
    assert losses and losses[0]._.mechanism == mechanism, text


def test_tuning_sets_hard_negatives_of_real_reviews_are_not_losses(nlp):
    """The tuning rows written after reading DrugLib's reviews (session 15): before the "agent" need,
    21 of these 27 were losses."""
    rows = [r for r in access_evaluation.read_access_set(access_evaluation.TUNING_FILE)
            if r["kind"] in ("own_stop", "relief", "not_access")]
    assert len(rows) >= 27
    found = [r["text"] for r, doc in zip(rows, nlp.pipe([r["text"] for r in rows])) if access(doc, "access_loss")]
    assert found == []


def test_suicidal_thoughts_are_flagged_for_care_and_stated_drug_is_used(nlp):
    doc = nlp.make_doc("They took my meds away last month. Some nights I think about ending it.")
    doc._.stated_drug = "tapentadol"
    doc = nlp(doc)
    losses = access(doc, "access_loss")
    assert losses and losses[0]._.drug == "tapentadol" and losses[0]._.needs_care
    assert "suicidal" in losses[0]._.consequences


def test_losses_are_access_loss_outcomes_and_set_the_sentence_negative(nlp):
    doc = nlp("Walgreens refused my oxycodone prescription and I cried in the car.")
    assert [(s.label_, s._.drug) for s in doc.spans["outcomes"] if s.label_ == "access_loss"] == [
        ("access_loss", "oxycodone")]
    assert next(iter(doc.sents))._.sentiment < 0


def test_rules_round_trip_through_to_disk(nlp, tmp_path):
    component = nlp.get_pipe("fms_access_loss")
    component.to_disk(tmp_path)
    loaded = access_loss.AccessLoss(nlp).from_disk(tmp_path)
    assert loaded.rules == component.rules
    doc = nlp("My doctor retired and nobody will write my Norco.")
    again = loaded(doc)
    assert [(s.label_, s._.mechanism) for s in access(again, "access_loss")] == [("access_loss", "clinic_closed")]


def test_bad_rule_files_are_named(tmp_path):
    bad = tmp_path / "cues.tsv"
    bad.write_text("prescriber_stopped\tmed\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"cues\.tsv line 1"):
        access_loss._read_rows(bad, 3)
    rules = {k: list(v) for k, v in access_loss.shipped_rules().items()}
    rules["cues"] = rules["cues"] + [["made_up", "-", "cut me off"]]
    with pytest.raises(ValueError, match="unknown mechanism 'made_up'"):
        access_loss.validate_rules(rules, "test rules")


def test_multi_word_alternatives_match_only_as_written(nlp):
    from spacy.matcher import Matcher

    norms = lambda text: tuple(t.norm_ for t in nlp.tokenizer(text))  # noqa: E731
    matcher = Matcher(nlp.vocab)
    matcher.add("x", access_loss.compile_pattern("won't prescribe|refill_my", {}, norms))
    assert matcher(nlp.make_doc("he wont prescribe it"))
    assert matcher(nlp.make_doc("she will not refill my script"))
    assert not matcher(nlp.make_doc("she will not refill it"))  # "refill" alone is no alternative


def test_anchored_rules_find_what_one_matcher_over_the_whole_text_finds(nlp, sample_page):
    """The component looks for each rule only around its anchor words (and a cue only where the
    sentence has what it needs); on the tuning sentences and the seed page's comments that finds
    exactly the matches a single Matcher of all rules over the whole text finds within a sentence."""
    from spacy.matcher import Matcher

    component = nlp.get_pipe("fms_access_loss")
    rules = {scope: list({id(r): r for group in (component._index[scope].values(), [component._unanchored[scope]])
                          for rs in group for r in rs}.values()) for scope in access_loss.SCOPES}
    texts = [r["text"] for r in access_evaluation.read_access_set(access_evaluation.TUNING_FILE)]
    docs = list(nlp.pipe(texts + [c.body for c in sample_page.comments], disable=["fms_access_loss"]))
    compared = 0
    for scope, scope_rules in rules.items():
        matcher = Matcher(nlp.vocab)
        for rule in scope_rules:
            matcher.add(rule.key, rule.patterns)
        by_key = {rule.key: rule for rule in scope_rules}
        for doc in docs:
            view = component.view(doc)
            sentence_of = {i: k for k, (s, e) in enumerate(view.bounds) for i in range(s, e)}
            expected = set()
            for key, start, end in matcher(doc):
                k = sentence_of[start]
                need = by_key[key].need
                if sentence_of[end - 1] == k and (need is None or not need.isdisjoint(
                        set(view.norms[slice(*view.bounds[k])]) | ({0} if any(
                            view.bounds[k][0] <= t < view.bounds[k][1] for t in view.drug_tokens) else set()))):
                    expected.add((key, start, end))
            assert set(component._match(scope, doc, view, None)) == expected, (scope, doc.text)
            compared += len(expected)
    assert compared > 1000


@pytest.mark.slow
def test_dev_set_meets_the_issue_targets(nlp):
    """The written dev set (never used for tuning): issue 23's targets."""
    figures = access_evaluation.evaluate_access(nlp)
    targets = access_evaluation.TARGETS
    assert figures["rows"] >= 400
    assert figures["loss"]["precision"] >= targets["precision"]
    assert figures["loss"]["recall"] >= targets["recall"]
    assert figures["mechanism_accuracy"] >= targets["mechanism_accuracy"]
    assert figures["fear_false_positive_rate"] <= targets["fear_false_positive_rate"]


def test_dev_and_tuning_sets_share_no_sentence():
    dev = {r["text"] for r in access_evaluation.read_access_set(access_evaluation.DEV_FILE)}
    tuning = {r["text"] for r in access_evaluation.read_access_set(access_evaluation.TUNING_FILE)}
    assert len(dev) >= 400 and not dev & tuning


def test_bad_dev_rows_are_named(tmp_path):
    bad = tmp_path / "set.tsv"
    bad.write_text("id\tlabel\tkind\tdrug\tmechanism\tactor\tconsequences\tstigma\ttext\n"
                   "x1\taccess_loss\tloss\toxycodone\tbanned\t\t\t0\tThey banned it.\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"set\.tsv row 2 \(x1\).*mechanism"):
        access_evaluation.read_access_set(bad)


# ------------------------------------------------------------------ the warehouse


def _month(created_utc: int) -> date:
    when = datetime.fromtimestamp(created_utc, UTC)
    return date(when.year, when.month, 1)


@pytest.fixture(scope="module")
def access_warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("access")
    raw_folder(root, ACCESS_FIXTURE)
    with dagster_home_env(root / "dagster_home"):
        yield materialize_folder(root / "data")


def test_access_loss_events_and_rates_by_month(access_warehouse: Path):
    records = [json.loads(line) for line in ACCESS_FIXTURE.read_text().splitlines()]
    name = ACCESS_FIXTURE.name
    texts_per_month: dict[date, int] = defaultdict(int)
    expected_events, per_mechanism, per_month = set(), defaultdict(set), defaultdict(set)
    for r in records:
        month = _month(r["created_utc"])
        texts_per_month[month] += 1  # a submission's own text and each comment
        if "title" in r:
            document_id, comment_id = ids.document_id(name, r["id"]), None
        else:
            document_id = ids.document_id(name, r["link_id"].removeprefix("t3_"))
            comment_id = ids.comment_id(document_id, 0, r["id"])
        for mechanism, actor in FIXTURE_EVENTS.get(r["id"], []):
            expected_events.add((document_id, comment_id, mechanism, actor))
            per_mechanism[(month, mechanism)].add(r["id"])
            per_month[month].add(r["id"])
    with duckdb.connect(str(access_warehouse), read_only=True) as con:
        events = set(con.execute("SELECT document_id, comment_id, mechanism, actor FROM access_loss_events").fetchall())
        fears = con.execute("SELECT count(*) FROM access_mentions WHERE label = 'access_fear'").fetchone()[0]
        monthly = con.execute(
            "SELECT month, mechanism, actor, comments, rate_per_1000_comments, mechanism_rate_per_1000_comments, "
            "access_loss_rate_per_1000_comments, comments_in_month FROM access_loss_by_month").fetchall()
    assert events == expected_events
    assert fears == 1  # "I'm scared my doctor will stop my oxycodone."
    assert {(m, mech, actor) for m, mech, actor, *_ in monthly} == {
        (_month(r["created_utc"]), mech, actor) for r in records for mech, actor in FIXTURE_EVENTS.get(r["id"], [])}
    for month, mechanism, _actor, comments, rate, mechanism_rate, all_rate, in_month in monthly:
        assert in_month == texts_per_month[month]
        assert rate == pytest.approx(1000 * comments / in_month, abs=1e-3)
        assert mechanism_rate == pytest.approx(1000 * len(per_mechanism[(month, mechanism)]) / in_month, abs=1e-3)
        assert all_rate == pytest.approx(1000 * len(per_month[month]) / in_month, abs=1e-3)


def test_report_section_asset_charts_and_ready_queries(access_warehouse: Path, tmp_path: Path):
    from fms_pipeline import warehouse
    from fms_pipeline.reports import access as access_report
    from fms_pipeline.reports.report import build_report

    records = {json.loads(line)["id"] for line in ACCESS_FIXTURE.read_text().splitlines()}
    losing = len(FIXTURE_EVENTS.keys() & records)
    html = build_report(access_warehouse, tmp_path / "report").path.read_text(encoding="utf-8")
    assert 'id="access-loss"' in html and f"{losing} comments report losing a medication" in html
    assert "1 fear or ask about it" in html
    with warehouse.connect_read_only(access_warehouse) as con:
        assert access_report.mechanisms_png(con).startswith(b"\x89PNG")
        assert access_report.rate_by_month_png(con).startswith(b"\x89PNG")
        rose = con.execute((Path(__file__).parents[1] / "queries" / "access_mechanisms_after_2016_03_15.sql")
                           .read_text()).fetchall()
        consequences = dict(con.execute((Path(__file__).parents[1] / "queries" / "access_consequences.sql")
                                        .read_text()).fetchall()[i][:2] for i in range(2))
    # Before 2016-03-15: pharmacy and prescriber_stopped; after: forced_taper and insurer (one comment each).
    assert {m for m, before, _, after, *_ in rose if after > 0 and before == 0} == {"forced_taper", "insurer"}
    assert consequences == {"withdrawal": 1, "lost_function": 1}


@pytest.mark.slow
def test_the_review_sets_losses_and_reliefs(nlp):
    """data/evaluation/access_and_relief_review.tsv (208 forum-style sentences of a review in session 15, a tuning
    set): the rules before the review were wrong on 60 of them for access and 15 for relief (82 and 25 before the
    "agent" need); after it on 12 and 1."""
    rows = [line.rstrip("\n").split("\t", 2) for line in
            (access_evaluation.REPO_DATA / "evaluation" / "access_and_relief_review.tsv").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    assert len(rows) >= 200 and all(a in ("L", "N") and e in ("E", "X", "-") for a, e, _ in rows)
    access_wrong = relief_wrong = 0
    for (access_label, relief, _), doc in zip(rows, nlp.pipe([r[2] for r in rows])):
        access_wrong += (access_label == "L") != any(s.label_ == "access_loss" for s in doc.spans["access"])
        worked = any(s.label_ == "effective" and not s._.negated and not s._.hypothetical for s in doc.spans["outcomes"])
        relief_wrong += relief != "-" and (relief == "E") != worked
    assert access_wrong <= 11 and relief_wrong <= 3, (access_wrong, relief_wrong)
