"""Passing validations reused while nothing they depend on has changed.

A suite's result depends on its file, the batch query drawn from it, the parameters its
expectations use, the Great Expectations version, and the rows (and column types) of the
batch. The gate keeps, per (suite, asset), a key of all of these for the last validation that
passed in full (`<warehouse>/gx/reused_validations.json`). When the key of tonight's batch is
the same, the suite is not validated again: its check reports that result, says which run
validated it, and links its Data Docs page. The rows enter the key as their count and an
order-independent sum of DuckDB's row hashes, computed on the rows the batch query returned,
before they become the frame GX would validate (the query runs once either way).

A nightly refresh that only brings new deals changes the deals, the marts and whatever depends
on the as-of date; the partner, certification and incentive tables and the seeds stay the
same, and so do their results. A failed or erroring result is never reused (the next run
validates again and names the failing rows afresh). `PSW_QUALITY_REUSE=0` validates every
suite every run; deleting the file does the same once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from orchestration.quality.results import ExpectationOutcome, SuiteOutcome, _plain

if TYPE_CHECKING:
    import pyarrow as pa

# Bump when what a stored outcome holds, or how a batch is drawn, changes meaning.
FORMAT = 1
FILE = Path("gx") / "reused_validations.json"


def batch_key(suite_text: str, sql: str, expectation_params: Mapping[str, object]) -> str:
    """Everything but the batch's rows that a suite's result depends on. The parameters of the
    batch query are not part of it: what they do shows in the rows (a run id that selects
    this run's files gives other rows when this run loaded files)."""
    payload = {
        "format": FORMAT,
        "great_expectations": version("great_expectations"),
        "suite": suite_text,
        "sql": sql,
        "expectation_params": _plain(dict(expectation_params)),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def rows_fingerprint(con: duckdb.DuckDBPyConnection, rows: pa.Table) -> str:
    """The batch's column types, row count and the sum of its rows' hashes (as a 128-bit
    integer), computed by DuckDB on the Arrow rows the batch query returned: the same rows in
    any order give the same value; a changed, added or removed row, or a column of another
    type, does not."""
    count, total = (
        con.from_arrow(rows)
        .query("b", "select count(*), coalesce(sum(hash(b))::hugeint, 0)::varchar from b")
        .fetchone()
    )
    types = ",".join(f"{f.name}:{f.type}" for f in rows.schema)
    digest = hashlib.sha256(types.encode()).hexdigest()[:16]
    return f"{digest}:{count}:{total}"


class ValidationMemo:
    def __init__(self, warehouse_dir: Path):
        self.path = warehouse_dir / FILE
        self.entries: dict[str, dict[str, Any]] = {}
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(self.path.read_text())
            if isinstance(data, dict) and data.get("format") == FORMAT:
                self.entries = dict(data.get("entries") or {})

    def lookup(self, target: str, key: str) -> SuiteOutcome | None:
        """The stored passing outcome of `target` if it was validated with this `key`."""
        entry = self.entries.get(target)
        if not entry or entry.get("key") != key:
            return None
        try:
            stored = dict(entry["outcome"])
            expectations = [ExpectationOutcome(**e) for e in stored.pop("expectations")]
            outcome = SuiteOutcome(**stored, expectations=expectations)
        except (KeyError, TypeError):
            return None
        outcome.seconds = 0.0
        outcome.reused_from = entry.get("run")
        outcome.reused_validated_at = entry.get("validated_at")
        return outcome if outcome.passed else None

    def record(self, target: str, key: str | None, outcome: SuiteOutcome, run: str) -> None:
        """Keep a passing outcome validated in `run`; forget the target's entry otherwise."""
        if key is None or not outcome.passed or outcome.reused_from:
            if not outcome.reused_from:
                self.entries.pop(target, None)
            return
        stored = asdict(outcome)
        for transient in ("seconds", "reused_from", "reused_validated_at"):
            stored.pop(transient, None)
        self.entries[target] = {
            "key": key,
            "run": run,
            "validated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "outcome": _plain(stored),
        }

    def save(self) -> None:
        """Write beside and rename: a killed run leaves the previous file whole."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"format": FORMAT, "entries": self.entries}, indent=1))
        tmp.replace(self.path)
