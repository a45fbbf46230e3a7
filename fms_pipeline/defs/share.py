"""The shareable copy of the warehouse (authors pseudonymised, people masked)."""

from pathlib import Path

import dagster as dg

from fms_pipeline import privacy, warehouse
from fms_pipeline.defs.resources import PipelinePaths


class ShareSecret(dg.ConfigurableResource):
    """The key of the author pseudonyms; keep it private and reuse it so pseudonyms stay stable."""

    secret: str


@dg.asset(
    deps=[dg.AssetKey(["warehouse", t]) for t in warehouse.CORE_TABLES],
    group_name="share",
    kinds={"duckdb"},
    owners=["team:fms-pipeline"],
    description=(
        "data/share/warehouse.duckdb: the warehouse to hand to others. Author names and bylines are "
        "HMAC pseudonyms (secret FMS_SHARE_SECRET), authors who asked not to be named are NULL, and "
        "PERSON mentions and authors' names are masked in every body. Materialize it by hand."
    ),
)
def shareable_warehouse(paths: PipelinePaths, share_secret: ShareSecret) -> dg.MaterializeResult:
    out = Path(paths.data_dir) / "share" / "warehouse.duckdb"
    counts = privacy.write_shareable_copy(paths.warehouse_path, out, share_secret.secret.encode())
    return dg.MaterializeResult(
        metadata={"dagster/uri": str(out), "comments": counts["comments"], "entity_mentions": counts["entity_mentions"]}
    )
