import os
from pathlib import Path

import dagster as dg


def default_data_dir() -> str:
    """``FMS_DATA_DIR``, else ``data/`` under the current directory (the project root)."""
    return str(Path(os.environ.get("FMS_DATA_DIR", "data")).resolve())


class PipelinePaths(dg.ConfigurableResource):
    """Where raw files are read from and staging and the warehouse are written."""

    data_dir: str

    @property
    def raw_dir(self) -> Path:
        return Path(self.data_dir) / "raw"

    @property
    def staging_dir(self) -> Path:
        return Path(self.data_dir) / "staging"

    @property
    def warehouse_path(self) -> Path:
        return Path(self.data_dir) / "warehouse.duckdb"
