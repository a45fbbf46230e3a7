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


# Collecting a package's definitions is marked preview in Dagster 1.13; it is the documented way.
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*load_definitions_from")


def build_definitions(data_dir: str | None = None) -> dg.Definitions:
    return dg.load_definitions_from_package_module(
        defs_package,
        resources={
            "settings": settings_from_env(data_dir),
            "share_secret": ShareSecret(secret=dg.EnvVar("FMS_SHARE_SECRET")),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
