"""The pipeline's settings as one Dagster resource, shown in the UI (Deployment -> the code
location -> Resources). What each setting means, its variable and the data folder's layout are in
``fms_pipeline.settings`` (no Dagster there, so the CLI shares them)."""

from __future__ import annotations

import dataclasses

import dagster as dg

from fms_pipeline import workers
from fms_pipeline.settings import DEFAULT_BUCKETS_PER_RUN, Settings
from fms_pipeline.storage import AnyPath


class PipelineSettings(dg.ConfigurableResource):
    """Where raw files are read from and staging, the warehouse, the report and the shareable
    copy are written, and how the work is spread (see ``fms_pipeline.settings``)."""

    data_dir: str  # FMS_DATA_DIR: a folder, or an object-store URL such as s3://bucket/fms
    workers: str = ""  # FMS_WORKERS: processes per run on one machine; "" = one per core
    buckets_per_run: int = DEFAULT_BUCKETS_PER_RUN  # FMS_BUCKETS_PER_RUN: batches per Dagster run
    spacy_model: str = ""  # FMS_SPACY_MODEL: an installed spaCy pipeline layered under the rules
    reports_dir: str = ""  # FMS_REPORTS_DIR: default DATA_DIR/reports
    share_path: str = ""  # FMS_SHARE_PATH: default DATA_DIR/share/warehouse.duckdb

    @property
    def settings(self) -> Settings:
        return Settings(**{f.name: getattr(self, f.name) for f in dataclasses.fields(Settings)
                           if f.name in type(self).model_fields})

    @property
    def data(self) -> AnyPath:
        return self.settings.data

    @property
    def raw_dir(self) -> AnyPath:
        return self.settings.raw_dir

    @property
    def staging_dir(self) -> AnyPath:
        return self.settings.staging_dir

    @property
    def warehouse_path(self) -> AnyPath:
        return self.settings.warehouse_path

    @property
    def reports_path(self) -> AnyPath:
        return self.settings.reports_path

    @property
    def shareable_path(self) -> AnyPath:
        return self.settings.shareable_path

    def worker_count(self) -> int:
        return workers.worker_processes(self.workers)


def resource_of(settings: Settings) -> PipelineSettings:
    """The resource holding ``settings`` (the fields the resource shows in the UI)."""
    values = dataclasses.asdict(settings)
    return PipelineSettings(**{name: values[name] for name in PipelineSettings.model_fields})


def default_data_dir() -> str:
    """``FMS_DATA_DIR``, else ``data/`` under the current directory (the project root)."""
    return Settings.from_env().data_dir


def settings_from_env(data_dir: str | None = None) -> PipelineSettings:
    return resource_of(Settings.from_env(data_dir))
