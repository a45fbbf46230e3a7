import dagster as dg

from fms_pipeline import staging

# One partition per batch: a fixed set of stable hash buckets of the raw file's path, so the
# number of partitions (and of Dagster events per run) does not grow with the number of files.
bucket_partitions = dg.StaticPartitionsDefinition(staging.all_buckets())
