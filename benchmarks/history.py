"""`make bench-history SF=1 DAYS=365`: compute the history marts (contract §10) for DAYS as-of
dates in one dbt run, on the warehouse that `benchmarks/run.py --keep` left, and report wall
time and peak memory of the process tree.

The run is the dbt run a backfill makes (`psw history`): the models tagged `history` (the
history's intermediate models, `mart_partner_type_history` and `mart_strategy_history`) with
PSW_HISTORY_FROM and PSW_HISTORY_TO set, nothing else.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))

from benchmarks.measure import measure  # noqa: E402
from benchmarks.run import END, GIB  # noqa: E402

SELECTION = "tag:history"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--to", type=date.fromisoformat, default=END)
    args = parser.parse_args()

    warehouse = HERE / "results" / f"sf{args.scale:g}" / "warehouse"
    build_db = warehouse / "build.duckdb"
    if not build_db.exists():
        raise SystemExit(f"{build_db} does not exist: run `make bench-history SF={args.scale:g}`")
    first = args.to - timedelta(days=args.days - 1)
    env = {
        **os.environ,
        "PSW_BUILD_DB": str(build_db),
        "PSW_DUCKDB_TEMP_DIR": str(warehouse / "tmp"),
        "PSW_AS_OF_DATE": args.to.isoformat(),
        "PSW_HISTORY_FROM": first.isoformat(),
        "PSW_HISTORY_TO": args.to.isoformat(),
        "DBT_PROFILES_DIR": str(PROJECT / "dbt_project"),
    }
    cmd = [
        str(Path(sys.executable).with_name("dbt")),
        "run",
        "--project-dir",
        str(PROJECT / "dbt_project"),
        "--select",
        SELECTION,
    ]
    measured = measure(cmd, env)
    if measured.returncode != 0:
        raise SystemExit(f"dbt failed:\n{measured.output[-4000:]}")
    print(
        f"history of {args.days} as-of dates ({first} to {args.to}) at SF{args.scale:g}: "
        f"{measured.wall:.1f} s, peak {measured.peak / GIB:.2f} GiB"
    )


if __name__ == "__main__":
    main()
