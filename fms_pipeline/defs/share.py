"""The shareable copy of the warehouse (authors pseudonymised, people masked)."""

import dagster as dg

from fms_pipeline import privacy, storage, tables
from fms_pipeline.defs.resources import PipelineSettings
from fms_pipeline.defs.warehouse import WRITER_POOL


class ShareSecret(dg.ConfigurableResource):
    """The key of the author pseudonyms; keep it private and reuse it so pseudonyms stay stable."""

    secret: str


@dg.asset(
    deps=[dg.AssetKey(["warehouse", t]) for t in tables.CORE_TABLES],
    group_name="share",
    kinds={"duckdb"},
    owners=["team:fms-pipeline"],
    pool=WRITER_POOL,
    description=(
        "data/share/warehouse.duckdb: the warehouse to hand to others. Author names and bylines are "
        "HMAC pseudonyms (secret FMS_SHARE_SECRET), authors who asked not to be named are NULL, and "
        "people, contact details and addresses are masked in every text. Materialize it by hand."
    ),
)
def shareable_warehouse(settings: PipelineSettings, share_secret: ShareSecret) -> dg.MaterializeResult:
    out = settings.shareable_path
    with storage.local_copy(settings.warehouse_path) as warehouse_file:
        if storage.is_local(out):
            counts = privacy.write_shareable_copy(warehouse_file, out, share_secret.secret.encode())
        else:
            with storage.atomic_write(out) as tmp:
                counts = privacy.write_shareable_copy(warehouse_file, tmp, share_secret.secret.encode())
    return dg.MaterializeResult(
        metadata={"dagster/uri": str(out), "comments": counts["comments"], "entity_mentions": counts["entity_mentions"]}
    )
