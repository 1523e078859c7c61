"""`make bench SF=10`: what a refresh costs at scale SF, through Dagster, against the
performance targets, in one run. Back to back:

1. the fixed cost: at SF0.1 (a landing zone and warehouse of its own), a full refresh, then an
   empty night: a refresh with no new landing files, the as-of date one day later. The empty
   night's wall time is the fixed cost, what any refresh pays whatever the data;
2. at SF: a full refresh (as of END), an empty night (END + 1, no new files) and one day of
   deals (a deals extract of END + 2, ≈ 1/365 of the deals, refreshed as of END + 2);
3. the floor at SF: one hand-written DuckDB script computing the same marts from the landing
   files.

Then the targets: (empty night - fixed) ÷ (full - fixed) ≤ 0.15; (one day - empty night) ÷
(full - fixed) ≤ 0.05; the full refresh ≤ 100 s at SF10; full ÷ floor ≤ 3.5. Each refresh
reports its wall time, the peak memory of its whole process tree (sampled from /proc) and, per
stage (start-up, ingest, dbt, checks, publish), seconds, peak memory and rows per second.
Results go to benchmarks/results/sf<SF>.{md,json}.

A landing zone is generated once and kept under benchmarks/results/ (sf<SF>/landing, and
fixed/landing for the fixed cost); later runs with the same scale, seed and end date reuse it.
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
from dataclasses import dataclass
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
FIXED_SCALE = 0.1
STAGES = {
    "ingest": lambda step: step.startswith(("raw__", "ingest__")),
    "dbt": lambda step: step == "dbt_models",
    "checks": lambda step: "gate" in step or "check" in step,
    "publish": lambda step: step.startswith("publish__"),
}
# The performance targets; the full refresh's seconds are a target at SF10 only.
TARGETS = {
    "empty_night": 0.15,
    "one_day": 0.05,
    "full_seconds": 100.0,
    "full_to_floor": 3.5,
}
FULL_SECONDS_SCALE = 10.0
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
    """Rows each stage handled: landing rows read (all loads so far), rows the dbt models
    wrote, rows the gates checked (raw and marts), rows published."""
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
        raise SystemExit(f"refresh as of {as_of} failed:\n{measured.output[-4000:]}")
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


@dataclass
class Zone:
    """A landing zone of one scale, with a fresh warehouse and Dagster instance beside it."""

    scale: float
    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            "PSW_DAGSTER_DIR": str(self.home / ".dagster"),
            "PSW_LANDING_DIR": str(self.landing),
            "PSW_WAREHOUSE_DIR": str(self.warehouse),
        }

    def prepare(self, seed: int) -> dict | None:
        """Generate the landing zone unless the kept one has the same scale, seed and end date
        (then remove any day extract a stopped bench left); start a fresh warehouse and
        instance. Returns the generation's figures, None when the zone was kept."""
        marker = self.root / "landing.json"
        params = {"scale": self.scale, "seed": seed, "end": END.isoformat()}
        figures = None
        if marker.exists() and json.loads(marker.read_text()) == params:
            for day in bench_days():
                (self.landing / "deals" / f"deals_{day.isoformat()}.csv").unlink(missing_ok=True)
        else:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root.mkdir(parents=True)
            print(f"generating the SF{self.scale:g} landing zone in {self.landing}", flush=True)
            gen = measure(
                [
                    sys.executable,
                    "-m",
                    "orchestration.cli.main",
                    "generate",
                    "--scale",
                    str(self.scale),
                    "--seed",
                    str(seed),
                    "--out",
                    str(self.landing),
                    "--end-date",
                    END.isoformat(),
                ],
                dict(os.environ),
            )
            if gen.returncode != 0:
                raise SystemExit(f"generation failed:\n{gen.output[-4000:]}")
            figures = {"seconds": gen.wall, "peak_gib": gen.peak / GIB}
            marker.write_text(json.dumps(params))
        for folder in ("warehouse", "dagster_home", "floor"):
            shutil.rmtree(self.root / folder, ignore_errors=True)
        self.home.mkdir()
        shutil.copy(PROJECT / "dagster.yaml", self.home / "dagster.yaml")
        subprocess.run(
            [sys.executable, "-c", "import dagster as dg; dg.DagsterInstance.get().dispose()"],
            env=self.env,
            check=True,
        )
        return figures

    def night(self, as_of: date, title: str) -> dict:
        """One refresh as of `as_of`: its figures, with the landing rows this refresh read."""
        print(f"SF{self.scale:g} {title}, as of {as_of} ...", end=" ", flush=True)
        before = (
            rows_processed(self.warehouse)["ingest"]
            if (self.warehouse / "build.duckdb").exists()
            else 0
        )
        measured, stages = refresh(self.env, self.home, as_of)
        rows = rows_processed(self.warehouse)
        rows["ingest"] -= before
        print(f"{measured.wall:.1f} s, peak {measured.peak / GIB:.2f} GiB", flush=True)
        return {"as_of": as_of.isoformat(), **summarize(measured, stages, rows)}


