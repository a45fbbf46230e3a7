"""One ``cli.materialize`` over a folder of raw files, shared by a test module's tests.

conftest's ``data_dir`` and ``dagster_home`` are function-scoped (monkeypatch); a module-scoped
fixture sets DAGSTER_HOME itself and puts back what was there when the module's tests are done.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import dagster as dg

from fms_pipeline import cli


@contextlib.contextmanager
def dagster_home_env(home: Path) -> Iterator[Path]:
    """DAGSTER_HOME=home (a fresh instance, telemetry off) until the block ends, then as it was."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(cli.DAGSTER_YAML)  # as the CLI writes it for a user
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(home)}):
        yield home


def raw_folder(root: Path, *files: Path) -> Path:
    """``root/data/raw`` made, holding copies of ``files``; returns the raw folder."""
    import shutil

    raw = root / "data" / "raw"
    raw.mkdir(parents=True)
    for file in files:
        shutil.copy(file, raw / file.name)
    return raw


def materialize_folder(data_dir: Path) -> Path:
    """Run ``fms-pipeline materialize`` over ``data_dir/raw``; the warehouse's path."""
    assert cli.materialize(data_dir) == 0, f"materialize failed for {data_dir}"
    return data_dir / "warehouse.duckdb"


def latest_metadata(asset: list[str]) -> dict:
    """The metadata of the asset's latest materialization in DAGSTER_HOME's instance."""
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
        assert event is not None and event.asset_materialization is not None, f"{asset} was not materialized"
        return dict(event.asset_materialization.metadata)
