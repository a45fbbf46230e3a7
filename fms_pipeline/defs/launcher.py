"""The run launcher of deploy/dagster-postgres.yaml: Dagster's default launcher (each run a process
started by the code server the daemon talks to), plus the health check run monitoring needs.

Dagster's ``DefaultRunLauncher`` cannot say whether a run's process is alive, so run monitoring
leaves a run whose machine died (the daemon, its code server and the run process killed together)
in STARTED for ever, holding the warehouse writers' pool slot. This launcher asks the code server
that started the run (recorded in the run's ``dagster/grpc_info`` tag) whether it still executes
it: no answer, or an answer without the run, and monitoring marks the run failed; the instance's
``run_retries`` then start a new run and ``free_slots_after_run_end_seconds`` frees the slot.

A run without that tag (``fms-pipeline materialize``, ``execute_in_process``) runs in a process
the instance knows nothing about: it is reported running, as Dagster does for every run today.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.tags import GRPC_INFO_TAG


class MonitoredRunLauncher(dg.DefaultRunLauncher):
    """``DefaultRunLauncher`` whose runs run monitoring can check (``run_monitoring.enabled``)."""

    # Seconds to wait for the code server's answer, and tries before a run is declared dead (a
    # busy code server answers late; a dead one refuses the connection at once).
    TIMEOUT = 10
    TRIES = 2

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        from dagster._grpc.types import CanCancelExecutionRequest, CanCancelExecutionResult
        from dagster._serdes import deserialize_value

        if GRPC_INFO_TAG not in run.tags:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not launched through a code server: not checked")
        client = self._get_grpc_client_for_termination(run.run_id)
        if client is None:  # finished meanwhile
            return CheckRunHealthResult(WorkerStatus.SUCCESS, "the run has finished")
        error: Exception | None = None
        for _ in range(self.TRIES):
            try:
                answer = deserialize_value(
                    client.can_cancel_execution(CanCancelExecutionRequest(run_id=run.run_id), timeout=self.TIMEOUT),
                    CanCancelExecutionResult)
            except Exception as exc:  # unreachable: the server (and the runs it started) is gone
                error = exc
                continue
            if answer.can_cancel:
                return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=run.tags[GRPC_INFO_TAG])
            return CheckRunHealthResult(
                WorkerStatus.FAILED, f"the code server at {run.tags[GRPC_INFO_TAG]} no longer runs it "
                "(restarted since the run started, or the run's process died)")
        return CheckRunHealthResult(
            WorkerStatus.FAILED, f"the code server that started it ({run.tags[GRPC_INFO_TAG]}) does not answer: "
            f"{type(error).__name__}")
