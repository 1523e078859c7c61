"""The quality gates (SPEC §7) as Dagster asset checks: every suite under `expectations/`.

Each suite file becomes one blocking check per asset it guards, named `gx_<suite>`. The checks
run in three steps of `nightly_refresh`, each one `@multi_asset_check` (one Data Docs build and
one failure message per step; GX is imported once per run process):

- `raw_partners_quality_gate` guards `raw/partners`, right after its ingestion: deals,
  certifications and incentives refer to partners, so Dagster makes their ingestion wait for
  these blocking checks. (With one raw step, Dagster would split the steps to resolve the cycle
  partners check -> deals ingestion -> deals check, and run dbt in several invocations.)
- `raw_quality_gate` guards the other raw tables. dbt reads them, so the dbt step waits for
  both raw steps: a failed critical expectation stops the run before dbt, and so before
  publish. Bad raw data never reaches BI; warnings are reported only.
- `warehouse_quality_gate` guards the seeds (`reference/*`) and the marts. `publish` depends on
  the marts, so it waits for this step. The seeds are built by the same dbt step as the marts and
  nothing outside it depends on them: their checks share this step so that a failed seed check
  fails the step and blocks publish as well (Dagster skips the steps downstream of a failed one).

A failing critical expectation fails its check (severity ERROR) and then the step, with a
message naming each expectation, the asset, the table and failing keys; publish is skipped, so
yesterday's serving file stays as it was. tests/test_quality_job.py proves it with real runs.
Only the contract blocks (SPEC §7 "What may block"): a critical expectation names the SPEC rule
it enforces in `meta.spec` (suites.py refuses a file where one does not); a plausibility rule is
a warning, whose failure shows as a WARN check and in the Data Docs and never blocks.
"""

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from orchestration.ingest.contract import ENTITIES
from orchestration.ingest.reference import register_reference
from orchestration.ingest.settle import settle_pending_loads
from orchestration.names import RAW_KEYS as RAW_ASSET_KEYS
from orchestration.names import WRITER_POOL, dbt_asset_keys, raw_upstream, seeds_dir_of
from orchestration.quality.check_results import check_result
from orchestration.quality.gate import Target, record_bases, run_gate
from orchestration.quality.parameters import gate_parameters
from orchestration.quality.suites import SuiteFile, load_suites
from orchestration.settings import EXPECTATIONS_DIR
from orchestration.warehouse.resources import Warehouse

RAW_KEYS = set(RAW_ASSET_KEYS)
DBT_KEYS = set(dbt_asset_keys())
_LAYER_ORDER = {"raw": 0, "reference": 1, "staging": 2, "intermediate": 3, "marts": 4}


def gate_targets(
    suites: list[SuiteFile], known: set[dg.AssetKey]
) -> tuple[list[Target], list[Target]]:
    """(raw gate, warehouse gate) targets; a suite that guards an unknown asset is an error."""
    raw: list[Target] = []
    warehouse: list[Target] = []
    for suite in suites:
        for guard in suite.guards:
            key = dg.AssetKey(list(guard))
            if key in RAW_KEYS:
                raw.append(Target(suite, key.to_user_string()))
            elif key in known:
                warehouse.append(Target(suite, key.to_user_string()))
            else:
                raise ValueError(
                    f"{suite.path}: meta.guards names {key.to_user_string()!r}, which is not an "
                    "asset of this project (e.g. raw/deals, reference/fx_rates, marts/mart_...)"
                )

    def order(t: Target) -> tuple[int, str, str]:
        return (_LAYER_ORDER.get(t.asset.split("/")[0], 9), t.asset, t.suite.name)

    return sorted(raw, key=order), sorted(warehouse, key=order)


SUITES = load_suites(EXPECTATIONS_DIR)
RAW_TARGETS, WAREHOUSE_TARGETS = gate_targets(SUITES, RAW_KEYS | DBT_KEYS)


def _check_key(target: Target) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(target.asset.split("/")), target.suite.check_name)


def _spec(target: Target) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=target.suite.check_name,
        asset=dg.AssetKey(target.asset.split("/")),
        blocking=True,
        description=(target.suite.notes or "")
        + f" Great Expectations suite {target.suite.path.name}; critical expectations block.",
        metadata={"suite_file": dg.MetadataValue.path(str(target.suite.path))},
    )


