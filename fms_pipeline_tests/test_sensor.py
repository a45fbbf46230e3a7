"""The sensor and the daily schedule plan with the same code as the CLI: batches with new,
changed, deleted or outdated files get a run; nothing else does."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from fms_pipeline import batches, staging
from fms_pipeline.definitions import build_definitions
from fms_pipeline.defs.automation import daily_refresh_schedule, process_files_job, raw_files_sensor
from fms_pipeline.defs.resources import settings_from_env

SAMPLE = "duke-stanford-opioid-fibromyalgia-study.txt"
# The files added after the sample: the plans depend on their names and versions, not their size.
THREAD = "A post about pain\n\nI take Lyrica for fibro.\n\nNotify of\nKim Lee\n\nMethadone helped me.\n"


def evaluate(instance, data_dir: Path, cursor: str | None = None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                      resources={"settings": settings_from_env(str(data_dir))})
    return raw_files_sensor(context)


def run(defs, instance, request: dg.RunRequest) -> None:
    assert defs.resolve_job_def(process_files_job.name).execute_in_process(
        instance=instance, tags=request.tags).success


def test_sensor_runs_batches_with_new_changed_and_deleted_files(data_dir: Path):
    raw = data_dir / "raw"
    defs = build_definitions(str(data_dir))
    with dg.instance_for_test() as instance:
        first = evaluate(instance, data_dir)
        [request] = first.run_requests
        assert request.job_name == "process_files"
        assert request.tags == {"dagster/partition": staging.bucket_of(SAMPLE)}
        assert len(first.cursor) == 16  # a hash of the folder, not every file's fingerprint
        # Asked again before the run ran: the same run key, so Dagster starts it once.
        assert evaluate(instance, data_dir, first.cursor).run_requests[0].run_key == request.run_key
        run(defs, instance, request)
        assert isinstance(evaluate(instance, data_dir, first.cursor), dg.SkipReason)

        # New files in several buckets: runs cover only the buckets from the first to the last with work.
        for name in ("b new.txt", "sub/c.txt", "d.txt", "e.txt"):
            (raw / name).parent.mkdir(exist_ok=True)
            (raw / name).write_text(THREAD)
        second = evaluate(instance, data_dir)
        covered = set()
        for r in second.run_requests:
            covered |= set(batches.bucket_range([r.tags.get("dagster/partition") or r.tags[
                "dagster/asset_partition_range_start"], r.tags.get("dagster/partition") or r.tags[
                "dagster/asset_partition_range_end"]]))
        assert {staging.bucket_of(n) for n in ("b new.txt", "sub/c.txt", "d.txt", "e.txt")} <= covered
        for r in second.run_requests:
            run(defs, instance, r)
        assert isinstance(evaluate(instance, data_dir), dg.SkipReason)

        # A deleted file: a run for its bucket (its rows leave there); deleted again after coming
        # back: a new run key, so the deletion is never skipped as "already done".
        keys = []
        for _ in range(2):
            (raw / "d.txt").unlink()
            [gone] = evaluate(instance, data_dir).run_requests
            assert gone.tags == {"dagster/partition": staging.bucket_of("d.txt")}
            keys.append(gone.run_key)
            run(defs, instance, gone)
            (raw / "d.txt").write_text(THREAD)
            [back] = evaluate(instance, data_dir).run_requests
            run(defs, instance, back)
        assert keys[0] != keys[1]
        state = staging.read_state(data_dir / "staging")
        assert sorted(state["source_file"]) == sorted([SAMPLE, "b new.txt", "sub/c.txt", "d.txt", "e.txt"])


def test_sensor_leaves_a_batch_to_the_run_already_on_it(data_dir: Path):
    """A queued or running run's batches get no second run (its progress would change their run key);
    once that run has failed, they are planned again."""
    defs = build_definitions(str(data_dir))
    with dg.instance_for_test() as instance:
        [request] = evaluate(instance, data_dir).run_requests
        running = instance.create_run_for_job(defs.resolve_job_def(process_files_job.name), tags=request.tags,
                                              status=dg.DagsterRunStatus.STARTED)
        skipped = evaluate(instance, data_dir)
        assert isinstance(skipped, dg.SkipReason) and "1 batch(es) runs already work on" in skipped.skip_message
        instance.report_run_failed(running)
        [again] = evaluate(instance, data_dir).run_requests
        assert again.tags == request.tags


def test_daily_schedule_plans_like_the_sensor(data_dir: Path, monkeypatch):
    defs = build_definitions(str(data_dir))
    resources = {"settings": settings_from_env(str(data_dir))}
    with dg.instance_for_test() as instance:
        def evaluate_schedule():
            return daily_refresh_schedule(dg.build_schedule_context(instance=instance, resources=resources))

        [request] = evaluate_schedule()  # nothing processed yet
        assert request.run_key == evaluate(instance, data_dir).run_requests[0].run_key
        run(defs, instance, request)
        assert isinstance(evaluate_schedule(), dg.SkipReason)  # an ordinary day costs nothing
        # New rules, vocabularies or model: the files made by the old ones are work again.
        monkeypatch.setattr(batches, "pipeline_version", lambda: "other rules")
        [request] = evaluate_schedule()
        assert request.tags == {"dagster/partition": staging.bucket_of(SAMPLE)}
