from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from fms_pipeline import cli

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "raw" / "duke-stanford-opioid-fibromyalgia-study.txt"


@pytest.fixture(scope="session")
def sample_text() -> str:
    from fms_pipeline.parsing.decode import decode_page

    return decode_page(SAMPLE.read_bytes())


@pytest.fixture(scope="session")
def sample_page(sample_text):
    from fms_pipeline.parsing.thread_format import parse_page

    return parse_page(sample_text)


@pytest.fixture(scope="session")
def nlp():
    from fms_pipeline.nlp import shared_nlp

    return shared_nlp()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder holding the sample as its only raw file."""
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    shutil.copy(SAMPLE, raw / SAMPLE.name)
    return tmp_path / "data"


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(cli.DAGSTER_YAML)  # as the CLI writes it for a user
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@dataclass(frozen=True)
class SampleRun:
    """What one ``fms-pipeline materialize`` of the sample alone, in a fresh Dagster instance, left."""
    data_dir: Path  # raw/ (the sample), staging/, warehouse.duckdb, reports/
    dagster_home: Path  # the instance holding its runs
    output: str  # what it printed


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> SampleRun:
    """The sample materialized once per session. Tests only read it; a test that changes files or
    runs again takes a copy (``sample_built``). DAGSTER_HOME is as before once it is made."""
    import contextlib
    import io

    from fms_pipeline import cli
    from fms_pipeline_tests.materialized import dagster_home_env, raw_folder

    root = tmp_path_factory.mktemp("sample-run")
    raw_folder(root, SAMPLE)
    out = io.StringIO()
    with dagster_home_env(root / "dagster_home"), contextlib.redirect_stdout(out):
        assert cli.materialize(root / "data") == 0
    return SampleRun(root / "data", root / "dagster_home", out.getvalue())


@pytest.fixture
def sample_built(data_dir: Path, dagster_home: Path, sample_run: SampleRun) -> Path:
    """``data_dir`` and ``dagster_home`` as a first materialize of the sample leaves them (a copy of
    ``sample_run``'s, so that the test may change them); returns ``data_dir``. The copied sample has
    another ctime: the next run sees it changed, finds by its content hash that it is not, and
    parses nothing again."""
    shutil.copytree(sample_run.data_dir, data_dir, symlinks=True, dirs_exist_ok=True)
    shutil.copytree(sample_run.dagster_home, dagster_home, dirs_exist_ok=True)
    return data_dir


def read_as_review(nlp, text: str, drug: str):
    """``text`` through the pipeline as a review of ``drug`` (a review table's row: ``doc._.stated_drug``)."""
    from fms_pipeline.nlp.drug_lexicon import canonical_drug

    doc = nlp.make_doc(text)
    doc._.stated_drug = canonical_drug(drug)
    return nlp(doc)


def stage_folder(data_dir: Path, n_workers: int = 1) -> Path:
    """Parse and run the NLP over every file of ``data_dir/raw`` with the stages (no Dagster), as
    a run over every batch would; new, changed and deleted files are handled as in a run."""
    from fms_pipeline import batches, stages, staging

    staging_dir = data_dir / "staging"
    _, plans = batches.plan_from_storage(data_dir / "raw", staging_dir)
    stages.parse_buckets(data_dir / "raw", staging_dir, plans, batches.pipeline_version(), n_workers=n_workers)
    stages.nlp_buckets(staging_dir, staging.all_buckets(), batches.pipeline_version(), n_workers=n_workers)
    return staging_dir


# The cluster tests' session fixtures (servers and the reference run), created only when a test asks.
from fms_pipeline_tests.cluster_setup import postgres, raw_files, reference_warehouse, s3_server  # noqa: E402, F401