def bench_days() -> list[date]:
    """The as-of dates of the empty night and of the day of deals."""
    return [END + timedelta(days=1), END + timedelta(days=2)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the warehouse of scale SF after the run (for benchmarks/history.py); the "
        "landing zones are always kept",
    )
    parser.add_argument(
        "--skip-floor", action="store_true", help="do not run the floor (e.g. at SF100)"
    )
    parser.add_argument(
        "--no-fixed",
        action="store_true",
        help=f"do not measure the fixed cost at SF{FIXED_SCALE:g}: the ratios then count it "
        "as 0 s, which overstates them",
    )
    parser.add_argument(
        "--full-only",
        action="store_true",
        help="measure the full refresh only, without the empty night and the day of deals "
        "(e.g. at SF100, where the targets are the full refresh's time and memory)",
    )
    args = parser.parse_args()

    empty_day, one_day = bench_days()
    result: dict = {"scale": args.scale, "seed": args.seed, "machine": machine()}
    zone = Zone(args.scale, HERE / "results" / f"sf{args.scale:g}")
    fixed_zone = None
    if not args.no_fixed and args.scale != FIXED_SCALE:
        fixed_zone = Zone(FIXED_SCALE, HERE / "results" / "fixed")

    # Every landing zone first, so that the measured runs follow one another.
    if fixed_zone is not None:
        result["fixed"] = {"scale": FIXED_SCALE}
        if (gen := fixed_zone.prepare(args.seed)) is not None:
            result["fixed"]["generate"] = gen
    if (gen := zone.prepare(args.seed)) is not None:
        result["generate"] = gen

    result["cpu_check_s"] = [round(cpu_check(), 2)]
    if fixed_zone is not None:
        result["fixed"]["full"] = fixed_zone.night(END, "full refresh")
        result["fixed"]["empty"] = fixed_zone.night(empty_day, "empty night (the fixed cost)")
        shutil.rmtree(fixed_zone.warehouse, ignore_errors=True)

    result["full"] = zone.night(END, "full refresh")
    if not args.full_only:
        result["empty"] = zone.night(empty_day, "empty night")
        delta, delta_rows = write_day(zone.landing, one_day)
        try:
            result["day"] = zone.night(one_day, f"one day of deals (+{delta_rows:,} rows)")
            result["day"]["delta_rows"] = delta_rows
        finally:
            delta.unlink()  # the landing zone stays the generated one for the next bench
    if not args.no_fixed and args.scale == FIXED_SCALE:
        result["fixed"] = {"scale": FIXED_SCALE, "empty": result["empty"], "same_zone": True}

    if not args.skip_floor:
        (zone.root / "floor").mkdir()
        print(f"SF{args.scale:g} floor ...", end=" ", flush=True)
        low = floor(zone.landing, PROJECT / "seeds", END, zone.root / "floor")
        if low.returncode != 0:
            raise SystemExit(f"floor script failed:\n{low.output[-4000:]}")
        print(f"{low.wall:.1f} s, peak {low.peak / GIB:.2f} GiB", flush=True)
        result["floor"] = {"seconds": low.wall, "peak_gib": low.peak / GIB}
    result["cpu_check_s"].append(round(cpu_check(), 2))
    result["targets"] = targets(result)

    (zone.root / "result.json").write_text(json.dumps(result, indent=2))
    text = report(result)
    (HERE / "results" / f"sf{args.scale:g}.md").write_text(text)
    (HERE / "results" / f"sf{args.scale:g}.json").write_text(json.dumps(result, indent=2))
    print()
    print(text)
    if not args.keep:
        shutil.rmtree(zone.warehouse, ignore_errors=True)


def targets(result: dict) -> dict:
    """The target ratios from the measured wall times (None where a figure is missing)."""
    full, empty, day = (
        result[k]["seconds"] if k in result else None for k in ("full", "empty", "day")
    )
    fixed = result["fixed"]["empty"]["seconds"] if "fixed" in result else 0.0
    span = full - fixed

    def ratio(part: float | None, whole: float) -> float | None:
        return part / whole if part is not None and whole > 0 else None

    full_target = TARGETS["full_seconds"] if result["scale"] == FULL_SECONDS_SCALE else None
    return {
        "fixed_seconds": fixed if "fixed" in result else None,
        "full_above_fixed_seconds": span,
        "empty_night": {
            "value": ratio(None if empty is None else empty - fixed, span),
            "target": TARGETS["empty_night"],
        },
        "one_day": {
            "value": ratio(None if day is None or empty is None else day - empty, span),
            "target": TARGETS["one_day"],
        },
        "full_seconds": {"value": full, "target": full_target},
        "full_to_floor": {
            "value": ratio(full, result["floor"]["seconds"]) if "floor" in result else None,
            "target": TARGETS["full_to_floor"],
        },
    }


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


