"""Command line: ``fms-pipeline materialize`` (the main job) and ``fms-pipeline query``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

_DAGSTER_YAML = "# DAGSTER_HOME for this project.\ntelemetry:\n  enabled: false\n"


def ensure_dagster_home() -> Path:
    """Use ``$DAGSTER_HOME``, else ``dagster_home/`` in the current directory, with telemetry off."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(_DAGSTER_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


# A run over many files records one "planned" event per asset instead of one per asset and
# file: with SQLite event storage each event costs ~6 ms, so at 4,000 files this saves ~100 s.
# Dagster's trade-off: partitions of a failed run are not marked failed in the UI (the run is,
# and files that could not be processed are listed in rejected_files).
_PLANNED_EVENTS_PER_RUN = {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true"}

# Dagster's console logger prints every event; the main job shows warnings and its own summary.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def materialize(data_dir: Path, full: bool = False) -> int:
    """Process new and changed files in ``data_dir/raw`` (every file with ``full``) and rebuild
    ``data_dir/warehouse.duckdb`` and the report, as Dagster runs recorded in DAGSTER_HOME."""
    ensure_dagster_home()
    for name, value in _PLANNED_EVENTS_PER_RUN.items():
        os.environ.setdefault(name, value)
    import dagster as dg

    from fms_pipeline import processing, warehouse
    from fms_pipeline.definitions import build_definitions
    from fms_pipeline.defs.automation import build_warehouse_job, plan_partition_sync, process_files_job, range_tags
    from fms_pipeline.defs.partitions import raw_files_partitions

    defs = build_definitions(str(data_dir))
    raw_dir = data_dir / "raw"
    processed_log = data_dir / "staging" / "processed_files.json"
    with dg.DagsterInstance.get() as instance:
        on_disk = processing.scan_raw_files(raw_dir)
        registered = instance.get_dynamic_partitions(raw_files_partitions.name)
        new, deleted, invalid = plan_partition_sync(on_disk, registered)
        for key in invalid:
            print(f"skipped {key}: the name cannot be a Dagster partition key", file=sys.stderr)
        if new:
            instance.add_dynamic_partitions(raw_files_partitions.name, new)
        for key in deleted:
            instance.delete_dynamic_partition(raw_files_partitions.name, key)
        keys = instance.get_dynamic_partitions(raw_files_partitions.name)
        log = _read_json(processed_log)
        version = processing.pipeline_version()
        processed = {} if full or log.get("pipeline_version") != version else log.get("files", {})
        todo = [k for k in keys if processed.get(k) != on_disk.get(k)]
        print(f"{len(keys)} raw file(s) in {raw_dir}: {len(new)} new, {len(deleted)} deleted, "
              f"{len(todo)} to process, {len(keys) - len(todo)} unchanged")
        if todo:
            # One run over the partitions from the first to the last file to process (new files
            # are appended, so adding files to a large corpus touches only them).
            first, last = keys.index(todo[0]), keys.index(todo[-1])
            result = defs.resolve_job_def(process_files_job.name).execute_in_process(
                instance=instance, tags=range_tags(keys[first:last + 1]), run_config=_QUIET, raise_on_error=False
            )
            if result.success:
                processed.update({k: on_disk[k] for k in keys[first:last + 1] if k in on_disk})
            else:
                print(f"processing run {result.run_id} failed; see `dagster dev` for its logs", file=sys.stderr)
        processed = {k: v for k, v in processed.items() if k in on_disk}
        processed_log.parent.mkdir(parents=True, exist_ok=True)
        processed_log.write_text(
            json.dumps({"pipeline_version": version, "files": processed}, indent=0, sort_keys=True), encoding="utf-8"
        )
        result = defs.resolve_job_def(build_warehouse_job.name).execute_in_process(
            instance=instance, run_config=_QUIET, raise_on_error=False
        )
        if not result.success:
            errors = [e.message for e in result.all_events if e.is_failure]
            print(f"warehouse build run {result.run_id} failed:\n" + "\n".join(errors), file=sys.stderr)
            return 1
        build = next((e.materialization.metadata for e in result.get_asset_materialization_events()
                      if e.asset_key == dg.AssetKey(["warehouse", "documents"])), {})
        if "build" in build:
            print(f"warehouse build: {build['build'].value}, {build['documents_rebuilt'].value} document(s) "
                  f"loaded or removed")
    print_summary(data_dir / "warehouse.duckdb", warehouse)
    return 0


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def print_summary(warehouse_path: Path, warehouse) -> None:
    with warehouse.connect_read_only(warehouse_path) as con:
        counts = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in warehouse.CORE_TABLES + warehouse.AGGREGATE_TABLES
        }
        named = con.execute("SELECT count(*) FROM comments WHERE author IS NOT NULL").fetchall()[0][0]
        by_label = con.execute(
            "SELECT label, count(*) FROM entity_mentions GROUP BY label ORDER BY count(*) DESC, label"
        ).fetchall()
        top = con.execute(
            "SELECT label, canonical, mentions FROM entity_counts WHERE label IN ('DRUG', 'CONDITION') "
            "ORDER BY mentions DESC, canonical LIMIT 8"
        ).fetchall()
        rejected = con.execute("SELECT source_file, reason FROM rejected_files").fetchall()
        outcomes = con.execute(
            "SELECT drug, outcome, mentions FROM drug_outcomes ORDER BY mentions DESC, drug LIMIT 6").fetchall()
    print(f"\nWarehouse {warehouse_path}")
    print(f"  documents        {counts['documents']:>8}")
    print(f"  comments         {counts['comments']:>8}  ({named} with an author name)")
    print(f"  entity_mentions  {counts['entity_mentions']:>8}  " + ", ".join(f"{l} {n}" for l, n in by_label))
    print(f"  entity_counts    {counts['entity_counts']:>8}")
    print(f"  drug_condition_pairs {counts['drug_condition_pairs']:>4}")
    if top:
        print("  most mentioned drugs and conditions: " + ", ".join(f"{c} ({n})" for _, c, n in top))
    print(f"  outcome_mentions {counts['outcome_mentions']:>8}  drug_outcomes {counts['drug_outcomes']}")
    if outcomes:
        print("  what patients say drugs did: " + ", ".join(f"{d} {o} ({n})" for d, o, n in outcomes))
    print(f"  rejected_files   {len(rejected):>8}")
    for source_file, reason in rejected:
        print(f"    {source_file}: {reason}")


