"""The pipeline's settings and the data folder's layout: every ``FMS_*`` variable is read here,
once, and every path under the data folder is named here. The Dagster resource
(``defs/resources.py``) and every CLI command build their settings with ``Settings.from_env``;
worker processes get what they need as arguments, never through ``os.environ``.

| variable | what | default |
|---|---|---|
| ``FMS_DATA_DIR`` | folder (or ``s3://bucket/prefix``) with raw/, staging/, warehouse.duckdb | ``./data`` |
| ``FMS_WORKERS`` | processes per run on one machine | one per core |
| ``FMS_BUCKETS_PER_RUN`` | batches per Dagster run | 32 |
| ``FMS_SPACY_MODEL`` | an installed spaCy pipeline layered under the rules | none |
| ``FMS_REPORTS_DIR`` | where the HTML report is written | DATA_DIR/reports |
| ``FMS_SHARE_PATH`` | the shareable copy (path or s3:// URL) | DATA_DIR/share/warehouse.duckdb |
| ``FMS_SHARE_SECRET`` | the pseudonyms' key (a secret: Dagster binds it with ``dg.EnvVar``) | none |
| ``FMS_AUTOMATION`` | ``stopped`` starts the sensors and the schedule switched off | running |
| ``FMS_POLICY_DATES`` | CSV files of policy dates added to the shipped ones (``os.pathsep``-separated) | none |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fms_pipeline import storage
from fms_pipeline.storage import AnyPath

DEFAULT_BUCKETS_PER_RUN = 32


def _data_dir(configured: str) -> str:
    return str(storage.as_path(configured)) if "://" in configured else str(Path(configured).resolve())


@dataclass(frozen=True)
class Settings:
    data_dir: str
    workers: str = ""
    buckets_per_run: int = DEFAULT_BUCKETS_PER_RUN
    spacy_model: str = ""
    reports_dir: str = ""
    share_path: str = ""
    automation_stopped: bool = False

    @classmethod
    def from_env(cls, data_dir: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> Settings:
        """The settings from the environment; ``data_dir`` (``--data-dir``) wins over ``FMS_DATA_DIR``."""
        env = os.environ if env is None else env
        buckets = (env.get("FMS_BUCKETS_PER_RUN") or "").strip()
        if buckets and not (buckets.isdigit() and int(buckets) > 0):
            raise ValueError(f"FMS_BUCKETS_PER_RUN={buckets!r}: expected a whole number of batches, 1 or more")
        return cls(
            data_dir=_data_dir(str(data_dir) if data_dir else env.get("FMS_DATA_DIR") or "data"),
            workers=env.get("FMS_WORKERS", ""),
            buckets_per_run=int(buckets) if buckets else DEFAULT_BUCKETS_PER_RUN,
            spacy_model=env.get("FMS_SPACY_MODEL", ""),
            reports_dir=env.get("FMS_REPORTS_DIR", ""),
            share_path=env.get("FMS_SHARE_PATH", ""),
            automation_stopped=env.get("FMS_AUTOMATION") == "stopped",
        )

    @staticmethod
    def policy_date_files(env: Mapping[str, str] | None = None) -> list[str]:
        """The user's policy-date CSV files (``FMS_POLICY_DATES``), read by the trend-break analysis at
        every warehouse build (fms_pipeline.signals.trends)."""
        value = (os.environ if env is None else env).get("FMS_POLICY_DATES", "")
        return [p for p in value.split(os.pathsep) if p.strip()]

    @staticmethod
    def share_secret(env: Mapping[str, str] | None = None) -> bytes:
        return ((os.environ if env is None else env).get("FMS_SHARE_SECRET") or "").encode()

    # The data folder's layout.
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

    @property
    def psytar_dir(self) -> Path:
        """PsyTAR sentence labels (train/dev) for training and evaluating the outcome model."""
        return Path(self.data_dir) / "psytar"

    @property
    def evaluation_dir(self) -> Path:
        """Hand-annotated evaluation sets."""
        return Path(self.data_dir) / "evaluation"

    @property
    def druglib_dir(self) -> Path:
        return Path(self.data_dir) / "druglib"
