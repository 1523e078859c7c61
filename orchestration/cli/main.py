"""`psw`: the warehouse's command line (generate, refresh, history, scorecard)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from orchestration.cli.instance import ensure_dagster_env
from orchestration.cli.serving_file import EXIT_SERVING_LOCKED, ServingFileLocked
from orchestration.settings import SettingsError, load_settings


def _progress_printer(stream=sys.stderr):
    last: dict[str, float] = {}

    def report(entity: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last.get(entity, 0.0) < 1.0:
            return
        last[entity] = now
        pct = 100.0 * done / total if total else 100.0
        print(f"  {entity:<15} {done:>12,} / {total:,} rows ({pct:5.1f}%)", file=stream)

    return report


def cmd_generate(args: argparse.Namespace) -> int:
    from orchestration.generator import generate

    out = Path(args.out)
    print(f"generating SF{args.scale:g} (seed {args.seed}, up to {args.end_date}) into {out}")
    started = time.monotonic()
    counts = generate(
        out,
        scale=args.scale,
        seed=args.seed,
        end_date=args.end_date,
        dirty_rate=args.dirty_rate,
        progress=_progress_printer(),
        overwrite=args.overwrite,
    )
    for entity, rows in counts.items():
        print(f"  {entity:<15} {rows:>12,} rows")
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    import os

    if args.as_of:
        os.environ["PSW_AS_OF_DATE"] = args.as_of.isoformat()
    ensure_dagster_env()
    settings = load_settings()
    from orchestration.cli.refresh import refresh_in_worker, refresh_lock
    from orchestration.warehouse.writable import ensure_writable

    ensure_writable(settings.warehouse_dir)
    with refresh_lock(settings.warehouse_dir / ".refresh.lock"):
        print(
            f"refreshing as of {settings.as_of_date}: landing {settings.landing_dir}, "
            f"warehouse {settings.warehouse_dir}",
            flush=True,
        )
        # the run executes in a worker process, retried once if that process dies
        outcome = refresh_in_worker(log_level=args.log_level)
    print(outcome.summary())
    return 0 if outcome.success else 1


def cmd_history(args: argparse.Namespace) -> int:
    ensure_dagster_env()
    settings = load_settings()
    from orchestration.cli.history import run_history
    from orchestration.cli.refresh import refresh_lock
    from orchestration.warehouse.writable import ensure_writable

    first, last = args.first, args.last or args.first
    if first > last:
        raise SettingsError(f"--from {first} is after --to {last}")
    if last > settings.as_of_date:
        raise SettingsError(
            f"--to {last} is after the as-of date {settings.as_of_date}: the sources are not "
            "known yet on a later date"
        )
    ensure_writable(settings.warehouse_dir)
    with refresh_lock(settings.warehouse_dir / ".refresh.lock"):
        days = (last - first).days + 1
        print(
            f"computing the history of {first} to {last} ({days} dates) in "
            f"{settings.warehouse_dir}",
            flush=True,
        )
        try:
            outcome = run_history(first, last, log_level=args.log_level)
        except ValueError as exc:
            raise SettingsError(str(exc)) from exc
    print(outcome.summary())
    return 0 if outcome.success else 1


def cmd_status(args: argparse.Namespace) -> int:
    ensure_dagster_env()
    from orchestration.cli.status import print_status

    return print_status(load_settings())


def cmd_scorecard(args: argparse.Namespace) -> int:
    from orchestration.cli.report_text import print_scorecard

    return print_scorecard(load_settings())


def cmd_docs(args: argparse.Namespace) -> int:
    """dbt docs of the project, with the catalog of the current build database."""
    import os
    import subprocess

    from orchestration.cli.refresh import refresh_lock
    from orchestration.defs.transform.assets import dbt_args
    from orchestration.settings import DBT_PROJECT_DIR

    settings = load_settings()
    if not settings.build_db.exists():
        print(
            f"psw: {settings.build_db} does not exist yet: run `psw refresh` (or `make run`) "
            "first, dbt docs read the column types from it",
            file=sys.stderr,
        )
        return 2
    out = settings.warehouse_dir / "dbt_docs"
    dbt = Path(sys.executable).parent / "dbt"
    env = {**os.environ, **settings.dbt_env()}
    project = DBT_PROJECT_DIR
    common = ["--project-dir", str(project), "--profiles-dir", str(project)]
    # dbt opens the build database for writing: wait for a running refresh to finish.
    with refresh_lock(settings.warehouse_dir / ".refresh.lock"):
        generate = [str(dbt), "docs", *dbt_args("generate", settings.dbt_vars())]
        generate += ["--static", "--target-path", str(out), *common]
        done = subprocess.run(generate, env=env, cwd=project, check=False)
    if done.returncode != 0:
        print("psw: dbt docs generate failed (see its output above)", file=sys.stderr)
        return 1
    print(f"dbt docs written to {out / 'index.html'} (one-file copy: static_index.html)")
    if not args.serve:
        return 0
    print(f"serving on http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    serve = [str(dbt), "docs", "serve", "--target-path", str(out), *common]
    serve += ["--host", args.host, "--port", str(args.port), "--no-browser"]
    try:
        return subprocess.run(serve, env=env, cwd=project, check=False).returncode
    except KeyboardInterrupt:
        return 0


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def build_parser() -> argparse.ArgumentParser:
    from orchestration.generator import DEFAULT_END_DATE

    parser = argparse.ArgumentParser(
        prog="psw",
        description="Partner Strategy Warehouse: load partner extracts, build the strategy "
        "marts, check them and publish them for BI.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser(
        "generate",
        help="write a realistic sample landing zone",
        description="Write a synthetic landing zone that follows SPEC §3 (SF1 ≈ 10k partners, "
        "1M deals, 200k certifications, 500k incentives). Deterministic for its arguments.",
    )
    gen.add_argument("--scale", type=float, default=0.01, help="scale factor (default 0.01)")
    gen.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    gen.add_argument("--out", default="data/landing", help="landing folder to write")
    gen.add_argument(
        "--end-date",
        type=_date,
        default=DEFAULT_END_DATE,
        help=f"last day of generated activity (default {DEFAULT_END_DATE})",
    )
    gen.add_argument(
        "--dirty-rate",
        type=float,
        default=0.0005,
        help="share of rows that break a rule, to exercise the rejects (default 0.0005)",
    )
    gen.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the files of an earlier `psw generate` in --out (never needed for an "
        "empty folder)",
    )
    gen.set_defaults(func=cmd_generate)

    ref = sub.add_parser(
        "refresh",
        help="run the nightly_refresh job now",
        description="Run the nightly_refresh Dagster job (the one the 02:00 schedule runs), "
        "recorded in the Dagster instance, in a worker process: a run whose process dies is "
        "retried once (dagster.yaml run_retries), a run that fails on data is not. Exits 1 if "
        "anything failed or was blocked, 2 if a setting or the warehouse folder is unusable.",
    )
    ref.add_argument("--as-of", type=_date, help="as-of date D (default PSW_AS_OF_DATE or today)")
    ref.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    ref.set_defaults(func=cmd_refresh)

    hist = sub.add_parser(
        "history",
        help="compute and publish the strategy history of a range of dates (a backfill)",
        description="Backfill history/strategy_history for the as-of dates --from to --to: "
        "one run of the strategy_history_backfill job, recorded in the Dagster instance as a "
        "single-run backfill from the UI is. Each date is computed from the source versions "
        "current at the end of that date, in one dbt pass over the range; the history suites "
        "gate it; mart_strategy_history and mart_partner_type_history are published, every "
        "other mart stays as published. Exits 1 if the run failed, 2 on a bad range.",
    )
    hist.add_argument("--from", dest="first", type=_date, required=True, help="first as-of date")
    hist.add_argument("--to", dest="last", type=_date, help="last as-of date (default --from)")
    hist.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    hist.set_defaults(func=cmd_history)

    status = sub.add_parser(
        "status",
        help="show the last refresh, its checks, mart freshness and rejects",
        description="Print the last nightly_refresh run recorded in the Dagster instance, its "
        "asset checks, when each mart was last materialized (STALE after 26 h), and the "
        "published reject counts by entity and rule. Exits 3 if another process holds the "
        "serving file read-write.",
    )
    status.set_defaults(func=cmd_status)

    docs = sub.add_parser(
        "docs",
        help="build dbt docs (lineage, column docs, metric formulas) and optionally serve them",
        description="Run `dbt docs generate` against the build database into "
        "<warehouse>/dbt_docs (index.html, and static_index.html that opens offline as one "
        "file). With --serve, serve them on localhost; the Dagster UI links each dbt asset "
        "there (PSW_DBT_DOCS_URL to change the address).",
    )
    docs.add_argument("--serve", action="store_true", help="serve the docs after building")
    docs.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    docs.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    docs.set_defaults(func=cmd_docs)

    score = sub.add_parser(
        "scorecard",
        help="print the published strategy scorecard",
        description="Print mart_strategy_scorecard from the serving database. Exits 1 if "
        "nothing is published, 3 if another process holds the serving file read-write.",
    )
    score.set_defaults(func=cmd_scorecard)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (SettingsError, FileExistsError) as exc:
        print(f"psw: {exc}", file=sys.stderr)
        return 2
    except ServingFileLocked as exc:  # every command that reads the serving file
        print(f"psw: {exc}", file=sys.stderr)
        return EXIT_SERVING_LOCKED


if __name__ == "__main__":
    sys.exit(main())
