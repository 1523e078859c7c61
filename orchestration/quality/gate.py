"""Run a set of suites against the build database: the core of a quality gate, without Dagster.

`run_gate` opens the build database read-only and, per (suite, asset):

- computes the suite's figures (`meta.batch.figures`) in DuckDB: one row, validated by the
  expectations that name them (key uniqueness, foreign keys, row counts);
- streams the batch's rows (batches.py) in chunks of at most `chunk_rows` rows and validates
  each chunk with GX (session.py), adding the results up, so that no table is held whole in
  Python. A suite with an expectation that must see every row at once (uniqueness, sums,
  row counts of the rows) is validated on one frame: such suites guard the seeds and marts,
  whose size does not follow the raw tables;
- validates only the rows that this run's loads added or replaced (`meta.batch.changed`) when
  every row was validated under the same *basis*: the suite file, the seeds, the parameters
  the suite uses and the GX and DuckDB versions. A changed suite, seed or version validates
  every row again; `record_bases` keeps the basis once every row passed under it
  (`audit.quality_basis`).

It builds the Data Docs and returns one SuiteOutcome per (suite, asset). The Dagster checks
(orchestration/defs/quality/checks.py) turn the outcomes into asset check results; tests call
`run_gate` directly on small DuckDB files.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from orchestration.quality.batches import (
    BatchError,
    BatchQuery,
    batch_from_arrow,
    batch_query,
    draw_figures,
    next_chunk,
    open_batch,
    whole_batch,
)
from orchestration.quality.results import ExpectationOutcome, SuiteOutcome
from orchestration.quality.suites import SuiteError, SuiteFile

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from orchestration.quality.session import GxSession

# Rows per chunk handed to GX: about 1 GiB of pandas frame and GX work at the widest raw table.
CHUNK_ROWS = 1_000_000
BASIS_TABLE = "audit.quality_basis"
# Bump when what a basis covers changes meaning: every row is validated again once.
BASIS_FORMAT = 1


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


def seeds_digest(seeds_dir: Path | None) -> str:
    """A digest of every seed file: a changed seed changes what the code sets mean."""
    digest = hashlib.sha256()
    for path in sorted(seeds_dir.glob("*.csv")) if seeds_dir else []:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def basis_of(suite: SuiteFile, params: Mapping[str, object], seeds: str) -> str:
    """Everything but the rows that the suite's result on a row depends on."""
    sql = json.dumps(suite.raw.get("meta", {}).get("batch", {}), sort_keys=True)
    used = suite.parameters_used() | {n for n in params if f"${n}" in sql}
    payload = {
        "format": BASIS_FORMAT,
        "great_expectations": version("great_expectations"),
        "duckdb": duckdb.__version__,
        "suite": suite.raw,
        "seeds": seeds,
        "parameters": {k: params[k] for k in sorted(used - {"run_id"}) if k in params},
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def stored_bases(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """(suite, asset) -> the basis under which every row of the table last passed."""
    try:
        rows = con.execute(f"select suite, asset, basis from {BASIS_TABLE}").fetchall()
    except duckdb.CatalogException:
        return {}
    return {(str(s), str(a)): str(b) for s, a, b in rows}


def record_bases(con: duckdb.DuckDBPyConnection, report: GateReport, run_name: str) -> int:
    """Keep the basis of each target whose rows were all validated and did not block. Returns
    how many were kept."""
    con.execute("create schema if not exists audit")
    con.execute(
        f"create table if not exists {BASIS_TABLE} (suite varchar not null, "
        "asset varchar not null, basis varchar not null, run_id varchar, "
        "validated_at timestamp not null)"
    )
    kept = 0
    for outcome in report.outcomes:
        if outcome.basis and outcome.scope == "all rows" and not outcome.blocks:
            con.execute(
                f"delete from {BASIS_TABLE} where suite = ? and asset = ?",
                [outcome.suite, outcome.asset],
            )
            con.execute(
                f"insert into {BASIS_TABLE} values (?, ?, ?, ?, now()::timestamp)",
                [outcome.suite, outcome.asset, outcome.basis, run_name],
            )
            kept += 1
    return kept


@dataclass
class Drawn:
    """What the worker prepared for one target: its figures and the first chunks of its rows
    (the stream stays open in `reader` while more chunks follow)."""

    target: Target
    params: dict[str, object]
    query: BatchQuery | None = None
    figures: pd.DataFrame | None = None
    ready: deque[pa.Table] = field(default_factory=deque)
    reader: pa.RecordBatchReader | None = None
    basis: str | None = None
    only_changed: bool = False
    error: str | None = None
    seconds: float = 0.0


def run_gate(
    build_db: Path,
    targets: list[Target],
    parameters: Mapping[str, object],
    warehouse_dir: Path,
    run_name: str,
    prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    duckdb_config: Mapping[str, object] | None = None,
    seeds_dir: Path | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> GateReport:
    """Validate every target; `parameters` fill `$name` in batch SQL and `$PARAMETER` values
    in expectations (per target, `asset_name` is added). `prepare` runs once on the connection
    first (e.g. to register reference code sets as temp tables). `seeds_dir`: the seeds the
    code sets come from (part of the basis).

    One worker thread owns the DuckDB connection: it reads the next chunk (or the next
    target's batch) while GX validates the current one, since DuckDB works on the other core
    without the GIL. At most two chunks are in memory."""
    report = GateReport()
    started = time.perf_counter()
    con = duckdb.connect(str(build_db), read_only=True, config=dict(duckdb_config or {}))
    seeds = seeds_digest(seeds_dir)
    counts = {"rows": 0, "chunks": 0, "changed_only": 0}
    timings = {"pull_s": 0.0, "validate_s": 0.0}

    def plan(target: Target, with_key: bool = False, only: bool | None = None) -> Drawn:
        t0 = time.perf_counter()
        suite = target.suite
        drawn = Drawn(target, _params(parameters, target))
        try:
            if suite.batch.changed:
                drawn.basis = basis_of(suite, drawn.params, seeds)
                drawn.only_changed = bases.get((suite.name, target.asset)) == drawn.basis
            if only is not None:
                drawn.only_changed = only
            if suite.batch.figures and not with_key:
                drawn.figures = draw_figures(con, suite, drawn.params, drawn.only_changed)
            if suite.row_expectations():
                drawn.query = batch_query(con, suite, drawn.params, with_key, drawn.only_changed)
                if suite.row_wise():
                    drawn.reader = open_batch(con, suite, drawn.query, chunk_rows)
                    first = next_chunk(drawn.reader)
                    if first is None:
                        first = drawn.reader.schema.empty_table()
                    drawn.ready.append(first)
                    read_ahead(drawn)
                else:
                    drawn.ready.append(whole_batch(con, suite, drawn.query))
        except BatchError as exc:
            drawn.error = str(exc)
            drawn.reader = None
        drawn.seconds = time.perf_counter() - t0
        return drawn

    def read_ahead(drawn: Drawn) -> None:
        """The next chunk of the target's rows (on the worker); closes a finished stream."""
        if drawn.reader is None:
            return
        chunk = next_chunk(drawn.reader)
        if chunk is None:
            drawn.reader = None
        else:
            drawn.ready.append(chunk)

    def frames(worker: ThreadPoolExecutor, drawn: Drawn, outcome: SuiteOutcome) -> Iterator[Any]:
        """The target's chunks as pandas frames; the worker reads one ahead."""
        assert drawn.query is not None
        while drawn.ready:
            chunk = drawn.ready.popleft()
            t0 = time.perf_counter()
            ahead: Future | None = None
            if drawn.reader is not None and not drawn.ready:
                ahead = worker.submit(read_ahead, drawn)
            frame = batch_from_arrow(drawn.target.suite, drawn.query, chunk).frame
            timings["pull_s"] += time.perf_counter() - t0
            outcome.rows += len(frame)
            yield frame
            del frame
            if ahead is not None:
                ahead.result()

    session: GxSession | None = None

    def gx() -> GxSession:
        nonlocal session
        if session is None:
            from orchestration.quality.session import GxSession

            t_setup = time.perf_counter()
            session = GxSession(warehouse_dir, run_name)
            report.timings["gx_setup_s"] = time.perf_counter() - t_setup
        return session

    detail: list[tuple[Target, SuiteOutcome, bool, list[Any]]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="quality-batches") as worker:
        try:
            if prepare:
                worker.submit(prepare, con).result()
            bases = worker.submit(stored_bases, con).result()
            pending: Future | None = worker.submit(plan, targets[0]) if targets else None
            for i, target in enumerate(targets):
                assert pending is not None
                drawn: Drawn = pending.result()
                pending = None
                nxt = targets[i + 1] if i + 1 < len(targets) else None
                if nxt is not None and drawn.reader is None:
                    pending = worker.submit(plan, nxt)
                timings["pull_s"] += drawn.seconds
                outcome = SuiteOutcome(
                    suite=target.suite.name,
                    suite_path=_display_path(target.suite.path),
                    asset=target.asset,
                    table=target.suite.batch.table,
                    error=drawn.error,
                    basis=drawn.basis,
                    scope="changed rows" if drawn.only_changed else "all rows",
                )
                report.outcomes.append(outcome)
                counts["changed_only"] += drawn.only_changed
                found: list[ExpectationOutcome] = []
                run_ids: list[Any] = []
                try:
                    if drawn.figures is not None:
                        t1 = time.perf_counter()
                        part, _ = gx().validate(
                            target.suite, outcome, [drawn.figures], drawn.params, figures=True
                        )
                        found += part
                        timings["validate_s"] += time.perf_counter() - t1
                    if drawn.query is not None and drawn.error is None:
                        session_ = gx()
                        t1 = time.perf_counter()
                        part, run_ids = session_.validate(
                            target.suite, outcome, frames(worker, drawn, outcome), drawn.params
                        )
                        found += part
                        timings["validate_s"] += time.perf_counter() - t1
                except SuiteError as exc:
                    outcome.error = str(exc)
                finally:
                    if drawn.reader is not None:  # a failure left the stream open: close it
                        worker.submit(_close, drawn).result()
                outcome.expectations = sorted(found, key=lambda e: e.index)
                counts["rows"] += outcome.rows
                counts["chunks"] += outcome.chunks
                failed_rows = [
                    e for e in found if not e.success and not target.suite.names_figure(_exp(e))
                ]
                if failed_rows and target.suite.batch.key and not outcome.error:
                    detail.append((target, outcome, drawn.only_changed, run_ids))
                if nxt is not None and pending is None:
                    pending = worker.submit(plan, nxt)
            # The failing rows by key: drawn again with the key columns, once every target is
            # done (the worker's connection streams one query at a time).
            for target, outcome, only, run_ids in detail:
                keyed: Drawn = worker.submit(plan, target, True, only).result()
                if keyed.error or keyed.query is None:
                    continue
                session_ = gx()
                session_.forget(target.suite, run_ids)
                rows_before, chunks_before = outcome.rows, outcome.chunks
                key = target.suite.batch.key
                part, _ = session_.validate(
                    target.suite, outcome, frames(worker, keyed, outcome), keyed.params, key=key
                )
                outcome.rows, outcome.chunks = rows_before, chunks_before
                by_index = {e.index: e for e in part}
                outcome.expectations = [by_index.get(e.index, e) for e in outcome.expectations]
        finally:
            worker.submit(con.close).result()
    report.timings.update(timings)
    report.timings.update(counts)
    t2 = time.perf_counter()
    if session is not None:
        report.docs_index = session.build_docs(report.outcomes)
    else:
        index = warehouse_dir / "data_docs" / "index.html"
        report.docs_index = index if index.exists() else None
    report.timings["data_docs_s"] = time.perf_counter() - t2
    report.timings["total_s"] = time.perf_counter() - started
    return report


def _close(drawn: Drawn) -> None:
    if drawn.reader is not None:
        drawn.reader.close()
        drawn.reader = None


def _exp(outcome: ExpectationOutcome) -> dict[str, Any]:
    return {"type": outcome.type, "kwargs": outcome.kwargs}


def _params(parameters: Mapping[str, object], target: Target) -> dict[str, object]:
    return {**parameters, "asset_name": target.asset_name}


def _display_path(path: Path) -> str:
    from orchestration.settings import PROJECT_DIR

    try:
        return str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)
