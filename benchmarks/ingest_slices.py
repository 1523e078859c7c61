"""What each slice of one large load costs, statement by statement.

    python benchmarks/ingest_slices.py --scale 10 --slice-rows 1000000

Generates the landing zone of SF (kept under benchmarks/results/slices-sf<SF>), then loads its
deals into a fresh build database with the loader (`load_entity`), in slices of
`--slice-rows` rows inside the batch's one transaction, with DuckDB's 4GB memory limit and 2
threads. Every statement the loader runs is timed. Prints one row per slice: the seconds of each
kind of statement. A statement whose time grows from slice to slice reads what the earlier
slices wrote.

`--new-keys not-in` runs the raw insert's new-key test as `NOT IN` instead of the loader's
`NOT EXISTS`, to compare the two.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))

from benchmarks.run import END  # noqa: E402
from orchestration.ingest.contract import ENTITIES  # noqa: E402
from orchestration.ingest.loader import load_entity  # noqa: E402
from orchestration.settings import SEEDS_DIR  # noqa: E402

NOT_EXISTS = "not exists (select 1 from raw.deals as r where r.deal_id = b.deal_id)"
NOT_IN = "b.deal_id not in (select deal_id from raw.deals)"
# (kind, what its SQL starts with, after whitespace is folded)
KINDS = [
    ("stage files", "create or replace table _psw_stage."),
    ("type the slice", "create or replace temp table _batch"),
    ("rejects", "insert into audit.rejected_rows"),
    ("losing rows", "create or replace temp table _losers"),
    ("keep replaced rows", "insert into audit.pending_replaced_deals"),
    ("delete replaced rows", "delete from raw.deals as old"),
    ("insert new rows", "insert into raw.deals select"),
    ("add versions", "insert into raw.deals_history"),
    ("close intervals", "update raw.deals_history"),
    ("commit", "commit"),
]


def kind_of(sql: str) -> str:
    folded = " ".join(sql.split())
    for kind, start in KINDS:
        if folded.startswith(start):
            return kind
    return "other"


class Timed:
    """A connection that times each statement by kind; a slice ends with its intervals."""

    def __init__(self, con: duckdb.DuckDBPyConnection, not_in: bool) -> None:
        self._con = con
        self._not_in = not_in
        self.slices: list[Counter[str]] = []
        self.current: Counter[str] = Counter()

    def execute(self, sql: str, *args):
        if self._not_in:
            sql = sql.replace(NOT_EXISTS, NOT_IN)
        kind = kind_of(sql)
        start = time.perf_counter()
        result = self._con.execute(sql, *args)
        self.current[kind] += time.perf_counter() - start
        if kind == "close intervals":
            self.slices.append(self.current)
            self.current = Counter()
        return result

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--slice-rows", type=int, default=1_000_000)
    parser.add_argument("--new-keys", choices=["not-exists", "not-in"], default="not-exists")
    args = parser.parse_args()

    root = HERE / "results" / f"slices-sf{args.scale:g}"
    landing = root / "landing"
    if not (landing / "deals").is_dir():
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "orchestration.cli.main",
                "generate",
                "--scale",
                str(args.scale),
                "--seed",
                str(args.seed),
                "--out",
                str(landing),
                "--end-date",
                END.isoformat(),
            ],
            check=True,
            cwd=PROJECT,
        )
    db = root / "build.duckdb"
    for stale in root.glob("build.duckdb*"):
        stale.unlink()
    (root / "tmp").mkdir(exist_ok=True)
    config = {"memory_limit": "4GB", "threads": 2, "temp_directory": str(root / "tmp")}
    with duckdb.connect(str(db), config=config) as con:
        timed = Timed(con, args.new_keys == "not-in")
        start = time.perf_counter()
        result = load_entity(
            timed, ENTITIES["deals"], landing, SEEDS_DIR, slice_rows=args.slice_rows
        )
        total = time.perf_counter() - start
    # the first "slice" is the history table's set-up, before any slice
    setup, *slices = timed.slices
    print(
        f"SF{args.scale:g} deals, {result.rows_read:,} rows, slices of {args.slice_rows:,} rows, "
        f"new keys by {args.new_keys}: {total:.1f} s in all, of which reading the files "
        f"{slices[0]['stage files'] + setup['stage files']:.1f} s and the commit "
        f"{timed.current['commit']:.1f} s"
    )
    kinds = [k for k, _ in KINDS if k not in ("stage files", "commit")] + ["other"]
    print("| slice | " + " | ".join(kinds) + " |")
    print("|---:|" + "---:|" * len(kinds))
    for number, seconds in enumerate(slices, start=1):
        cells = " | ".join(f"{seconds[k]:.2f}" for k in kinds)
        print(f"| {number} | {cells} |")


if __name__ == "__main__":
    main()
