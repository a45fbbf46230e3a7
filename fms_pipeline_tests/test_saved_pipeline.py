"""The pipeline saved with ``nlp.to_disk`` and loaded with ``spacy.load`` in another process gives
the same results as ``load_nlp()``; ``shared_nlp()`` keeps such a copy in the cache folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fms_pipeline_tests.conftest import REPO, SAMPLE

PSYTAR_DEV = REPO / "data" / "psytar" / "sentences_dev.tsv"


def texts() -> list[str]:
    """The sample page (whole, as decoded) and every PsyTAR dev sentence."""
    from fms_pipeline.nlp.outcome_model import read_psytar
    from fms_pipeline.parsing.decode import decode_page

    sentences, _ = read_psytar(PSYTAR_DEV)
    return [decode_page(SAMPLE.read_bytes()), *sentences]


def summary(nlp, texts: list[str]) -> list[dict]:
    """Everything the pipeline says about each text, as plain JSON values."""
    out = []
    for doc in nlp.pipe(texts, batch_size=64):
        out.append({
            "tokens": [t.idx for t in doc],
            "ents": [[e.start_char, e.end_char, e.label_, e.ent_id_, e._.negated, e._.hypothetical, e._.historical,
                      e._.experiencer, e._.icd10] for e in doc.ents],
            "outcomes": [[o.start_char, o.end_char, o.label_, o.id_, o._.drug, list(o._.events), o._.negated,
                          o._.hypothetical] for o in doc.spans["outcomes"]],
            "sentences": [[s.start_char, s.end_char, s._.sentiment] for s in doc.sents],
            "sentiment": doc._.sentiment,
        })
    return out


# Run in a fresh interpreter: spacy.load finds the factories (by import or by entry point).
LOAD_AND_SUMMARISE = """
import json, sys
{imports}
import spacy
from fms_pipeline_tests.test_saved_pipeline import summary, texts
nlp = spacy.load(sys.argv[1])
count = int(sys.argv[3]) if len(sys.argv) > 3 else None
json.dump({{"pipe_names": nlp.pipe_names, "summary": summary(nlp, texts()[:count])}}, open(sys.argv[2], "w"))
"""


def load_elsewhere(path: Path, out: Path, imports: str = "import fms_pipeline.nlp", count: int | None = None) -> dict:
    """What the saved pipeline says about the first ``count`` texts (all by default) in another process."""
    script = LOAD_AND_SUMMARISE.format(imports=imports)
    done = subprocess.run([sys.executable, "-c", script, str(path), str(out), *([str(count)] if count else [])],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def built():
    from fms_pipeline.nlp import load_nlp

    return load_nlp()


@pytest.fixture(scope="module")
def saved(built, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("saved") / "nlp"
    built.to_disk(path)
    return path


@pytest.fixture(scope="module")
def expected(built) -> list[dict]:
    return json.loads(json.dumps(summary(built, texts())))


def test_saved_pipeline_loads_in_another_process_with_identical_results(built, saved, expected, tmp_path):
    loaded = load_elsewhere(saved, tmp_path / "out.json")
    assert loaded["pipe_names"] == built.pipe_names
    assert len(loaded["summary"]) == len(expected) > 600
    # Not vacuous: the sample has entities of every kind, context, codes and outcomes with drugs.
    page = expected[0]
    assert {e[2] for e in page["ents"]} >= {"DRUG", "DRUG_CLASS", "CONDITION", "SYMPTOM", "ORG", "GPE", "PERSON"}
    assert any(e[4] for e in page["ents"]) and any(e[8] for e in page["ents"])
    assert any(o[4] for o in page["outcomes"]) and any(s[2] for s in page["sentences"])
    assert sum(len(s["outcomes"]) for s in expected[1:]) > 100
    for number, (got, want) in enumerate(zip(loaded["summary"], expected)):
        assert got == want, f"text {number} differs"


def test_spacy_load_finds_the_factories_by_entry_point(saved, expected, tmp_path):
    """No import of fms_pipeline before spacy.load: the spacy_factories entry points load them."""
    loaded = load_elsewhere(saved, tmp_path / "out.json", imports="", count=1)  # only the first is compared
    assert loaded["summary"][0] == expected[0]


def test_saved_folder_holds_data_files_and_config_no_pickles(saved):
    from spacy.util import load_config

    config = load_config(saved / "config.cfg")
    factories = {name: c["factory"] for name, c in config["components"].items()}
    assert factories["fms_entity_ruler"] == factories["fms_case_ruler"] == "fms_vocabulary_ruler"
    assert config["components"]["fms_context"]["forward_window"] == 8
    assert config["components"]["fms_misspelled_entities"]["min_length"] == 6
    for name in ("fms_context/triggers.json", "fms_condition_codes/codes.json", "fms_misspelled_entities/targets.json",
                 "fms_outcomes/cues.json", "fms_outcomes/classifier/coef.npy", "fms_entity_ruler/patterns"):
        assert (saved / name).stat().st_size > 0, name
    for file in saved.rglob("*"):
        if file.is_file():
            assert not file.read_bytes()[:2] == b"\x80\x04", f"{file} is a pickle"
    assert json.loads((saved / "fms_condition_codes" / "codes.json").read_text())["fibromyalgia"] == "M79.7"


def test_components_declare_what_they_assign(built):
    for name in ("fms_entity_ruler", "fms_misspelled_entities", "fms_body_states", "fms_event_senses",
                 "fms_condition_codes", "fms_context", "fms_outcomes", "fms_sentence_cap"):
        assert built.get_pipe_meta(name).assigns, name
    assert "span._.negated" in built.get_pipe_meta("fms_context").assigns
    assert "span._.icd10" in built.get_pipe_meta("fms_condition_codes").assigns


def test_config_is_honoured_after_loading(saved, tmp_path):
    """A window changed in the saved config changes what the loaded component does."""
    import shutil

    import spacy

    copy = tmp_path / "nlp"
    shutil.copytree(saved, copy)
    sentence = "I never got any relief from the oxycodone."  # five tokens between "never" and the drug
    assert [e._.negated for e in spacy.load(copy)(sentence).ents] == [True]
    config = (copy / "config.cfg").read_text().replace("forward_window = 8", "forward_window = 2")
    (copy / "config.cfg").write_text(config)
    assert [e._.negated for e in spacy.load(copy)(sentence).ents] == [False]


def test_components_need_their_data_loaded_first():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("fms_misspelled_entities")
    with pytest.raises(ValueError, match="fms_misspelled_entities: no fuzzy targets loaded"):
        nlp("Neurotin")
    nlp.initialize()
    assert [(e.label_, e.ent_id_) for e in nlp("I took Neurotin.").ents] == [("DRUG", "gabapentin")]


@pytest.mark.parametrize(
    ("sentence", "drug"),
    [
        ("My doctor Vicodin did nothing for the pain.", "hydrocodone/acetaminophen"),
        ("I asked Dr. Oxycontin to stop.", "oxycodone"),
        ("So then doctor Lyrica it was, and it helped.", "pregabalin"),
    ],
)
def test_a_title_before_a_drug_name_is_no_person(built, sentence, drug):
    doc = built(sentence)
    assert not [e for e in doc.ents if e.label_ == "PERSON"], [(e.text, e.label_) for e in doc.ents]
    assert ("DRUG", drug) in {(e.label_, e.ent_id_) for e in doc.ents}


def test_a_title_before_a_name_is_still_a_person(built):
    doc = built("Dr. Ginevra Liptan and Doctor Smith gave me Vicodin.")
    assert [(e.text, e.label_) for e in doc.ents] == [("Dr. Ginevra Liptan", "PERSON"), ("Doctor Smith", "PERSON"),
                                                      ("Vicodin", "DRUG")]


def test_shared_nlp_builds_saves_then_loads_the_saved_copy(monkeypatch, tmp_path, expected):
    from fms_pipeline.nlp import pipeline

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("FMS_SPACY_MODEL", raising=False)
    first = pipeline._shared_nlp.__wrapped__(None)  # builds and saves
    folder = pipeline.saved_pipeline_dir()
    assert folder.parent == tmp_path / "fms_pipeline" and (folder / "config.cfg").is_file()
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no temporary folder left behind

    def no_build(model=None):
        raise AssertionError("rebuilt although a saved copy exists")

    monkeypatch.setattr(pipeline, "load_nlp", no_build)
    second = pipeline._shared_nlp.__wrapped__(None)  # loads
    assert second is not first and second.max_length == first.max_length
    assert summary(second, texts()[:1]) == expected[:1]

    # A damaged copy is rebuilt, not used.
    (folder / "fms_context" / "triggers.json").write_text("{not json")
    monkeypatch.setattr(pipeline, "load_nlp", lambda model=None: first)
    assert pipeline._shared_nlp.__wrapped__(None) is first
    assert json.loads((folder / "fms_context" / "triggers.json").read_text())


def test_saved_copy_is_keyed_by_versions(monkeypatch):
    from fms_pipeline import batches
    from fms_pipeline.nlp import pipeline

    key = pipeline.saved_pipeline_key()
    assert pipeline.saved_pipeline_key("en_core_web_sm") != key
    monkeypatch.setattr(batches, "pipeline_version", lambda: "other rules")
    assert pipeline.saved_pipeline_key() != key


def test_pipeline_version_covers_rule_files_in_sub_folders(tmp_path):
    """A rule file in a sub-folder of the vocabularies (vocab/access_loss/cues.tsv) is part of the
    version: editing it makes staged files stale and the saved pipeline rebuilt."""
    import hashlib

    from fms_pipeline import batches

    def digest() -> str:
        h = hashlib.sha256()
        batches.add_data_files(h, tmp_path)
        return h.hexdigest()

    (tmp_path / "access_loss").mkdir()
    (tmp_path / "drugs.tsv").write_text("a\tb\n")
    (tmp_path / "access_loss" / "cues.tsv").write_text("x\t-\tlose @POSS\n")
    before = digest()
    (tmp_path / "access_loss" / "README.md").write_text("docs are not data\n")
    assert digest() == before
    (tmp_path / "access_loss" / "cues.tsv").write_text("x\t-\tlose @POSS *1 DRUG\n")
    assert digest() != before


def _seed_derived_vocabularies(cache_home: Path) -> None:
    """Copy the drug lexicon and the ICD-10-CM names this code derives (JSON, keyed by their
    sources) into a fresh cache: a process using it still builds the pipeline, without first
    re-deriving those two from the packages' data (half of a build's time)."""
    from fms_pipeline.nlp import drug_lexicon, icd10
    from fms_pipeline.nlp.disk_cache import cache_dir

    drug_lexicon.drug_lexicon()  # derived (or read) in this process, so the cache holds them
    icd10._code_set()
    folder = cache_home / "fms_pipeline"
    folder.mkdir(parents=True, exist_ok=True)
    for name in (drug_lexicon._cache_name(), icd10._cache_name()):
        if (cache_dir() / name).is_file():
            shutil.copy(cache_dir() / name, folder / name)


def test_export_nlp_command_writes_a_loadable_pipeline(tmp_path):
    out = tmp_path / "exported"
    _seed_derived_vocabularies(tmp_path / "cache")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "fms_pipeline.cli", "export-nlp", str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert str(out) in done.stdout
    import spacy

    import fms_pipeline.nlp  # noqa: F401

    doc = spacy.load(out)("No pain meds work on me except high dose methadone.")
    assert ("DRUG", "methadone") in {(e.label_, e.ent_id_) for e in doc.ents}
    assert {o.label_ for o in doc.spans["outcomes"]} >= {"ineffective"}


def test_only_the_newest_saved_copies_are_kept(tmp_path):
    from fms_pipeline.nlp import pipeline

    for age in range(6):
        old = tmp_path / f"nlp-spacy3-old{age}"
        old.mkdir()
        os.utime(old, (1_000_000 - age, 1_000_000 - age))
    (tmp_path / "drug_lexicon-x.json").write_text("{}")
    current = tmp_path / "nlp-spacy3-current"
    current.mkdir()
    pipeline._prune_saved_copies(current)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == ["drug_lexicon-x.json", "nlp-spacy3-current"] + [
        f"nlp-spacy3-old{age}" for age in range(pipeline.KEEP_SAVED_COPIES - 1)]


def test_rulers_load_without_their_saved_tokens_as_span_rulers_do(saved, expected, tmp_path):
    """The saved phrase tokens only spare re-tokenizing: without them the patterns are tokenized again."""
    import shutil

    from fms_pipeline.nlp.pipeline import load_saved_nlp

    copy = tmp_path / "nlp"
    shutil.copytree(saved, copy)
    for name in ("fms_entity_ruler", "fms_case_ruler"):
        assert (copy / name / "phrase_tokens").is_file()
        (copy / name / "phrase_tokens").unlink()
    assert summary(load_saved_nlp(copy), texts()[:1]) == expected[:1]


def test_save_keeps_the_copy_another_process_saved_first(tmp_path):
    import spacy

    from fms_pipeline.nlp.pipeline import save_nlp

    first, second = spacy.blank("en"), spacy.blank("en")
    first.add_pipe("sentencizer")
    path = tmp_path / "nlp-spacy-key"
    save_nlp(first, path)
    save_nlp(second, path)  # the rename loses the race: no error, the first copy stays
    assert spacy.load(path).pipe_names == ["sentencizer"]
    assert [p.name for p in tmp_path.iterdir()] == ["nlp-spacy-key"]


def test_nlp_initialize_loads_every_component_from_the_shipped_data(expected):
    """spaCy's own way: add the factories, then nlp.initialize() (no arguments) loads their data."""
    import spacy

    from fms_pipeline.nlp import pipeline

    nlp = spacy.blank("en")
    pipeline.adapt_tokenizer(nlp)
    pipeline._add_fms_components(nlp)
    nlp.initialize()
    assert summary(nlp, texts()[:1]) == expected[:1]


def test_a_pipeline_with_a_statistical_model_underneath_saves_and_loads(tmp_path):
    import spacy

    from fms_pipeline.nlp import load_nlp

    base = spacy.blank("en")
    base.add_pipe("ner").add_label("PERSON")
    base.initialize()
    base.to_disk(tmp_path / "model")
    layered = load_nlp(model=str(tmp_path / "model"))
    layered.to_disk(tmp_path / "saved")
    loaded = spacy.load(tmp_path / "saved")
    assert loaded.pipe_names == layered.pipe_names and "ner" in loaded.pipe_names
    text = "My doctor Vicodin? No, Dr. Liptan put me on OxyContin for my fibro, and it helped."
    assert summary(loaded, [text]) == summary(layered, [text])
