"""`fms-pipeline evaluate`: every figure it promises, and the entity scoring on a file made here."""

from __future__ import annotations

from pathlib import Path

import pytest

from fms_pipeline.nlp import evaluation

REPO = Path(__file__).resolve().parents[1]


def test_entity_scores_count_each_canonical_once_per_sentence(nlp, tmp_path):
    path = tmp_path / "entities.tsv"
    path.write_text(
        "# a comment line\nsource\ttext\tDRUG\tCONDITION\n"
        "written\tLyrica and Lyrica again for my fibromyalgia.\tpregabalin\tfibromyalgia\n"
        "written\tCymbalta for lupus.\tduloxetine|tramadol\t\n"
        "written\tToday I feel alert.\t\t\n", encoding="utf-8")
    scores = evaluation.entity_scores(nlp, path)
    assert scores["sentences"] == 3
    assert scores["DRUG"]["precision"] == 1.0 and scores["DRUG"]["recall"] == pytest.approx(2 / 3)
    assert scores["DRUG"]["misses"] == ["tramadol"]
    assert scores["CONDITION"]["false_positives"] == ["lupus"]  # not annotated in row 2, so counted wrong
    assert scores["CONDITION"]["precision"] == 0.5 and scores["CONDITION"]["recall"] == 1.0


def test_an_entity_file_without_its_columns_is_refused_with_its_name(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("text\tDRUG\nhello\t\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.tsv: missing column\(s\) source, CONDITION"):
        evaluation.read_entities(path)


def test_the_shipped_entity_set_quotes_the_sample_and_scores_high(nlp):
    rows = evaluation.read_entities()
    sample = (REPO / "data" / "raw" / "duke-stanford-opioid-fibromyalgia-study.txt").read_text(encoding="utf-8")
    quoted = [r for r in rows if r["source"] == "sample"]
    assert len(quoted) >= 25 and all(r["text"] in " ".join(sample.split()) for r in quoted)
    scores = evaluation.entity_scores(nlp)
    assert scores["DRUG"]["precision"] >= 0.9 and scores["DRUG"]["recall"] >= 0.9
    assert scores["CONDITION"]["precision"] >= 0.9 and scores["CONDITION"]["recall"] >= 0.8


def test_evaluate_prints_every_section(capsys):
    from fms_pipeline import cli

    assert cli.main(["evaluate", "--file", str(REPO / "data" / "psytar" / "sentences_dev.tsv")]) == 0
    out = capsys.readouterr().out
    for label in ("effective", "ineffective", "adverse_effect", "withdrawal"):
        assert float(next(l for l in out.splitlines() if l.startswith(label)).split()[3]) > 0.4  # F1 column
    spearman = next(l for l in out.splitlines() if "Spearman" in l)
    assert float(spearman.split("Spearman")[1].split()[0]) >= 0.5
    assert "reviews rated Ineffective" in out and "'No Side Effects' texts" in out and "severe side-effect" in out
    drug = next(l for l in out.splitlines() if l.startswith("DRUG "))
    assert len(drug.split()) == 4 and 0 < float(drug.split()[2]) <= 1  # precision, recall, mentions
    assert next(l for l in out.splitlines() if l.startswith("CONDITION "))
    assert "misspelt drug names: recall" in out or "misspellings: skipped" in out
