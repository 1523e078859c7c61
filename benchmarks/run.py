"""`make bench SF=1`: the full and the incremental refresh through Dagster, per stage, against
the floor (one hand-written DuckDB script computing the same marts from the landing files).

Reports wall time, peak memory (the whole process tree, sampled from /proc) and rows per second
for ingest, dbt, checks and publish, and writes benchmarks/results/sf<SF>.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))

from benchmarks.delta import write_day  # noqa: E402
from benchmarks.measure import Measured, measure  # noqa: E402

END = date(2026, 11, 20)
STAGES = {
    "ingest": lambda step: step.startswith(("raw__", "ingest__")),
    "dbt": lambda step: step == "dbt_models",
    "checks": lambda step: "gate" in step or "check" in step,
    "publish": lambda step: step.startswith("publish__"),
}
GIB = 1024**3


def _stage_of(step: str) -> str:
    for stage, match in STAGES.items():
        if match(step):
            return stage
    return "other"


def step_windows(home: Path, run_id: str) -> dict[str, tuple[float, float]]:
    starts: dict[str, float] = {}
    out: dict[str, tuple[float, float]] = {}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for record in instance.get_records_for_run(run_id, limit=1_000_000).records:
            entry = record.event_log_entry
            event = entry.dagster_event
            if event is None or entry.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                starts[entry.step_key] = entry.timestamp
            elif event.event_type in (
                dg.DagsterEventType.STEP_SUCCESS,
                dg.DagsterEventType.STEP_FAILURE,
            ):
                out[entry.step_key] = (starts[entry.step_key], entry.timestamp)
    return out


def rows_processed(warehouse: Path) -> dict[str, int]:
    """Rows each stage handled: landing rows read, rows the dbt models wrote, rows the gates
    checked (raw and marts), rows published."""
    con = duckdb.connect(str(warehouse / "build.duckdb"), read_only=True)
    try:

        def total(where: str) -> int:
            tables = con.execute(
                "select schema_name, table_name from duckdb_tables() where " + where
            ).fetchall()
            return sum(
                con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables
            )

        read = con.execute("select coalesce(sum(rows_read), 0) from audit.loaded_files").fetchone()
        return {
            "ingest": int(read[0]),
            "dbt": total("schema_name in ('intermediate', 'marts', 'reference')"),
            "checks": total("schema_name in ('raw', 'marts')"),
            "publish": total("schema_name = 'marts'"),
        }
    finally:
        con.close()


def refresh(env: dict[str, str], home: Path, as_of: date) -> tuple[Measured, dict]:
    cmd = [sys.executable, "-m", "orchestration.cli.main", "refresh", "--as-of", as_of.isoformat()]
    measured = measure(cmd, env)
    if measured.returncode != 0:
        raise SystemExit(f"refresh failed:\n{measured.output[-4000:]}")
    run_id = measured.output.split("run ")[-1].split()[0]
    # dagster.yaml reads the instance folder from the environment of the refresh.
    os.environ["PSW_DAGSTER_DIR"] = env["PSW_DAGSTER_DIR"]
    windows = step_windows(home, run_id)
    stages: dict[str, dict] = {}
    for step, (start, end) in windows.items():
        stage = stages.setdefault(_stage_of(step), {"seconds": 0.0, "peak": 0, "steps": []})
        stage["seconds"] += end - start
        stage["peak"] = max(stage["peak"], measured.peak_between(start, end))
        stage["steps"].append(step)
    startup = min(s for s, _ in windows.values()) - measured.samples[0][0]
    stages["startup"] = {"seconds": startup, "peak": 0, "steps": []}
    return measured, stages


def floor(landing: Path, seeds: Path, as_of: date, out: Path) -> Measured:
    sql = (HERE / "floor.sql").read_text()
    script = (
        "import duckdb, sys\n"
        "con = duckdb.connect()\n"
        f"con.execute({sql!r}.replace('$LANDING', {str(landing)!r})"
        f".replace('$SEEDS', {str(seeds)!r}).replace('$AS_OF', {as_of.isoformat()!r})"
        f".replace('$OUT', {str(out)!r}))\n"
    )
    return measure([sys.executable, "-c", script], dict(os.environ))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the landing zone for reruns")
    args = parser.parse_args()

    root = HERE / "results" / f"sf{args.scale:g}"
    landing = root / "landing"
    marker = root / "landing.json"
    params = {"scale": args.scale, "seed": args.seed, "end": END.isoformat()}
    result: dict = {"scale": args.scale, "machine": machine()}
    if not (marker.exists() and json.loads(marker.read_text()) == params):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        gen = measure(
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
            dict(os.environ),
        )
        result["generate"] = {"seconds": gen.wall, "peak_gib": gen.peak / GIB}
        marker.write_text(json.dumps(params))
    for folder in ("warehouse", "dagster_home", "floor"):
        shutil.rmtree(root / folder, ignore_errors=True)
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PSW_DAGSTER_DIR": str(home / ".dagster"),
        "PSW_LANDING_DIR": str(landing),
        "PSW_WAREHOUSE_DIR": str(root / "warehouse"),
    }
    subprocess.run(
        [sys.executable, "-c", "import dagster as dg; dg.DagsterInstance.get().dispose()"],
        env=env,
        check=True,
    )

    result["cpu_check_s"] = [round(cpu_check(), 2)]
    full, stages = refresh(env, home, END)
    rows = rows_processed(root / "warehouse")
    result["full"] = summarize(full, stages, rows)

    day = END + timedelta(days=1)
    delta, delta_rows = write_day(landing, day)
    try:
        incremental, inc_stages = refresh(env, home, day)
        inc_rows = {"ingest": delta_rows, **{k: v for k, v in rows.items() if k != "ingest"}}
        result["incremental"] = summarize(incremental, inc_stages, inc_rows)
        result["incremental"]["delta_rows"] = delta_rows
    finally:
        delta.unlink()  # the landing zone stays the generated one for the next bench

    (root / "floor").mkdir()
    low = floor(landing, PROJECT / "seeds", END, root / "floor")
    if low.returncode != 0:
        raise SystemExit(f"floor script failed:\n{low.output[-4000:]}")
    result["floor"] = {"seconds": low.wall, "peak_gib": low.peak / GIB}
    result["ratio_to_floor"] = full.wall / low.wall
    result["cpu_check_s"].append(round(cpu_check(), 2))

    (root / "result.json").write_text(json.dumps(result, indent=2))
    text = report(result)
    (HERE / "results" / f"sf{args.scale:g}.md").write_text(text)
    print(text)
    if not args.keep:
        shutil.rmtree(root / "warehouse", ignore_errors=True)


def summarize(measured: Measured, stages: dict, rows: dict[str, int]) -> dict:
    out = {"seconds": measured.wall, "peak_gib": measured.peak / GIB, "stages": {}}
    for stage, info in stages.items():
        n = rows.get(stage, 0)
        out["stages"][stage] = {
            "seconds": info["seconds"],
            "peak_gib": info["peak"] / GIB,
            "rows": n,
            "rows_per_second": n / info["seconds"] if info["seconds"] and n else None,
        }
    return out


def cpu_check() -> float:
    """Seconds for a fixed pure-Python loop (20M additions): how fast the machine is right now.
    Shared and virtual machines vary by 2x from hour to hour; compare figures of runs whose
    CPU checks agree, and compare ratios to the floor (measured in the same run) across runs."""
    started = time.perf_counter()
    total = 0
    for i in range(20_000_000):
        total += i
    return time.perf_counter() - started


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}"
    )


def report(result: dict) -> str:
    lines = [f"## SF{result['scale']:g} on {result['machine']}", ""]
    if "generate" in result:
        g = result["generate"]
        lines.append(f"generate: {g['seconds']:.1f} s, peak {g['peak_gib']:.2f} GiB")
        lines.append("")
    for kind in ("full", "incremental"):
        r = result[kind]
        title = (
            "full refresh"
            if kind == "full"
            else (f"incremental refresh (+{r['delta_rows']:,} deal rows)")
        )
        lines.append(f"**{title}: {r['seconds']:.1f} s, peak {r['peak_gib']:.2f} GiB**")
        lines.append("")
        lines.append("| stage | seconds | peak GiB | rows | rows/s |")
        lines.append("|---|---:|---:|---:|---:|")
        for stage in ("startup", "ingest", "dbt", "checks", "publish", "other"):
            s = r["stages"].get(stage)
            if not s:
                continue
            rate = f"{s['rows_per_second']:,.0f}" if s["rows_per_second"] else ""
            lines.append(
                f"| {stage} | {s['seconds']:.1f} | {s['peak_gib']:.2f} | {s['rows']:,} | {rate} |"
            )
        lines.append("")
    f = result["floor"]
    lines.append(
        f"floor (one DuckDB script, same marts): {f['seconds']:.1f} s, peak "
        f"{f['peak_gib']:.2f} GiB; full refresh = {result['ratio_to_floor']:.2f}x the floor"
    )
    if "cpu_check_s" in result:
        before, after = result["cpu_check_s"]
        lines.append("")
        lines.append(
            f"CPU check (20M-step Python loop; lower is faster): {before:.2f} s before the "
            f"refresh, {after:.2f} s after the floor"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    started = time.time()
    main()
    print(f"(bench took {time.time() - started:.0f} s)")