def _target_rows(result: dict) -> list[str]:
    t = result["targets"]
    fixed = t["fixed_seconds"]
    fixed_text = (
        f"the SF{FIXED_SCALE:g} empty night, {fixed:.1f} s"
        if fixed is not None
        else "not measured (--no-fixed), counted as 0 s, which overstates the two ratios"
    )
    s = f"SF{result['scale']:g}"
    rows = [
        (
            f"{s} empty night over the fixed cost: (empty − fixed) ÷ (full − fixed)",
            t["empty_night"],
            "{:.3f}",
            "≤ {:g}",
        ),
        (
            f"{s} one day of deals: (one day − empty) ÷ (full − fixed)",
            t["one_day"],
            "{:.3f}",
            "≤ {:g}",
        ),
        (f"{s} full refresh", t["full_seconds"], "{:.1f} s", "≤ {:g} s"),
        (f"{s} full refresh ÷ floor", t["full_to_floor"], "{:.2f}", "≤ {:g}"),
    ]
    lines = [
        f"fixed cost: {fixed_text}",
        "",
        "| measure | value | target | met |",
        "|---|---:|---:|---|",
    ]
    for name, figure, shape, bound in rows:
        value, target = figure["value"], figure["target"]
        shown = shape.format(value) if value is not None else "n/a"
        if target is None:
            goal, met = f"(≤ {TARGETS['full_seconds']:g} s at SF10)", ""
        else:
            goal = bound.format(target)
            met = "" if value is None else ("yes" if value <= target else "no")
        lines.append(f"| {name} | {shown} | {goal} | {met} |")
    if t["full_above_fixed_seconds"] <= 0:
        lines += [
            "",
            "n/a: the full refresh took no longer than the fixed cost (a scale too small to "
            "tell them apart, or a busy machine)",
        ]
    return lines


def _stage_table(r: dict) -> list[str]:
    lines = ["| stage | seconds | peak GiB | rows | rows/s |", "|---|---:|---:|---:|---:|"]
    for stage in ("startup", "ingest", "dbt", "checks", "publish", "other"):
        s = r["stages"].get(stage)
        if not s:
            continue
        rate = f"{s['rows_per_second']:,.0f}" if s["rows_per_second"] else ""
        lines.append(
            f"| {stage} | {s['seconds']:.1f} | {s['peak_gib']:.2f} | {s['rows']:,} | {rate} |"
        )
    return lines


def report(result: dict) -> str:
    scale = f"SF{result['scale']:g}"
    lines = [f"## {scale} on {result['machine']}", ""]
    generated = [(f"SF{FIXED_SCALE:g}", result.get("fixed", {}).get("generate"))]
    for name, g in [*generated, (scale, result.get("generate"))]:
        if g:
            lines.append(f"generate {name}: {g['seconds']:.1f} s, peak {g['peak_gib']:.2f} GiB")
            lines.append("")
    lines += _target_rows(result)
    lines.append("")

    nights: list[tuple[str, dict]] = []
    fixed = result.get("fixed", {})
    if "full" in fixed:
        small = f"SF{fixed['scale']:g}"
        nights += [(f"{small} full refresh", fixed["full"])]
        nights += [(f"{small} empty night (the fixed cost)", fixed["empty"])]
    empty_title = f"{scale} empty night" + (" (the fixed cost)" if fixed.get("same_zone") else "")
    nights += [(f"{scale} full refresh", result["full"])]
    if "empty" in result:
        nights += [(empty_title, result["empty"])]
    if "day" in result:
        rows = result["day"]["delta_rows"]
        nights += [(f"{scale} one day of deals (+{rows:,} rows)", result["day"])]
    lines += ["| run | as of | seconds | peak GiB (process tree) |", "|---|---|---:|---:|"]
    for title, r in nights:
        lines.append(f"| {title} | {r['as_of']} | {r['seconds']:.1f} | {r['peak_gib']:.2f} |")
    if "floor" in result:
        f = result["floor"]
        lines.append(
            f"| {scale} floor (one DuckDB script, same marts) | {END.isoformat()} | "
            f"{f['seconds']:.1f} | {f['peak_gib']:.2f} |"
        )
    lines.append("")
    for title, r in nights:
        lines.append(f"**{title}: {r['seconds']:.1f} s, peak {r['peak_gib']:.2f} GiB**")
        lines.append("")
        lines += _stage_table(r)
        lines.append("")
    before, after = result["cpu_check_s"]
    lines.append(
        f"CPU check (20M-step Python loop; lower is faster): {before:.2f} s before the first "
        f"refresh, {after:.2f} s after the last run"
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    started = time.time()
    main()
    print(f"(bench took {time.time() - started:.0f} s)")
