import dagster as dg

# One partition per raw file, keyed by its path relative to data/raw/.
raw_files_partitions = dg.DynamicPartitionsDefinition(name="raw_files")

# Dagster refuses these in partition keys; such files are reported and skipped.
_INVALID_KEY_PARTS = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0")


def is_valid_partition_key(key: str) -> bool:
    return bool(key) and not any(part in key for part in _INVALID_KEY_PARTS)