def query(warehouse_path: Path, sql: str, max_rows: int) -> int:
    """Run one read statement (or the one in ``@file.sql``) against the warehouse, with no access
    to other files, and print the result as a table; what is refused is one line on stderr."""
    from fms_pipeline.warehouse import safe_query

    if sql.startswith("@"):
        try:
            sql = Path(sql[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            print(f"cannot read the query file {sql[1:]}: {getattr(error, 'strerror', None) or error}",
                  file=sys.stderr)
            return 1
    try:
        safe_query.show_query(warehouse_path, sql, max_rows=max_rows)
    except safe_query.RefusedQuery as error:
        print(error, file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fms-pipeline", description=__doc__)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("FMS_DATA_DIR", "data")),
        help="folder holding raw/, staging/ and warehouse.duckdb (default: $FMS_DATA_DIR or ./data)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("materialize", help="process new and changed files in DATA_DIR/raw and build the warehouse")
    m.add_argument("--full", action="store_true", help="re-process every file, changed or not")
    q = sub.add_parser("query", help="run a read-only SQL query against the warehouse")
    q.add_argument("sql", help="the query, or @file.sql to read it from a file")
    q.add_argument("--max-rows", type=int, default=40)
    e = sub.add_parser("evaluate", help="score the outcome labels against PsyTAR sentences (P/R/F1 per label)")
    e.add_argument("--file", type=Path, default=Path("data/psytar/sentences_dev.tsv"),
                   help="a PsyTAR-format TSV (default: data/psytar/sentences_dev.tsv)")
    sh = sub.add_parser("share", help="write a shareable copy: authors pseudonymised, people masked")
    sh.add_argument("--out", type=Path, default=None, help="default: DATA_DIR/share/warehouse.duckdb")
    t = sub.add_parser("train-outcomes", help="retrain the outcome classifier from PsyTAR")
    t.add_argument("--file", type=Path, default=Path("data/psytar/sentences_train.tsv"))
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()
    if args.command == "materialize":
        return materialize(data_dir, full=args.full)
    if args.command == "share":
        from fms_pipeline import privacy

        out = args.out or data_dir / "share" / "warehouse.duckdb"
        try:
            counts = privacy.write_shareable_copy(
                data_dir / "warehouse.duckdb", out, os.environ.get("FMS_SHARE_SECRET", "").encode()
            )
        except privacy.MissingSecret as error:
            print(str(error), file=sys.stderr)
            return 2
        print(f"wrote {out}: {counts['comments']} comments, {counts['entity_mentions']} mentions; "
              "authors pseudonymised, PERSON mentions and author names masked")
        return 0
    if args.command in ("evaluate", "train-outcomes"):
        from fms_pipeline.nlp import evaluation, outcome_model, shared_nlp

        if not args.file.exists():
            print(f"{args.file}: no such file", file=sys.stderr)
            return 1
        if args.command == "train-outcomes":
            info = evaluation.train(shared_nlp(), args.file, outcome_model.model_path())
            print(f"wrote {outcome_model.model_path()}\n" + json.dumps(info, indent=2))
            return 0
        print(evaluation.format_report(evaluation.evaluate(shared_nlp(), args.file)))
        return 0
    return query(data_dir / "warehouse.duckdb", args.sql, args.max_rows)


if __name__ == "__main__":
    raise SystemExit(main())
