"""The raw-file sensor registers new files, re-processes changed ones and drops deleted ones."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg

from fms_pipeline.defs.automation import raw_files_sensor
from fms_pipeline.defs.resources import PipelinePaths


def evaluate(instance, data_dir: Path, cursor: str | None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"paths": PipelinePaths(data_dir=str(data_dir))}
    )
    result = raw_files_sensor(context)
    # Apply the partition requests as the daemon would.
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest) and request.partition_keys:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        if isinstance(request, dg.DeleteDynamicPartitionsRequest):
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def test_sensor_registers_new_changed_and_deleted_files(data_dir: Path):
    raw = data_dir / "raw"
    with dg.instance_for_test() as instance:
        first = evaluate(instance, data_dir, None)
        assert instance.get_dynamic_partitions("raw_files") == ["duke-stanford-opioid-fibromyalgia-study.txt"]
        [request] = first.run_requests
        assert request.job_name == "process_files"
        assert request.tags["dagster/asset_partition_range_start"] == "duke-stanford-opioid-fibromyalgia-study.txt"

        # Nothing changed: no run.
        assert evaluate(instance, data_dir, first.cursor).run_requests == []

        # Two new files arrive together: one run covering both, as a range of the new partitions.
        shutil.copy(raw / "duke-stanford-opioid-fibromyalgia-study.txt", raw / "b new.txt")
        (raw / "sub").mkdir()
        (raw / "sub" / "c.txt").write_text("Title\n\nBody.\n")
        second = evaluate(instance, data_dir, first.cursor)
        assert instance.get_dynamic_partitions("raw_files")[1:] == ["b new.txt", "sub/c.txt"]
        [request] = second.run_requests
        assert (request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]) == (
            "b new.txt", "sub/c.txt")

        # A rewritten file is re-processed on its own.
        (raw / "sub" / "c.txt").write_text("Title\n\nA longer body now.\n")
        os.utime(raw / "sub" / "c.txt", ns=(1, 1))
        third = evaluate(instance, data_dir, second.cursor)
        assert [(r.job_name, r.partition_key) for r in third.run_requests] == [("process_files", "sub/c.txt")]

        # A deleted file loses its partition and the warehouse is rebuilt without it.
        (raw / "b new.txt").unlink()
        fourth = evaluate(instance, data_dir, third.cursor)
        assert "b new.txt" not in instance.get_dynamic_partitions("raw_files")
        assert [r.job_name for r in fourth.run_requests] == ["build_warehouse"]


def test_daily_schedule_reprocesses_only_missing_or_outdated_files(data_dir: Path, monkeypatch):
    from fms_pipeline import processing
    from fms_pipeline.definitions import build_definitions
    from fms_pipeline.defs.automation import daily_refresh_schedule, process_files_job, range_tags

    raw = data_dir / "raw"
    shutil.copy(raw / "duke-stanford-opioid-fibromyalgia-study.txt", raw / "second.txt")
    defs = build_definitions(str(data_dir))
    with dg.instance_for_test() as instance:
        keys = ["duke-stanford-opioid-fibromyalgia-study.txt", "second.txt"]
        instance.add_dynamic_partitions("raw_files", keys)

        def evaluate_schedule():
            return daily_refresh_schedule(dg.build_schedule_context(instance=instance))

        # Nothing processed yet: both files.
        request = evaluate_schedule()
        assert isinstance(request, dg.RunRequest) and request.tags == range_tags(keys)
        assert defs.resolve_job_def(process_files_job.name).execute_in_process(
            instance=instance, tags=range_tags(keys)).success
        # All processed with the current rules: an ordinary day costs nothing.
        assert isinstance(evaluate_schedule(), dg.SkipReason)
        # A file that arrived but was not processed: only it.
        instance.add_dynamic_partitions("raw_files", ["third.txt"])
        shutil.copy(raw / "second.txt", raw / "third.txt")
        assert evaluate_schedule().tags == range_tags(["third.txt"])
        # New rules, vocabularies or model: every file.
        monkeypatch.setattr(processing, "pipeline_version", lambda: "other rules")
        assert evaluate_schedule().tags == range_tags(keys + ["third.txt"])
