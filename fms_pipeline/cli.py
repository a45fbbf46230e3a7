"""Command line: ``fms-pipeline materialize`` (the main job), ``fms-pipeline watch`` (the main job kept
loaded, run whenever raw/ changes), ``fms-pipeline query`` and the NLP's evaluate and train commands."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

DAGSTER_YAML = """# DAGSTER_HOME for this project.
telemetry:
  enabled: false
# Dagster's SQLite files under this folder, with fewer connections per event (defs/sqlite_storage.py).
storage:
  custom:
    module: fms_pipeline.defs.sqlite_storage
    class: LocalSqliteStorage
    config:
      base_dir:
        env: DAGSTER_HOME
# One writer at a time for the warehouse, the report and the shareable copy.
concurrency:
  pools:
    default_limit: 1
# Sensor and schedule ticks are kept a few days, not forever (a tick every 30 s).
retention:
  schedule:
    purge_after_days: 30
  sensor:
    purge_after_days:
      skipped: 1
      failure: 30
      success: 7
"""


def ensure_dagster_home() -> Path:
    """Use ``$DAGSTER_HOME``, else ``dagster_home/`` in the current directory, with telemetry off."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def load_project_env(project_dir: Path | None = None) -> None:
    """The settings in the project's ``.env`` (which ``dg dev`` and the daemon load too), unless set."""
    path = (project_dir or Path(__file__).resolve().parents[1]) / ".env"
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            os.environ.setdefault(name.strip(), value.strip().strip('"').strip("'"))


# Dagster's console logger prints every event; the main job shows warnings, progress and its summary.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class RunFailed(Exception):
    """A Dagster run of the main job failed; the message names the run, the step and the error."""


def _raise_on_failure(result, what: str) -> None:
    if result.success:
        return
    lines = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            if error is not None and error.cls_name == "DagsterExecutionInterruptedError":
                raise KeyboardInterrupt("the run was interrupted")  # SIGINT or SIGTERM (Dagster maps it)
            message = (error.message if error else event.message or "").strip().splitlines()
            lines.append(f"  step {event.step_key}: {message[0] if message else 'failed'}")
            lines.extend(f"    {m}" for m in message[1:4])
    raise RunFailed(f"{what} (run {result.run_id}) failed:\n" + ("\n".join(lines) or "  see the run in the Dagster UI"))


_interrupted: list[int] = []


def _terminate_on_sigterm() -> None:
    """SIGTERM stops the run like Ctrl-C does: workers are stopped and nothing half-done is published."""
    import signal

    def interrupt(signum, frame):
        _interrupted.append(signum)
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def _report_is_current(settings) -> bool:
    """The report was rendered after the warehouse was published (a run killed between the two
    published the warehouse only: then the build job runs again and renders the report)."""
    from fms_pipeline import storage

    report, built = settings.reports_path / "report.html", settings.warehouse_path
    if not storage.is_local(report) or not storage.is_local(built):
        return storage.file_version(report) is not None
    try:
        return Path(report).stat().st_mtime_ns >= Path(built).stat().st_mtime_ns
    except FileNotFoundError:
        return False


def _owner_tags() -> dict[str, str]:
    """Which process runs a run in-process: if it is killed, the next CLI can tell its runs are dead."""
    import socket

    return {"fms/cli_host": socket.gethostname(), "fms/cli_pid": str(os.getpid())}


def fail_abandoned_runs(instance) -> list[str]:
    """Runs a `fms-pipeline materialize` on this machine started and that are still recorded as
    running although its process is gone (SIGKILL, a crash): marked failed, their claims on the
    concurrency pool freed. Left alone, the killed build's slot of the warehouse writers' pool
    (limit 1) would make every later build wait for ever."""
    import socket

    import dagster as dg

    from fms_pipeline.storage import process_alive

    abandoned = []
    host = socket.gethostname()
    unfinished = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.NOT_STARTED,
                  dg.DagsterRunStatus.CANCELING]
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=unfinished, tags={"fms/cli_host": host})):
        pid = run.tags.get("fms/cli_pid", "")
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            instance.report_run_failed(run, f"the fms-pipeline process that ran it (pid {pid}) is gone")
            abandoned.append(run.run_id)
    return abandoned