def run_checks(
    context: dg.AssetCheckExecutionContext,
    warehouse: Warehouse,
    targets: list[Target],
    gate: str,
    seeds_dir: Path,
    prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> Iterator[dg.AssetCheckResult]:
    """Validate the selected targets, yield their results, then fail if any blocks. Code sets
    that a seed holds (partner types, regions) are read from `seeds_dir`."""
    settings = warehouse.settings()
    selected = context.selected_asset_check_keys
    chosen = [t for t in targets if _check_key(t) in selected]
    report = run_gate(
        settings.build_db,
        chosen,
        gate_parameters(settings, context.run.run_id, seeds_dir),
        settings.warehouse_dir,
        run_name=context.run.run_id,
        prepare=prepare,
        duckdb_config=settings.duckdb_config(),
        seeds_dir=seeds_dir,
    )
    if any(o.basis for o in report.outcomes):
        with warehouse.connect() as con:
            record_bases(con, report, context.run.run_id)
    timings = ", ".join(
        f"{k} {v}" if isinstance(v, int) else f"{k} {v:.2f}" for k, v in report.timings.items()
    )
    context.log.info(f"{gate}: {len(chosen)} suite runs; {timings}; Data Docs {report.docs_index}")
    for outcome in report.outcomes:
        yield check_result(outcome, report)
    if report.blocking:
        raise dg.Failure(
            description=report.failure_message(gate),
            metadata={
                "failed": dg.MetadataValue.json(
                    [line for o in report.blocking for line in o.failure_lines()]
                ),
                "data_docs": dg.MetadataValue.path(str(report.docs_index)),
            },
            allow_retries=False,
        )


def _register_reference(seeds_dir: Path, con: duckdb.DuckDBPyConnection) -> None:
    register_reference(con, seeds_dir)


def raw_gate_groups() -> dict[str, list[str]]:
    """Raw entities by gate step: an entity that other raw entities refer to (partners) gets a
    step of its own right after its ingestion, so the entities that refer to it wait for its
    checks; the others share one step. (One step for all would make Dagster split the steps to
    resolve the cycle partners check -> deals ingestion -> deals check.)"""
    deps = {name: {key.path[-1] for key in raw_upstream(e)} for name, e in ENTITIES.items()}
    referenced = set().union(*deps.values())
    groups: dict[str, list[str]] = {}
    for entity in sorted(deps):
        name = f"raw_{entity}_quality_gate" if entity in referenced else "raw_quality_gate"
        groups.setdefault(name, []).append(entity)
    return groups


def raw_gate(name: str, entities: list[str]) -> dg.AssetChecksDefinition:
    targets = [t for t in RAW_TARGETS if t.asset.split("/", 1)[1] in entities]

    @dg.multi_asset_check(
        name=name,
        specs=[_spec(t) for t in targets],
        can_subset=True,
        pool=WRITER_POOL,
        description=f"Great Expectations suites on raw {', '.join(entities)}; blocks what reads "
        "them (dbt, publish, and the ingestion of entities that refer to them).",
    )
    def _gate(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, dbt: DbtCliResource
    ) -> Iterator[dg.AssetCheckResult]:
        # The raw gate runs before dbt: code sets come from the seed files, as in the loader.
        seeds_dir = seeds_dir_of(dbt.project_dir)
        prepare = partial(_register_reference, seeds_dir)
        label = f"raw quality gate ({', '.join(entities)})"
        checks = run_checks(context, warehouse, targets, label, seeds_dir, prepare)
        yield from settle_pending_loads(context, warehouse, entities, checks)

    return _gate


@dg.multi_asset_check(
    name="warehouse_quality_gate",
    specs=[_spec(t) for t in WAREHOUSE_TARGETS],
    can_subset=True,
    pool=WRITER_POOL,
    description="Great Expectations suites on the seeds and marts; blocks publish.",
)
def warehouse_quality_gate(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse, dbt: DbtCliResource
) -> Iterator[dg.AssetCheckResult]:
    yield from run_checks(
        context,
        warehouse,
        WAREHOUSE_TARGETS,
        "warehouse quality gate",
        seeds_dir_of(dbt.project_dir),
    )


raw_quality_gates = [raw_gate(name, entities) for name, entities in raw_gate_groups().items()]
quality_checks = [*raw_quality_gates, warehouse_quality_gate]
