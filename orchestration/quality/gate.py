"""Run a set of suites against the build database: the core of a quality gate, without Dagster.

`run_gate` opens the build database read-only, draws each suite's batch (batches.py), validates
it with GX (session.py), builds the Data Docs and returns one SuiteOutcome per (suite, asset).
The Dagster checks (orchestration/defs/quality/checks.py) turn the outcomes into asset check
results; tests call `run_gate` directly on small DuckDB files.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from orchestration.quality.batches import (
    Batch,
    BatchError,
    BatchQuery,
    batch_from_arrow,
    batch_query,
    draw_batch,
    run_batch_query,
)
from orchestration.quality.memo import ValidationMemo, batch_key, rows_fingerprint
from orchestration.quality.results import SuiteOutcome
from orchestration.quality.suites import SuiteError, SuiteFile

if TYPE_CHECKING:
    import pandas as pd

    from orchestration.quality.session import GxSession


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
    timings: dict[str, float | int] = field(default_factory=dict)

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
    reuse: bool = False,
) -> GateReport:
    """Validate every target; `parameters` fill `$name` in batch SQL and `$PARAMETER` values
    in expectations (per target, `asset_name` is added). `prepare` runs once on the connection
    first (e.g. to register reference code sets as temp tables). `reuse`: a target whose batch,
    suite and parameters are those of its last passing validation reports that result instead
    of being validated again (memo.py).

    One worker thread owns the DuckDB connection and draws the next batch while GX imports
    (~3 s) and validates the current one: DuckDB works on the second core without the GIL.
    At most two batches are in memory."""
    report = GateReport()
    started = time.perf_counter()
    con = duckdb.connect(str(build_db), read_only=True, config=dict(duckdb_config or {}))
    memo = ValidationMemo(warehouse_dir) if reuse else None

    def draw(target: Target) -> Drawn:
        t0 = time.perf_counter()
        params = _params(parameters, target)
        drawn = Drawn()
        try:
            query = batch_query(con, target.suite, params)
            rows = run_batch_query(con, target.suite, query)
            if memo is not None:
                with contextlib.suppress(duckdb.Error):  # no key: validated, not remembered
                    fingerprint = rows_fingerprint(con, rows)
                    drawn.key = f"{_base_key(target, query, params)}:{fingerprint}"
                    drawn.reused = memo.lookup(_memo_id(target), drawn.key)
            if drawn.reused is None:
                drawn.batch = batch_from_arrow(target.suite, query, rows)
        except BatchError as exc:
            drawn.error = str(exc)
        drawn.seconds = time.perf_counter() - t0
        return drawn

    def keyed_frame(worker: ThreadPoolExecutor, target: Target) -> pd.DataFrame:
        """The target's batch with its key columns, drawn by the worker (it owns `con`)."""

        def draw_keyed() -> pd.DataFrame:
            params = _params(parameters, target)
            return draw_batch(con, target.suite, params, with_key=True).frame

        return worker.submit(draw_keyed).result()

    pull = validate = 0.0
    session: GxSession | None = None
    keys: dict[int, str | None] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="quality-batches") as worker:
        try:
            if prepare:
                worker.submit(prepare, con).result()
            pending: Future | None = worker.submit(draw, targets[0]) if targets else None
            for i, target in enumerate(targets):
                assert pending is not None
                drawn: Drawn = pending.result()
                pending = worker.submit(draw, targets[i + 1]) if i + 1 < len(targets) else None
                pull += drawn.seconds
                if drawn.reused is not None:
                    report.outcomes.append(drawn.reused)
                    continue
                outcome = SuiteOutcome(
                    suite=target.suite.name,
                    suite_path=_display_path(target.suite.path),
                    asset=target.asset,
                    table=target.suite.batch.table,
                    seconds=drawn.seconds,
                    error=drawn.error,
                )
                report.outcomes.append(outcome)
                keys[id(outcome)] = drawn.key
                if drawn.batch is None:
                    continue
                outcome.rows = drawn.batch.rows
                if session is None:
                    from orchestration.quality.session import GxSession

                    t_setup = time.perf_counter()
                    session = GxSession(warehouse_dir, run_name)
                    report.timings["gx_setup_s"] = time.perf_counter() - t_setup
                t1 = time.perf_counter()
                keyed = None if drawn.batch.has_key else partial(keyed_frame, worker, target)
                try:
                    session.validate(
                        target.suite, outcome, drawn.batch.frame, _params(parameters, target), keyed
                    )
                except SuiteError as exc:
                    outcome.error = str(exc)
                validate += time.perf_counter() - t1
        finally:
            worker.submit(con.close).result()
    report.timings["pull_s"] = pull
    report.timings["validate_s"] = validate
    t2 = time.perf_counter()
    if session is not None:
        report.docs_index = session.build_docs(report.outcomes)
    else:
        index = warehouse_dir / "data_docs" / "index.html"
        report.docs_index = index if index.exists() else None
    report.timings["data_docs_s"] = time.perf_counter() - t2
    if memo is not None:
        report.timings["reused"] = sum(1 for o in report.outcomes if o.reused_from)
        for target, outcome in zip(targets, report.outcomes, strict=True):
            memo.record(_memo_id(target), keys.get(id(outcome)), outcome, run_name)
        memo.save()
    report.timings["total_s"] = time.perf_counter() - started
    return report


@dataclass
class Drawn:
    """What the worker prepared for one target: a batch to validate, or a result to reuse."""

    batch: Batch | None = None
    reused: SuiteOutcome | None = None
    key: str | None = None
    error: str | None = None
    seconds: float = 0.0


def _base_key(target: Target, query: BatchQuery, params: Mapping[str, object]) -> str:
    used = target.suite.parameters_used()
    return batch_key(
        json.dumps(target.suite.raw, sort_keys=True),
        query.sql,
        {k: v for k, v in params.items() if k in used},
    )


def _memo_id(target: Target) -> str:
    return f"{target.suite.name}|{target.asset}"


def _params(parameters: Mapping[str, object], target: Target) -> dict[str, object]:
    return {**parameters, "asset_name": target.asset_name}


def _display_path(path: Path) -> str:
    from orchestration.settings import PROJECT_DIR

    try:
        return str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)