def materialize(data_dir: Path | str | None = None, full: bool = False, settings=None) -> int:
    """Process new, changed and outdated files in ``DATA_DIR/raw`` (every file with ``full``),
    drop deleted ones and rebuild the warehouse and the report, as Dagster runs recorded in
    DAGSTER_HOME, planned by the same code as the sensor. Returns the exit code."""
    ensure_dagster_home()
    load_project_env()
    from fms_pipeline import batches, progress, warehouse, workers
    from fms_pipeline.settings import Settings

    settings = settings or Settings.from_env(data_dir)
    # A bad FMS_WORKERS is one clear line, before anything runs.
    n_workers = workers.worker_processes(settings.workers)
    scan, plans = batches.plan_from_storage(settings.raw_dir, settings.staging_dir, full=full)
    groups = batches.run_groups(plans, settings.buckets_per_run)
    counts = batches.summarize(plans, scan)
    print(f"{counts['files']} raw file(s) in {settings.raw_dir}: {counts['new']} new, {counts['changed']} changed, "
          f"{counts['deleted']} deleted, {counts['outdated']} made by older rules; "
          f"{counts['to_process'] + counts['nlp_pending']} to process in {counts['buckets_with_work']} batch(es), "
          f"{len(groups)} run(s)")
    if not groups and warehouse.is_current(settings.staging_dir, settings.warehouse_path) and _report_is_current(settings):
        print("nothing to do: the warehouse is up to date")
        print_summary(settings.warehouse_path, warehouse)
        return 0
    _terminate_on_sigterm()
    if (workers.usable_workers(n_workers, counts["to_process"], workers.PARSE_ITEMS_PER_WORKER_MIN) > 1
            or workers.usable_workers(n_workers, counts["to_process"] + counts["nlp_pending"]) > 1):
        # The workers' fork server loads the pipeline (~4 s on one core) while this process imports
        # Dagster and starts the run (~3 s on the other), not after.
        workers.start_fork_server()
    import dagster as dg

    from fms_pipeline.definitions import build_definitions
    from fms_pipeline.defs.automation import build_warehouse_job, partition_tags, process_files_job
    from fms_pipeline.defs.ingest import FULL_TAG

    defs = build_definitions(settings.data_dir)
    progress.listen(progress.Reporter())
    try:
        with dg.DagsterInstance.get() as instance:
            for run_id in fail_abandoned_runs(instance):
                print(f"run {run_id} of a killed fms-pipeline process: marked failed, its writer slot freed",
                      file=sys.stderr)
            for group in groups:
                tags = {**partition_tags(batches.bucket_range(group)), **_owner_tags()}
                if full:
                    tags[FULL_TAG] = "true"
                result = defs.resolve_job_def(process_files_job.name).execute_in_process(
                    instance=instance, tags=tags, run_config=_QUIET, raise_on_error=False)
                _raise_on_failure(result, f"processing batches {group[0]}..{group[-1]}")
            workers.stop_fork_server()  # runs that parsed and had no NLP to do: the build needs no pipeline
            result = defs.resolve_job_def(build_warehouse_job.name).execute_in_process(
                instance=instance, tags=_owner_tags(), run_config=_QUIET, raise_on_error=False)
            _raise_on_failure(result, "the warehouse build")
            build = next((e.materialization.metadata for e in result.get_asset_materialization_events()
                          if e.asset_key == dg.AssetKey(["warehouse", "documents"])), {})
            if "build" in build:
                print(f"warehouse build: {build['build'].value}, {build['batches_rebuilt'].value} batch(es), "
                      f"{build['documents_loaded'].value} document(s) loaded, "
                      f"{build['documents_removed'].value} removed")
    except RunFailed as failure:
        if _interrupted:  # the run failed because we were told to stop
            print("interrupted: workers stopped, nothing half-done was published; run again to finish",
                  file=sys.stderr)
            return 130
        print(str(failure), file=sys.stderr)
        print("nothing was published by the failed run; the warehouse is as it was", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: workers stopped, nothing half-done was published; run again to finish", file=sys.stderr)
        return 130
    finally:
        progress.listen(None)
    print_summary(settings.warehouse_path, warehouse)
    return 0


def print_summary(warehouse_path, warehouse) -> None:
    from fms_pipeline import storage

    with storage.local_copy(warehouse_path) as local, warehouse.connect_read_only(local) as con:
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
        files = con.execute("SELECT count(*), count(*) FILTER (status = 'staged'), coalesce(sum(skipped_records), 0) "
                            "FROM source_files").fetchall()[0]
        outcomes = con.execute(
            "SELECT drug, outcome, mentions FROM drug_outcomes ORDER BY mentions DESC, drug LIMIT 6").fetchall()
    print(f"\nWarehouse {warehouse_path}")
    print(f"  source_files     {files[0]:>8}  ({files[1]} staged, {files[0] - files[1]} rejected, "
          f"{files[2]} records skipped)")
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
    from fms_pipeline import storage

    try:
        safe_query.read_statement(sql)  # refused before a remote warehouse is downloaded
        with storage.local_copy(warehouse_path) as local:
            safe_query.show_query(local, sql, max_rows=max_rows)
    except safe_query.RefusedQuery as error:
        print(error, file=sys.stderr)
        return 1
    except OSError as error:  # an object store that cannot be reached, a warehouse not there yet
        print(f"cannot read {warehouse_path}: {getattr(error, 'strerror', None) or error}", file=sys.stderr)
        return 1
    return 0


def _as_path(text: str):
    from fms_pipeline.storage import as_path

    return as_path(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fms-pipeline", description=__doc__)
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder (or s3://bucket/prefix) holding raw/, staging/ and warehouse.duckdb "
             "(default: $FMS_DATA_DIR or ./data)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("materialize", help="process new and changed files in DATA_DIR/raw and build the warehouse")
    m.add_argument("--full", action="store_true", help="re-process every file, changed or not")
    w = sub.add_parser("watch", help="keep the main job loaded and run it whenever DATA_DIR/raw changes "
                                     "(a file dropped in is in the warehouse and the report seconds later)")
    w.add_argument("--interval", type=float, default=1.0, help="seconds between looks at the raw folder (default 1)")
    q = sub.add_parser("query", help="run a read-only SQL query against the warehouse")
    q.add_argument("sql", help="the query, or @file.sql to read it from a file")
    q.add_argument("--max-rows", type=int, default=40)
    e = sub.add_parser("evaluate", help="PsyTAR outcome F1 per label, DrugLib review figures, DRUG/CONDITION "
                                        "precision and recall, misspelling recall")
    e.add_argument("--file", type=Path, default=None,
                   help="a PsyTAR-format TSV (default: DATA_DIR/psytar/sentences_dev.tsv, else the project's copy)")
    sh = sub.add_parser("share", help="write a shareable copy: authors pseudonymised, people masked")
    sh.add_argument("--out", type=_as_path, default=None,
                    help="default: $FMS_SHARE_PATH or DATA_DIR/share/warehouse.duckdb (a path or s3:// URL)")
    t = sub.add_parser("train-outcomes", help="retrain the outcome classifier (PsyTAR) and the sentiment "
                                              "regressor (data/druglib)")
    t.add_argument("--file", type=Path, default=None,
                   help="default: DATA_DIR/psytar/sentences_train.tsv, else the project's copy")
    t.add_argument("--keep-settings", action="store_true",
                   help="refit with the shipped model's penalties, weak-label weights and thresholds instead of "
                        "choosing them again by cross-validation (after a change to the features)")
    x = sub.add_parser("export-nlp", help="save the spaCy pipeline to a folder that spacy.load reads")
    x.add_argument("path", type=Path, help="the folder to write (created; files in it are replaced)")
    args = parser.parse_args(argv)
    from fms_pipeline.settings import Settings

    try:
        settings = Settings.from_env(args.data_dir)  # every command: --data-dir, else FMS_DATA_DIR
    except ValueError as error:  # a setting that cannot be used, e.g. FMS_BUCKETS_PER_RUN=abc
        print(f"fms-pipeline: {error}", file=sys.stderr)
        return 2
    if args.command == "materialize":
        try:
            return materialize(full=args.full, settings=settings)
        except ValueError as error:  # a setting that cannot be used, e.g. FMS_WORKERS=abc
            print(f"fms-pipeline: {error}", file=sys.stderr)
            return 2
    if args.command == "watch":
        from fms_pipeline import watching

        if not args.interval > 0:
            print(f"fms-pipeline watch: --interval {args.interval:g}: expected a number of seconds above 0",
                  file=sys.stderr)
            return 2
        ensure_dagster_home()
        load_project_env()
        sys.stdout.reconfigure(line_buffering=True)  # a long-lived process: each line as it is printed

        def run() -> int:
            try:
                return materialize(settings=settings)
            finally:  # Dagster points SIGTERM at SIGINT's handler (ignored in a background job)
                _terminate_on_sigterm()

        _terminate_on_sigterm()
        try:
            return watching.watch(settings, run, interval=args.interval,
                                  restart=watching.restart_with(argv if argv is not None else sys.argv[1:]))
        except KeyboardInterrupt:
            print("stopped watching", file=sys.stderr)
            return 130
    if args.command == "share":
        import duckdb

        from fms_pipeline import privacy, storage

        out = args.out or settings.shareable_path
        try:
            # A warehouse on an object store is read from a local download (never the same file as out).
            secret = Settings.share_secret()
            with storage.local_copy(settings.warehouse_path) as private:
                if storage.is_local(out):
                    counts = privacy.write_shareable_copy(private, out, secret)
                else:  # written locally, uploaded in one PUT
                    with storage.atomic_write(out) as tmp:
                        counts = privacy.write_shareable_copy(private, tmp, secret)
        except privacy.ShareRefused as error:  # no secret, no warehouse, --out is the private warehouse
            print(error, file=sys.stderr)
            return 2
        except (OSError, duckdb.Error) as error:
            print(f"share failed: {str(error).splitlines()[0] if str(error) else type(error).__name__}", file=sys.stderr)
            return 1
        print(f"wrote {out}: {counts['comments']} comments, {counts['entity_mentions']} mentions; "
              "authors pseudonymised; people, contact details, addresses and ID numbers masked in every text")
        return 0
    if args.command == "export-nlp":
        if args.path.exists() and not args.path.is_dir():
            print(f"{args.path}: exists and is not a folder", file=sys.stderr)
            return 1
        from fms_pipeline.nlp import load_nlp

        load_nlp(settings.spacy_model or None).to_disk(args.path)
        print(f"wrote {args.path}: load it with "
              f"`import fms_pipeline.nlp; spacy.load({str(args.path)!r})`")
        return 0
    if args.command in ("evaluate", "train-outcomes"):
        from fms_pipeline.nlp import evaluation, outcome_model, shared_nlp

        name = "sentences_train.tsv" if args.command == "train-outcomes" else "sentences_dev.tsv"
        if args.file is None:
            in_data = settings.psytar_dir / name
            args.file = in_data if in_data.exists() else evaluation.REPO_DATA / "psytar" / name
        if not args.file.exists():
            print(f"{args.file}: no such file", file=sys.stderr)
            return 1
        try:
            if args.command == "train-outcomes":
                info = evaluation.train_models(shared_nlp(settings.spacy_model or None), args.file,
                                               keep_settings=args.keep_settings)
                print(f"wrote {outcome_model.model_path()} and {outcome_model.sentiment_model_path()}\n"
                      + json.dumps(info, indent=2))
                return 0
            print(evaluation.full_report(shared_nlp(settings.spacy_model or None), args.file))
        except (ValueError, OSError) as error:  # a file that is not what it should be: one line naming it
            print(f"fms-pipeline {args.command}: {error}", file=sys.stderr)
            return 1
        return 0
    return query(settings.warehouse_path, args.sql, args.max_rows)


if __name__ == "__main__":
    raise SystemExit(main())
