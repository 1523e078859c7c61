"""The serving database and the Parquet exports as a BI tool sees them: a separate process that
opens `serving.duckdb` read-only (Metabase, Superset, DBeaver and Evidence all do) and runs the
queries a dashboard runs, on the hand-computed fixture of tests/fixtures/metrics.py.

tests/test_metrics.py checks every mart figure; this file checks that a client can get at them:
the schemas and types it browses, aggregates across marts, and the exports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import MARTS, JobRunner
from tests.fixtures import metrics

# A BI client in a process of its own: reads {name: sql} on stdin, prints {name: rows} as JSON.
CLIENT = textwrap.dedent(
    """
    import json, sys
    import duckdb

    database = sys.argv[1]
    queries = json.load(sys.stdin)
    con = duckdb.connect(database, read_only=True) if database else duckdb.connect()
    out = {}
    for name, sql in queries.items():
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        out[name] = [dict(zip(names, row)) for row in cursor.fetchall()]
    con.close()
    json.dump(out, sys.stdout, default=str)
    """
)


def bi_client(database: Path | None, queries: dict[str, str], cwd: Path) -> dict[str, list]:
    """Run `queries` in a fresh Python process: on `database` read-only, or in memory."""
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, str(database) if database else ""],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, job_runner: JobRunner) -> Path:
    root = tmp_path_factory.mktemp("bi")
    landing = metrics.write_landing(root / "landing")
    seeds = metrics.write_seeds(root / "seeds")
    outcome = job_runner.run(landing, root / "warehouse", seeds, as_of=metrics.AS_OF)
    assert outcome.success, outcome.summary()
    return root / "warehouse"


def approx(value: float):
    return pytest.approx(value, rel=1e-9, abs=1e-9)


def test_dashboard_queries(warehouse, tmp_path):
    rows = bi_client(
        warehouse / "serving.duckdb",
        {
            # what a SQL editor's schema browser lists
            "tables": "select table_schema, table_name from information_schema.tables order by all",
            "scorecard": "select as_of_date, typeof(as_of_date) as as_of_type, vendor_name, "
            "growth_stage, coverage_pct, active_ratio, partner_sourced_revenue_usd, "
            "roi_multiple from marts.mart_strategy_scorecard",
            "coverage_by_region_segment": """
                select region, segment,
                    coalesce(sum(addressable_accounts) filter (where is_targeted), 0)
                        as targeted,
                    coalesce(sum(addressable_accounts) filter (where is_targeted and is_covered),
                        0) as covered,
                    round(100.0 * covered / nullif(targeted, 0), 1) as coverage_pct
                from marts.mart_coverage_cells
                group by all order by region, segment""",
            "segments_by_gap": "select segment, coverage_gap_pct "
            "from marts.mart_coverage_by_segment order by coverage_gap_pct desc",
            "productivity_trend": """
                select strftime(month, '%Y-%m') as month, sum(active_partners) as active,
                    sum(partner_revenue_usd_in_month) as revenue_in_month,
                    sum(partner_revenue_usd_trailing_365d) as revenue,
                    sum(partner_sourced_revenue_usd_trailing_365d)
                        / nullif(sum(investment_usd_trailing_365d), 0) as roi
                from marts.mart_productivity_monthly
                where month >= date '2025-01-01'
                group by all order by month""",
            "top_partners": """
                select partner_id, partner_name, partner_type, region, partner_revenue_usd
                from marts.mart_partner_scorecard
                order by partner_revenue_usd desc nulls last, partner_id limit 4""",
            "rejects_by_reason": """
                select entity, split_part(reason, ':', 1) as reason, count(*) as n_rows
                from audit.rejected_rows group by all order by n_rows desc, entity""",
        },
        cwd=tmp_path,
    )
    tables = {(r["table_schema"], r["table_name"]) for r in rows["tables"]}
    assert {t for s, t in tables if s == "marts"} == set(MARTS)
    assert {("audit", "rejected_rows"), ("audit", "loaded_files")} <= tables

    [card] = rows["scorecard"]
    assert (card["as_of_date"], card["as_of_type"]) == (metrics.AS_OF, "DATE")
    assert (card["vendor_name"], card["growth_stage"]) == ("Fixture Vendor", "growth")
    assert card["coverage_pct"] == approx(215 / 245)
    assert card["active_ratio"] == approx(0.8)
    assert card["partner_sourced_revenue_usd"] == approx(8000)
    assert card["roi_multiple"] == approx(1.6)

    coverage = {
        (r["region"], r["segment"]): (r["targeted"], r["covered"], r["coverage_pct"])
        for r in rows["coverage_by_region_segment"]
    }
    assert coverage == {
        ("APAC", "enterprise"): (5, 5, 100.0),  # JP hybrid, P7
        ("APAC", "smb"): (30, 0, 0.0),  # JP smb retail: no qualified partner covers it
        ("EMEA", "mid_market"): (20, 20, 100.0),
        ("EMEA", "smb"): (40, 40, 100.0),
        ("NA", "enterprise"): (0, 0, None),  # the US enterprise cell is direct: n/a
        ("NA", "smb"): (150, 150, 100.0),
    }
    assert [r["segment"] for r in rows["segments_by_gap"]] == ["smb", "mid_market", "enterprise"]

    trend = {r["month"]: r for r in rows["productivity_trend"]}
    assert list(trend) == [f"2025-0{m}" for m in range(1, 7)]
    # June = D: reseller, msp, isv (P3) and the alliance have one active partner each;
    # revenue 4500 + 1900 + 3000. March: 2 resellers, msp, alliance; 1500 + 1300 + 3000.
    assert (trend["2025-06"]["active"], trend["2025-06"]["revenue"]) == (4, approx(9400))
    assert (trend["2025-03"]["active"], trend["2025-03"]["revenue"]) == (4, approx(5800))
    assert trend["2025-06"]["roi"] == approx(8000 / 5000)
    # closed in the month: June D03 2500 (2000 EUR at 1.25) + D13 800; March D04 1100 + D10 3000
    assert trend["2025-06"]["revenue_in_month"] == approx(3300)
    assert trend["2025-03"]["revenue_in_month"] == approx(4100)

    assert [
        (r["partner_id"], r["partner_name"], r["partner_type"], r["partner_revenue_usd"])
        for r in rows["top_partners"]
    ] == [
        ("P1", "Acme", "reseller", approx(4100)),
        ("P7", "Golf", "strategic_alliance", approx(3000)),
        ("P2", "Bravo", "msp", approx(1900)),
        ("P4", "Delta", "reseller", approx(400)),
    ]
    assert rows["rejects_by_reason"] == [{"entity": "deals", "reason": "no FX rate", "n_rows": 1}]


def test_two_bi_clients_read_at_once(warehouse, tmp_path):
    """Read-only connections do not lock each other out: a dashboard and an analyst's SQL
    editor can both have the file open."""
    serving = warehouse / "serving.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
            "con.execute('select count(*) from marts.mart_strategy_scorecard').fetchall(); "
            "print('open', flush=True); sys.stdin.read()",
            str(serving),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        rows = bi_client(
            serving, {"n": "select count(*) as n from marts.mart_coverage_cells"}, tmp_path
        )
        assert rows["n"] == [{"n": 7}]
    finally:
        holder.communicate(input="", timeout=60)
    assert holder.returncode == 0


def test_parquet_exports_read_by_a_fresh_process(warehouse, tmp_path):
    exports = warehouse / "exports"
    assert sorted(p.stem for p in exports.glob("*.parquet")) == MARTS
    counts = bi_client(
        warehouse / "serving.duckdb",
        {m: f"select count(*) as n from marts.{m}" for m in MARTS},
        cwd=tmp_path,
    )
    from_parquet = bi_client(
        None,
        {
            **{
                m: f"select count(*) as n from read_parquet('{exports / m}.parquet')" for m in MARTS
            },
            "productivity": "select partner_type, roi_multiple, typeof(as_of_date) as t "
            f"from read_parquet('{exports}/mart_ecosystem_productivity.parquet') "
            "where partner_type in ('reseller', 'referral', 'oem') order by partner_type",
            "monthly": "select count(distinct month) as months, min(month) as first, "
            f"max(month) as last from '{exports}/mart_productivity_monthly.parquet'",
        },
        cwd=tmp_path,
    )
    assert {m: from_parquet[m] for m in MARTS} == counts
    assert from_parquet["productivity"] == [
        {"partner_type": "oem", "roi_multiple": None, "t": "DATE"},  # no investment
        {"partner_type": "referral", "roi_multiple": 0.0, "t": "DATE"},
        {"partner_type": "reseller", "roi_multiple": approx(3.9), "t": "DATE"},
    ]
    assert from_parquet["monthly"] == [
        {"months": 30, "first": str(date(2023, 1, 1)), "last": str(date(2025, 6, 1))}
    ]


def test_the_serving_file_and_the_exports_are_one_publish(warehouse, tmp_path):
    """The public paths lead through `current` to one publish folder; a client can check that
    the exports it read belong to the publish of the serving file it read (the publish id in
    audit.publish_log and in every export's Parquet metadata)."""
    assert (warehouse / "serving.duckdb").is_symlink() and (warehouse / "exports").is_symlink()
    served = bi_client(
        warehouse / "serving.duckdb",
        {"log": "select publish_id, run_id from audit.publish_log"},
        tmp_path,
    )["log"]
    exported = bi_client(
        None,
        {
            "kv": "select file_name, decode(key) as k, decode(value) as v from "
            f"parquet_kv_metadata('{warehouse / 'exports'}/*.parquet') "
            "where decode(key) in ('psw_publish_id', 'psw_run_id')"
        },
        tmp_path,
    )["kv"]
    [log] = served
    assert log["publish_id"] == (warehouse / "current").resolve().name
    by_key: dict[str, set[str]] = {}
    for row in exported:
        by_key.setdefault(row["k"], set()).add(row["v"])
    assert by_key == {"psw_publish_id": {log["publish_id"]}, "psw_run_id": {log["run_id"]}}
    assert len({row["file_name"] for row in exported}) == len(MARTS)
