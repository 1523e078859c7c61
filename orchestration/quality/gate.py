"""Run a set of suites against the build database: the core of a quality gate, without Dagster.

`run_gate` opens the build database read-only, draws each suite's batch (batches.py), validates
it with GX (session.py), builds the Data Docs and returns one SuiteOutcome per (suite, asset).
The Dagster checks (orchestration/defs/quality.py) turn the outcomes into asset check results;
tests call `run_gate` directly on small DuckDB files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from orchestration.quality.batches import Batch, BatchError, draw_batch
from orchestration.quality.results import SuiteOutcome
from orchestration.quality.suites import SuiteError, SuiteFile

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Target:
    """A suite applied to one asset it guards (`asset` as `raw/deals`)."""

    suite: SuiteFile
    asset: str

    @property
    def asset_name(self) -> str:
        return self.asset.rsplit("/", 1)[-1]


@dataclass
class GateReport:
    outcomes: list[SuiteOutcome] = field(default_factory=list)
    docs_index: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def blocking(self) -> list[SuiteOutcome]:
        return [o for o in self.outcomes if o.blocks]

    def failure_message(self, gate: str) -> str:
        lines = [line for o in self.blocking for line in o.failure_lines()]
        head = (
            f"{gate}: {len(lines)} blocking expectation(s) failed in "
            f"{len(self.blocking)} suite(s); nothing downstream of them runs in this run"
        )
        tail = f"Data Docs: {self.docs_index}" if self.docs_index else ""
        return "\n".join([head, *(f"  - {line}" for line in lines), tail]).rstrip()


def run_gate(
    build_db: Path,
    targets: list[Target],
    parameters: Mapping[str, object],
    warehouse_dir: Path,
    run_name: str,
    prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    duckdb_config: Mapping[str, object] | None = None,
) -> GateReport:
    """Validate every target; `parameters` fill `$name` in batch SQL and `$PARAMETER` values
    in expectations (per target, `asset_name` is added). `prepare` runs once on the connection
    first (e.g. to register reference code sets as temp tables).

    One worker thread owns the DuckDB connection and draws the next batch while GX imports
    (~3 s) and validates the current one: DuckDB works on the second core without the GIL.
    At most two batches are in memory."""
    report = GateReport()
    started = time.perf_counter()
    con = duckdb.connect(str(build_db), read_only=True, config=dict(duckdb_config or {}))

    def draw(target: Target) -> tuple[Batch | None, str | None, float]:
        t0 = time.perf_counter()
        try:
            batch = draw_batch(con, target.suite, _params(parameters, target))
            return batch, None, time.perf_counter() - t0
        except BatchError as exc:
            return None, str(exc), time.perf_counter() - t0

    def keyed_frame(worker: ThreadPoolExecutor, target: Target) -> pd.DataFrame:
        """The target's batch with its key columns, drawn by the worker (it owns `con`)."""

        def draw_keyed() -> pd.DataFrame:
            params = _params(parameters, target)
            return draw_batch(con, target.suite, params, with_key=True).frame

        return worker.submit(draw_keyed).result()

    pull = validate = 0.0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="quality-batches") as worker:
        try:
            if prepare:
                worker.submit(prepare, con).result()
            pending: Future | None = worker.submit(draw, targets[0]) if targets else None
            from orchestration.quality.session import GxSession

            session = GxSession(warehouse_dir, run_name)
            report.timings["gx_setup_s"] = time.perf_counter() - started
            for i, target in enumerate(targets):
                assert pending is not None
                batch, error, seconds = pending.result()
                pending = worker.submit(draw, targets[i + 1]) if i + 1 < len(targets) else None
                outcome = SuiteOutcome(
                    suite=target.suite.name,
                    suite_path=_display_path(target.suite.path),
                    asset=target.asset,
                    table=target.suite.batch.table,
                    seconds=seconds,
                    error=error,
                )
                pull += seconds
                report.outcomes.append(outcome)
                if batch is None:
                    continue
                outcome.rows = batch.rows
                t1 = time.perf_counter()
                keyed = None if batch.has_key else partial(keyed_frame, worker, target)
                try:
                    session.validate(
                        target.suite, outcome, batch.frame, _params(parameters, target), keyed
                    )
                except SuiteError as exc:
                    outcome.error = str(exc)
                validate += time.perf_counter() - t1
        finally:
            worker.submit(con.close).result()
    report.timings["pull_s"] = pull
    report.timings["validate_s"] = validate
    t2 = time.perf_counter()
    report.docs_index = session.build_docs(report.outcomes)
    report.timings["data_docs_s"] = time.perf_counter() - t2
    report.timings["total_s"] = time.perf_counter() - started
    return report


def _params(parameters: Mapping[str, object], target: Target) -> dict[str, object]:
    return {**parameters, "asset_name": target.asset_name}


def _display_path(path: Path) -> str:
    from orchestration.settings import PROJECT_DIR

    try:
        return str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)
