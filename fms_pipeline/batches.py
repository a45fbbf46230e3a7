"""Planning, no Dagster: which batches (buckets) have work, and which files in them.

The one planning code of the project: the sensor, the daily schedule, a backfill launched in
the UI (inside its run) and ``fms-pipeline materialize`` all compare the raw folder with the
recorded state of every file (``source_files`` in staging, one file per bucket) through
``plan``. A file is work when it is new, its fingerprint changed (and then its content hash
is compared, so a touched file is not re-processed), it was deleted, it was made by other
rules, vocabularies or model, or its NLP has not run with the current ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache

import polars as pl

from fms_pipeline import raw_files, staging
from fms_pipeline.storage import AnyPath


@cache
def pipeline_version() -> str:
    """A hash of the rules, vocabularies and model that shape the staged data; when it changes,
    files processed before are stale."""
    from importlib import metadata, resources

    digest = hashlib.sha256(metadata.version("fms-pipeline").encode())
    package = resources.files("fms_pipeline")
    for folder in ("parsing/rules", "parsing/sources", "nlp/vocab", "nlp/models"):
        add_data_files(digest, package.joinpath(folder))
    return digest.hexdigest()[:16]


def add_data_files(digest, directory, prefix: str = "") -> None:
    """Feed every data file under ``directory`` (a path or an importlib Traversable), sub-folders
    included (the access-loss rules live in ``nlp/vocab/access_loss/``), to ``digest``: each
    file's path relative to ``directory`` and its bytes, in name order. Code and docs are left out."""
    if not directory.is_dir():
        return
    for entry in sorted(directory.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            if entry.name != "__pycache__":
                add_data_files(digest, entry, f"{prefix}{entry.name}/")
        elif entry.is_file() and not entry.name.endswith((".py", ".pyc", ".md")):  # data, not code
            digest.update(f"{prefix}{entry.name}".encode())
            digest.update(entry.read_bytes())


@dataclass
class BucketPlan:
    bucket: str
    to_parse: list[raw_files.RawEntry] = field(default_factory=list)  # new, changed, outdated (or all, full)
    to_remove: list[str] = field(default_factory=list)  # recorded but no longer on disk
    nlp_pending: list[str] = field(default_factory=list)  # parsed, NLP not run with the current version
    new: int = 0
    changed: int = 0
    outdated: int = 0
    state_stamp: str = ""  # when the bucket's state was last written (part of the run key)

    @property
    def has_work(self) -> bool:
        return bool(self.to_parse or self.to_remove or self.nlp_pending)

    def digest(self) -> str:
        """Changes whenever the work changes (or the state was rewritten since): a run key."""
        text = "|".join([*(f"{e.source_file}={e.fingerprint}" for e in self.to_parse), *self.to_remove,
                         *self.nlp_pending, self.state_stamp])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def plan(scan: dict[str, raw_files.RawEntry], state: pl.DataFrame, version: str, full: bool = False,
         buckets: list[str] | None = None) -> dict[str, BucketPlan]:
    """{bucket: its plan} for every bucket (or the given ones)."""
    wanted = set(buckets or staging.all_buckets())
    plans = {b: BucketPlan(b) for b in sorted(wanted)}
    recorded = {row["source_file"]: row for row in state.iter_rows(named=True)}
    stamps = state.group_by("bucket").agg(pl.col("processed_at").max()) if len(state) else None
    if stamps is not None:
        for bucket, stamp in stamps.iter_rows():
            if bucket in plans:
                plans[bucket].state_stamp = str(stamp)
    for source_file, entry in scan.items():
        bucket = staging.bucket_of(source_file)
        if bucket not in wanted:
            continue
        p = plans[bucket]
        row = recorded.get(source_file)
        if row is None:
            p.new += 1
            p.to_parse.append(entry)
        elif full or row["fingerprint"] != entry.fingerprint:
            p.changed += row["fingerprint"] != entry.fingerprint
            p.to_parse.append(entry)
        elif row["pipeline_version"] != version:
            p.outdated += 1
            p.to_parse.append(entry)
        elif row["status"] == "staged" and row["nlp_version"] != version:
            p.nlp_pending.append(source_file)
    for source_file, row in recorded.items():
        if source_file not in scan and row["bucket"] in wanted:
            plans[row["bucket"]].to_remove.append(source_file)
    return plans


def run_groups(plans: dict[str, BucketPlan], buckets_per_run: int) -> list[list[str]]:
    """Buckets with work, as groups of at most ``buckets_per_run`` consecutive buckets: one Dagster
    run each (a run covers the range from its first to its last bucket)."""
    stale = [b for b, p in sorted(plans.items()) if p.has_work]
    return [stale[i:i + buckets_per_run] for i in range(0, len(stale), max(buckets_per_run, 1))]


def bucket_range(group: list[str]) -> list[str]:
    """Every bucket from the group's first to its last (a Dagster partition range)."""
    every = staging.all_buckets()
    return every[every.index(group[0]): every.index(group[-1]) + 1]


def run_key(plans: dict[str, BucketPlan], group: list[str]) -> str:
    digest = hashlib.sha256("|".join(f"{b}:{plans[b].digest()}" for b in group).encode()).hexdigest()[:16]
    return f"buckets:{group[0]}-{group[-1]}:{digest}"


def summarize(plans: dict[str, BucketPlan], scan: dict) -> dict[str, int]:
    return {
        "files": len(scan),
        "new": sum(p.new for p in plans.values()),
        "changed": sum(p.changed for p in plans.values()),
        "outdated": sum(p.outdated for p in plans.values()),
        "deleted": sum(len(p.to_remove) for p in plans.values()),
        "to_process": sum(len(p.to_parse) for p in plans.values()),
        "nlp_pending": sum(len(p.nlp_pending) for p in plans.values()),
        "buckets_with_work": sum(p.has_work for p in plans.values()),
    }


def plan_from_storage(raw_dir: AnyPath, staging_dir: AnyPath, full: bool = False,
                      buckets: list[str] | None = None) -> tuple[dict[str, raw_files.RawEntry], dict[str, BucketPlan]]:
    scan = raw_files.scan(raw_dir)
    return scan, plan(scan, staging.read_state(staging_dir), pipeline_version(), full=full, buckets=buckets)
