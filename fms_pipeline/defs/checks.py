"""Asset checks: the warehouse invariants, run on staged data before the warehouse is built.

They are blocking: in a run that also builds the warehouse, a failure stops the build, and the
build itself refuses staged data that break them, so bad data never reach the warehouse.
"""

import dagster as dg

from fms_pipeline import tables, warehouse
from fms_pipeline.defs.metadata import markdown_list
from fms_pipeline.defs.resources import PipelineSettings
from fms_pipeline.warehouse import contract

# check SQL file -> (asset it guards, description), from each file's header
CHECKS = warehouse.check_descriptions()


def _buckets_of_run(context: dg.AssetCheckExecutionContext) -> set[str] | None:
    """The buckets this run processed, or None (check everything) outside such a run: the others
    were checked by the runs that processed them."""
    tags = context.run.tags
    if "dagster/partition" in tags:
        return {tags["dagster/partition"]}
    if "dagster/asset_partition_range_start" in tags:
        from fms_pipeline import staging

        every = staging.all_buckets()
        start, end = tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]
        if start in every and end in every:
            return set(every[every.index(start):every.index(end) + 1])
    return None


def _check_results(context: dg.AssetCheckExecutionContext, settings: PipelineSettings):
    names = [key.name for key in context.selected_asset_check_keys]
    buckets = _buckets_of_run(context)
    failures = warehouse.check_staging(settings.staging_dir, names, buckets=buckets)
    for spec_key in context.selected_asset_check_keys:
        rows = failures.get(spec_key.name, [])
        yield dg.AssetCheckResult(
            check_name=spec_key.name,
            asset_key=spec_key.asset_key,
            passed=not rows,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "failing_rows": len(rows),
                "buckets_checked": len(buckets) if buckets is not None else "all",
                "examples": markdown_list(rows[:10]),
            },
        )


def _specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=asset, description=description, blocking=True)
        for name, (checked, description) in CHECKS.items()
        if checked == asset
    ]


def _staged_asset_checks(asset: str) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(specs=_specs(asset), can_subset=True, name=f"{asset}_checks")
    def _checks(context: dg.AssetCheckExecutionContext, settings: PipelineSettings):
        yield from _check_results(context, settings)

    return _checks


# One check step per staged asset a check file guards, so the comment checks run before the NLP
# and can stop it.
STAGED_CHECKS = [_staged_asset_checks(asset) for asset in sorted({asset for asset, _ in CHECKS.values()})]


def _contract_check_name(table: str) -> str:
    return f"{table}_declared_tests"


def _contract_specs() -> list[dg.AssetCheckSpec]:
    # One check per table, not one per declared test: each check costs Dagster ~3 events in its
    # event log (~20 ms of CPU each), and 147 of them made a build's run 531 events and a small
    # update ~9 s of CPU slower; the failing tests of a table are listed in its check's metadata.
    specs = []
    for table in tables.TABLES.values():
        tests = list(contract.test_queries(table))
        if tests:
            specs.append(dg.AssetCheckSpec(
                _contract_check_name(table.name), asset=["warehouse", table.name],
                description=f"The {len(tests)} declared tests of {table.name} "
                            f"({table.sql_file.replace('.sql', '.yml')}): {', '.join(tests)}; the build enforces them."))
    return specs


@dg.multi_asset_check(specs=_contract_specs(), can_subset=True, name="warehouse_contract_tests")
def warehouse_contract_tests(context: dg.AssetCheckExecutionContext, settings: PipelineSettings):
    """The declared tests of every warehouse table, on the published warehouse (a build that breaks
    one is never published, so these show what the UI's user relies on); one check per table."""
    from fms_pipeline import storage

    selected = {key.name for key in context.selected_asset_check_keys}
    with storage.local_copy(settings.warehouse_path) as path, warehouse.connect_read_only(path) as con:
        yield from contract_results(con, selected)


def contract_results(con, selected: set[str]):
    """An AssetCheckResult per table whose check is ``selected``: failed when any of its declared
    tests finds rows, the failing tests and examples in its metadata."""
    chosen = [table for table in tables.TABLES.values() if _contract_check_name(table.name) in selected]
    queries = {table.name: contract.test_queries(table) for table in chosen}
    found = contract.failing_rows(con, {test: q for by_test in queries.values() for test, q in by_test.items()})
    for table in chosen:
        name = _contract_check_name(table.name)
        failing = {test: found[test] for test in queries[table.name] if test in found}
        yield dg.AssetCheckResult(
            check_name=name, asset_key=dg.AssetKey(["warehouse", table.name]), passed=not failing,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"tests": len(queries[table.name]), "failing_tests": ", ".join(failing) or "none",
                      "failing_rows": sum(len(rows) for rows in failing.values()),
                      "examples": markdown_list([(test, f"{item}: {problem}") for test, rows in failing.items()
                                                 for item, problem in rows[:10]])})


@dg.asset_check(asset=["warehouse", "entity_counts"], description="entity_counts adds up to entity_mentions.")
def entity_counts_add_up(settings: PipelineSettings) -> dg.AssetCheckResult:
    from fms_pipeline import storage

    with storage.local_copy(settings.warehouse_path) as path, warehouse.connect_read_only(path) as con:
        counted, listed = con.execute(
            "SELECT (SELECT coalesce(sum(mentions), 0) FROM entity_counts), (SELECT count(*) FROM entity_mentions)"
        ).fetchall()[0]
    return dg.AssetCheckResult(passed=counted == listed, metadata={"sum_of_counts": counted, "mentions": listed})


SIGNALS_KEY = dg.AssetKey(["warehouse", "drug_event_signals"])


@dg.asset_check(
    asset=SIGNALS_KEY, blocking=False,
    description="Drug–event pairs that became signals (any of Evans, ROR025 > 1, IC025 > 0, EB05 >= 2, per "
                "grouping and unit) since the previous materialization. Warns, never blocks: new signals are news.",
)
def new_drug_event_signals(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    records = context.instance.fetch_materializations(SIGNALS_KEY, limit=2).records

    def pairs(record) -> list[str]:
        value = record.asset_materialization.metadata.get("signal_pairs") if record.asset_materialization else None
        return list(value.value) if value is not None else []

    current = pairs(records[0]) if records else []
    previous = pairs(records[1]) if len(records) > 1 else []
    # Sets made once: made for each pair they cost O(pairs^2), 0.13 s a run at 1M words.
    previously, currently = set(previous), set(current)
    new = [p for p in current if p not in previously]
    gone = [p for p in previous if p not in currently]
    return dg.AssetCheckResult(
        passed=not new,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(new)} new signal(s) since the previous materialization" if new else "no new signal",
        metadata={
            "new_signals": len(new),
            "no_longer_signals": len(gone),
            "signals": len(current),
            "first_materialization": len(records) < 2,
            "new": markdown_list([(p.split(": ", 1)[0], p.split(": ", 1)[1]) for p in new[:50]]),
        },
    )
