"""The pipeline's settings: one Dagster resource, filled once from environment variables and
shown in the UI (Deployment -> the code location -> Resources)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from fms_pipeline import storage, workers
from fms_pipeline.storage import AnyPath


class PipelineSettings(dg.ConfigurableResource):
    """Where raw files are read from and staging, the warehouse, the report and the shareable
    copy are written, and how the work is spread."""

    data_dir: str  # FMS_DATA_DIR: a folder, or an object-store URL such as s3://bucket/fms
    workers: str = ""  # FMS_WORKERS: processes per run on one machine; "" = one per core
    buckets_per_run: int = 32  # FMS_BUCKETS_PER_RUN: batches per Dagster run (lower it to spread runs over machines)
    spacy_model: str = ""  # FMS_SPACY_MODEL: an installed spaCy pipeline layered under the rules
    reports_dir: str = ""  # FMS_REPORTS_DIR: default DATA_DIR/reports
    share_path: str = ""  # FMS_SHARE_PATH: default DATA_DIR/share/warehouse.duckdb

    @property
    def data(self) -> AnyPath:
        return storage.as_path(self.data_dir)

    @property
    def raw_dir(self) -> AnyPath:
        return self.data / "raw"

    @property
    def staging_dir(self) -> AnyPath:
        return self.data / "staging"

    @property
    def warehouse_path(self) -> AnyPath:
        return self.data / "warehouse.duckdb"

    @property
    def reports_path(self) -> AnyPath:
        return storage.as_path(self.reports_dir) if self.reports_dir else self.data / "reports"

    @property
    def shareable_path(self) -> AnyPath:
        return storage.as_path(self.share_path) if self.share_path else self.data / "share" / "warehouse.duckdb"

    def worker_count(self) -> int:
        return workers.worker_processes(self.workers)

    def export_nlp_settings(self) -> None:
        """The NLP worker processes read the model name from the environment when they load."""
        if self.spacy_model:
            os.environ["FMS_SPACY_MODEL"] = self.spacy_model


def default_data_dir() -> str:
    """``FMS_DATA_DIR``, else ``data/`` under the current directory (the project root)."""
    configured = os.environ.get("FMS_DATA_DIR", "data")
    return str(storage.as_path(configured)) if "://" in configured else str(Path(configured).resolve())


def settings_from_env(data_dir: str | None = None) -> PipelineSettings:
    env = os.environ
    return PipelineSettings(
        data_dir=data_dir or default_data_dir(),
        workers=env.get("FMS_WORKERS", ""),
        buckets_per_run=int(env.get("FMS_BUCKETS_PER_RUN", "32") or 32),
        spacy_model=env.get("FMS_SPACY_MODEL", ""),
        reports_dir=env.get("FMS_REPORTS_DIR", ""),
        share_path=env.get("FMS_SHARE_PATH", ""),
    )
