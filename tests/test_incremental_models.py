"""The incremental intermediate models (macros/incremental.sql) give the rows of a full rebuild.

One warehouse lives two nights through the real nightly_refresh job. Night 1 loads a small
landing zone and builds everything. Night 2 loads replaced rows (same key, new values: a deal
moved to another account, a won deal lost, a new amount), a late version (updated before night
1, delivered after it), a stale version (older than the stored one, which the loader ignores),
a rejected row, a new deal, a partner whose type changed through an alias and changed
certifications; the fx_rates seed has a corrected EUR rate; dbt builds incrementally. Then a
copy of the build database is rebuilt with `dbt build --full-refresh` of the incremental models
and everything downstream of them, and every incremental model, int_certifications and every
mart must hold the same rows in both (EXCEPT ALL both ways).

The changed seed makes int_deals recompute every deal on night 2; its selection of the deals of
later loads is checked by the dbt unit tests int_deals_incremental_* (models/intermediate/
_unit_tests.yml). The first-win models and int_certification_intervals recompute only what
changed, as do the version-history models (int_deal_stage_firsts, int_deal_day_versions,
int_incentive_day_versions: the keys with a version of a later load).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.contract import ENTITIES
from orchestration.settings import SEEDS_DIR, load_settings
from orchestration.warehouse.history_changes import HISTORY_MARTS
from tests.conftest import MARTS, JobRunner, query, write_csv

NIGHTS = ("2025-06-30", "2025-07-01")
INCREMENTAL = (
    "int_deals",
    "int_account_first_wins",
    "int_partner_first_wins",
    "int_certification_intervals",
    "int_deal_stage_firsts",
    "int_deal_day_versions",
    "int_incentive_day_versions",
)
# The latest load int_deals reflected when the row was computed: a row recomputed by a later
# night holds a later load than the same row of a full rebuild, which computes every row at once.
COMPUTED_AT_LOAD = {"int_account_first_wins", "int_partner_first_wins"}
COLUMNS = {name: list(entity.column_names) for name, entity in ENTITIES.items()}
NIGHT_1 = "2025-06-01 09:00:00"


def partner(partner_id: str, partner_type: str, country: str, **changes: str) -> dict:
    return {
        "partner_id": partner_id,
        "partner_name": f"Partner {partner_id}",
        "partner_type": partner_type,
        "tier": "silver",
        "program_status": "enrolled",
        "is_strategic": "false",
        "hq_country": country,
        "countries_served": country,
        "segments_served": "smb",
        "verticals_served": "",
        "applied_on": "2023-01-01",
        "enrolled_on": "2024-01-10",
        "terminated_on": "",
        "updated_at": NIGHT_1,
        **changes,
    }


def deal(
    deal_id: str,
    partner_id: str,
    stage: str,
    account: str,
    amount: object,
    currency: str,
    registered: str = "",
    closed: str = "",
    **changes: str,
) -> dict:
    return {
        "deal_id": deal_id,
        "partner_id": partner_id,
        "deal_source": "partner_sourced" if partner_id else "direct",
        "account_id": account,
        "account_country": "DE" if currency == "EUR" else "US",
        "account_segment": "smb",
        "account_vertical": "retail",
        "product_line": "endpoint",
        "amount": str(amount),
        "currency": currency,
        "stage": stage,
        "registered_on": registered,
        "closed_on": closed,
        "updated_at": NIGHT_1,
        **changes,
    }


def certification(cert_id: str, partner_id: str, person: str, expires: str = "", **changes: str):
    return {
        "certification_id": cert_id,
        "partner_id": partner_id,
        "person_id": person,
        "track": "endpoint",
        "vertical": "",
        "level": "associate",
        "earned_on": "2024-06-01",
        "expires_on": expires,
        "updated_at": NIGHT_1,
        **changes,
    }


def incentive(incentive_id: str, partner_id: str, amount: int, currency: str) -> dict:
    return {
        "incentive_id": incentive_id,
        "partner_id": partner_id,
        "program": "mdf",
        "amount": str(amount),
        "currency": currency,
        "status": "approved",
        "approved_on": "2025-03-01",
        "paid_on": "",
        "updated_at": NIGHT_1,
    }


def write_night_1(landing: Path) -> None:
    partners = [
        partner("P1", "reseller", "US"),
        partner("P2", "VAR", "DE"),  # an alias of reseller
        partner("P3", "msp", "DE"),
        partner("P4", "isv", "US"),
    ]
    deals = [
        deal("D01", "P1", "won", "A1", 1000, "EUR", "2025-01-05", "2025-02-10"),
        deal("D02", "P1", "won", "A2", 2000, "USD", "2025-02-01", "2025-03-15"),
        deal("D03", "P2", "won", "A3", 1500, "EUR", "2025-02-10", "2025-04-01"),
        deal("D04", "P2", "lost", "A4", 500, "EUR", "2025-03-01", "2025-04-20"),
        deal("D05", "P3", "won", "A5", 800, "EUR", "2025-03-10", "2025-05-05"),
        deal("D06", "P3", "registered", "A6", 700, "USD", "2025-06-01"),
        deal("D07", "P4", "won", "A1", 300, "USD", "2025-04-01", "2025-05-20"),
        deal("X01", "", "won", "A7", 900, "EUR", closed="2025-02-01"),
        deal("X02", "", "approved", "A2", 100, "USD"),
    ]
    certifications = [
        certification("C1", "P1", "p1"),
        certification("C2", "P2", "p2"),
        certification("C3", "P3", "p3", expires="2025-07-01"),
        certification("C4", "P4", "p4"),
    ]
    incentives = [incentive("N1", "P1", 1000, "USD"), incentive("N2", "P3", 500, "EUR")]
    day = NIGHTS[0]
    write_csv(landing / "partners" / f"partners_{day}.csv", COLUMNS["partners"], partners)
    write_csv(landing / "deals" / f"deals_{day}.csv", COLUMNS["deals"], deals)
    write_csv(
        landing / "certifications" / f"certifications_{day}.csv",
        COLUMNS["certifications"],
        certifications,
    )
    write_csv(landing / "incentives" / f"incentives_{day}.csv", COLUMNS["incentives"], incentives)


def write_night_2(landing: Path) -> None:
    later, late, stale = "2025-06-30 18:00:00", "2025-06-20 10:00:00", "2025-05-01 00:00:00"
    deals = [
        # replaced: D01, A1's and P1's first win, moves to account A9 (A1's next win is D07)
        deal("D01", "P1", "won", "A9", 1000, "EUR", "2025-01-05", "2025-02-10", updated_at=later),
        # replaced: D03, P2's only win and A3's, is lost after all (no first win left for them)
        deal("D03", "P2", "lost", "A3", 1500, "EUR", "2025-02-10", "2025-04-01", updated_at=later),
        # replaced: a new amount
        deal("D05", "P3", "won", "A5", 1800, "EUR", "2025-03-10", "2025-05-05", updated_at=later),
        # late: updated before night 1 was built, delivered only now; newer than the stored row
        deal("D06", "P3", "approved", "A6", 750, "USD", "2025-06-01", updated_at=late),
        # stale: older than the stored row, so the loader keeps the stored one
        deal("D02", "P1", "won", "A2", 9999, "USD", "2025-02-01", "2025-03-15", updated_at=stale),
        # rejected (the amount is not a number): D07 stays as loaded on night 1
        deal(
            "D07", "P4", "lost", "A1", "lots", "USD", "2025-04-01", "2025-05-20", updated_at=later
        ),
        # a new deal and a new account
        deal("D08", "P4", "won", "A10", 400, "EUR", "2025-06-10", "2025-06-29", updated_at=later),
    ]
    # P1's type changes through an alias (MSSP → msp): its deals, D02 included, change type
    partners = [partner("P1", "MSSP", "US", updated_at=later)]
    certifications = [
        certification("C2", "P2", "p2", expires="2025-06-15", updated_at=later),
        certification("C5", "P2", "p5", updated_at=later),
    ]
    day = NIGHTS[1]
    write_csv(landing / "deals" / f"deals_{day}.csv", COLUMNS["deals"], deals)
    write_csv(landing / "partners" / f"partners_{day}.csv", COLUMNS["partners"], partners)
    write_csv(
        landing / "certifications" / f"certifications_{day}.csv",
        COLUMNS["certifications"],
        certifications,
    )


def change_eur_rate(seeds: Path) -> None:
    """Night 2: the EUR rate of February 2025 (D01's month) is corrected in the fx_rates seed."""
    path = seeds / "fx_rates.csv"
    lines = path.read_text().splitlines()
    changed = [
        "EUR,2025-02-01,1.250000" if line.startswith("EUR,2025-02-01,") else line for line in lines
    ]
    assert changed != lines
    path.write_text("\n".join(changed) + "\n")


def full_refresh_copy(warehouse: Path, project: Path, as_of: str, target: Path) -> Path:
    """A copy of the warehouse's build database in which dbt rebuilds the incremental models
    and everything downstream of them with --full-refresh, as of the same D (the history marts
    recompute D's rows)."""
    target.mkdir(parents=True)
    shutil.copy(warehouse / "build.duckdb", target / "build.duckdb")
    settings = load_settings(
        {**os.environ, "PSW_WAREHOUSE_DIR": str(target), "PSW_AS_OF_DATE": as_of}
    )
    settings.temp_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **settings.dbt_env(),
        "PSW_DBT_TARGET": "duckdb",
        "PSW_DBT_THREADS": "2",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    executable = Path(sys.executable).parent / "dbt"
    history_marts = list(HISTORY_MARTS)
    # The history marts keep the rows of every night's D: they are built incrementally (D's
    # rows recomputed from the rebuilt models), after everything else is rebuilt in full.
    builds = [
        [
            "--full-refresh",
            "--select",
            *(f"{name}+" for name in INCREMENTAL),
            "--exclude",
            *(f"{name}+" for name in history_marts),
        ],
        ["--select", *(f"{name}+" for name in history_marts)],
    ]
    for selection in builds:
        proc = subprocess.run(
            [
                str(executable) if executable.exists() else "dbt",
                "build",
                "--exclude-resource-type",
                "unit_test",
                *selection,
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
                "--target-path",
                str(target / "dbt_target"),
                "--log-path",
                str(target / "dbt_logs"),
            ],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return target / "build.duckdb"


def relations() -> list[tuple[str, str]]:
    return [
        *(("intermediate", name) for name in (*INCREMENTAL, "int_certifications")),
        *(("marts", name) for name in MARTS),
    ]


def snapshot(con: duckdb.DuckDBPyConnection, build_db: Path, prefix: str) -> None:
    """Copy the compared relations of a build database into tables `<prefix>_<name>`. The
    database is attached as `build`, the name its views refer to."""
    con.execute(f"attach '{build_db}' as build (read_only)")
    for schema, name in relations():
        con.execute(f'create table {prefix}_{name} as select * from build.{schema}."{name}"')
    con.execute("detach build")


def compare(incremental_db: Path, full_db: Path, scratch: Path) -> dict[str, tuple]:
    """Per relation: (rows only in the incremental build, rows only in the full rebuild, by
    EXCEPT ALL both ways; the incremental build's row count)."""
    out = {}
    with duckdb.connect(str(scratch / "compare.duckdb")) as con:
        snapshot(con, incremental_db, "inc")
        snapshot(con, full_db, "full")
        for _, name in relations():
            columns = [
                row[0]
                for row in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_name = ? order by ordinal_position",
                    [f"inc_{name}"],
                ).fetchall()
                if not (name in COMPUTED_AT_LOAD and row[0] == "source_load_id")
            ]
            cols = ", ".join(f'"{c}"' for c in columns)
            only_inc = con.execute(
                f"select {cols} from inc_{name} except all select {cols} from full_{name}"
            ).fetchall()
            only_full = con.execute(
                f"select {cols} from full_{name} except all select {cols} from inc_{name}"
            ).fetchall()
            [(rows,)] = con.execute(f"select count(*) from inc_{name}").fetchall()
            out[name] = (only_inc, only_full, rows)
    return out


def incremental_branch_ran(warehouse: Path) -> dict[str, bool]:
    """Whether each incremental model's last build took its incremental branch (its compiled
    SQL reads the table it replaces rows of: the `previous` CTE)."""
    results = json.loads((warehouse / "dbt_target" / "run_results.json").read_text())
    compiled = {
        r["unique_id"].rsplit(".", 1)[-1]: r.get("compiled_code") or "" for r in results["results"]
    }
    return {name: "previous as (" in compiled.get(name, "") for name in INCREMENTAL}


def table(db: Path, sql: str) -> dict:
    return {row[0]: row[1:] for row in query(db, sql)}


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory, job_runner: JobRunner) -> dict:
    root = tmp_path_factory.mktemp("incremental")
    landing, warehouse = root / "landing", root / "warehouse"
    seeds = root / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    project = job_runner.project_with(seeds)  # the project copy whose ../seeds the runs read
    build_db = warehouse / "build.duckdb"
    out: dict = {"project": project}

    write_night_1(landing)
    outcome = job_runner.run(landing, warehouse, seeds, as_of=NIGHTS[0])
    assert outcome.success, outcome.summary()
    out["night_1"] = {
        "deals": table(
            build_db, "select deal_id, partner_type, amount_usd from intermediate.int_deals"
        ),
        "fingerprint": query(
            build_db, "select distinct build_fingerprint from intermediate.int_deals"
        ),
        "first_wins_load": query(
            build_db, "select max(source_load_id) from intermediate.int_account_first_wins"
        )[0][0],
    }

    write_night_2(landing)
    change_eur_rate(project.parent / "seeds")
    outcome = job_runner.run(landing, warehouse, seeds, as_of=NIGHTS[1])
    assert outcome.success, outcome.summary()
    out["night_2"] = {
        "branch": incremental_branch_ran(warehouse),
        "rejected": query(
            build_db,
            "select record_key from audit.rejected_rows where entity = 'deals' "
            f"and source_file = 'deals_{NIGHTS[1]}.csv'",
        ),
        "deals": table(
            build_db,
            "select deal_id, partner_type, account_id, stage, amount, amount_usd "
            "from intermediate.int_deals",
        ),
        "fingerprint": query(
            build_db, "select distinct build_fingerprint from intermediate.int_deals"
        ),
        "accounts": table(
            build_db, "select account_id, first_deal_id from intermediate.int_account_first_wins"
        ),
        "partners": table(
            build_db,
            "select partner_id, first_win_deal_id from intermediate.int_partner_first_wins",
        ),
        "first_wins_loads": query(
            build_db,
            "select distinct source_load_id from intermediate.int_account_first_wins order by 1",
        ),
        "comparison": compare(
            build_db,
            full_refresh_copy(warehouse, project, NIGHTS[1], root / "full"),
            root / "full",
        ),
    }
    return out


