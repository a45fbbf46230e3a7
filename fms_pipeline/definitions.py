"""Dagster definitions of fms_pipeline (``workspace.yaml``, ``dg`` and ``[tool.dg]`` point here).

Every asset, check, job, sensor and schedule is collected from the modules of ``fms_pipeline.defs``
(``dg.load_definitions_from_package_module``): a new one is defined in its module and nothing
here changes. Only the resources are bound here, from the settings.
"""

from __future__ import annotations

import warnings

import dagster as dg

from fms_pipeline import defs as defs_package
from fms_pipeline.defs.resources import settings_from_env
from fms_pipeline.defs.share import ShareSecret
from fms_pipeline.defs.sqlite_storage import install as sync_sqlite_at_checkpoints

# A local DAGSTER_HOME's SQLite files: no fsync per event (see sqlite_storage); in every process that
# loads these definitions (the CLI, the webserver, the daemon and its run workers).
sync_sqlite_at_checkpoints()


# Collecting a package's definitions is marked preview in Dagster 1.13; it is the documented way.
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*load_definitions_from")


def build_definitions(data_dir: str | None = None) -> dg.Definitions:
    return dg.load_definitions_from_package_module(
        defs_package,
        resources={
            "settings": settings_from_env(data_dir),
            "share_secret": ShareSecret(secret=dg.EnvVar("FMS_SHARE_SECRET")),
        },
        # Every step of a run in the run's one process, as `fms-pipeline materialize` runs them: the
        # default executor starts a Python process per step, and each one imports Dagster and the
        # project again (2-3 s of CPU a step on an idle core, 15-20 s on a busy one) for steps that
        # run one after another anyway. A run's parallelism is the parse step's worker processes.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