def test_night_2_builds_incrementally_what_changed(nights: dict) -> None:
    first, second = nights["night_1"], nights["night_2"]
    assert second["branch"] == dict.fromkeys(INCREMENTAL, True)
    # the rejected row is in the rejects, and D07 keeps its night-1 version
    assert second["rejected"] == [("D07",)]
    assert second["deals"]["D07"][2:4] == ("won", 300)
    # the stale version of D02 lost to the stored one; P1's new type reached D02 all the same
    assert first["deals"]["D02"][0] == "reseller"
    assert second["deals"]["D02"][0] == "msp"
    assert second["deals"]["D02"][3] == 2000
    # the replaced rows and the late one
    assert second["deals"]["D01"][1] == "A9"
    assert second["deals"]["D05"][3] == 1800
    assert second["deals"]["D06"][2:4] == ("approved", 750)
    # first wins: A1's moved to D07, A3 and P2 lost theirs, A9 and A10 are new
    assert second["accounts"]["A1"] == ("D07",)
    assert "A3" not in second["accounts"] and "P2" not in second["partners"]
    assert second["accounts"]["A9"] == ("D01",) and second["accounts"]["A10"] == ("D08",)
    # only the touched accounts were recomputed: the others keep night 1's load
    loads = [row[0] for row in second["first_wins_loads"]]
    assert len(loads) == 2 and loads[0] == first["first_wins_load"]


def test_a_changed_fx_rate_recomputes_every_deal(nights: dict) -> None:
    first, second = nights["night_1"], nights["night_2"]
    # one fingerprint, not night 1's: every deal was recomputed
    assert len(second["fingerprint"]) == 1
    assert second["fingerprint"] != first["fingerprint"]
    # D01 (EUR, closed in February 2025): 1000 × 1.25, not the shipped rate
    assert float(first["deals"]["D01"][1]) != 1250.0
    assert float(second["deals"]["D01"][4]) == 1250.0


def test_the_incremental_build_equals_a_full_rebuild(nights: dict) -> None:
    comparison = nights["night_2"]["comparison"]
    assert {name: diff for name, (*diff, _) in comparison.items() if any(diff)} == {}
    # not vacuous: every compared relation has rows, but the accounts in channel conflict
    # (no deal of this landing zone conflicts with another)
    empty = {name for name, (*_, rows) in comparison.items() if rows == 0}
    assert empty == {"mart_channel_conflict_accounts"}
