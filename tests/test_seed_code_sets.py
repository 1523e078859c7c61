"""A code set that a seed holds is read from that seed everywhere: a ninth partner type added to
the seeds only (`marketplace`, cloud marketplaces) is loaded, modelled, checked, published and
reported, without a code change (SPEC §4)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from orchestration.generator import generate
from orchestration.settings import SEEDS_DIR
from tests.conftest import JobRunner, query

NEW_TYPE = "marketplace"
STAGES = ("early", "growth", "mature", "expansion")
PARTNER_TYPE_MARTS = (
    "mart_ecosystem_productivity",
    "mart_execution_alignment",
    "mart_growth_stage_fit",
)


def _append(path: Path, rows: list[list[str]]) -> None:
    with path.open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def add_marketplace(seeds: Path) -> None:
    """The strategy team's edit: the type, an alias, its targets (the reseller gives up 0.05 of
    each target share, so both columns still sum to 1) and its role at every growth stage."""
    _append(
        seeds / "partner_types.csv",
        [[NEW_TYPE, "Cloud Marketplace", "9", "Lists and bills the product in a cloud store."]],
    )
    _append(seeds / "partner_type_aliases.csv", [["Cloud Marketplace", NEW_TYPE]])
    targets = seeds / "strategy_targets.csv"
    with targets.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    fields = list(rows[0])
    for row in rows:
        if row["partner_type"] == "reseller":
            row["target_partner_share"] = f"{float(row['target_partner_share']) - 0.05:.2f}"
            row["target_investment_share"] = f"{float(row['target_investment_share']) - 0.05:.2f}"
    rows.append(
        {
            **dict.fromkeys(fields, ""),
            "partner_type": NEW_TYPE,
            "target_partner_share": "0.05",
            "target_investment_share": "0.05",
        }
    )
    with targets.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    _append(
        seeds / "growth_stage_playbook.csv",
        [
            [stage, NEW_TYPE, "supporting", "Marketplace listings shorten procurement."]
            for stage in STAGES
        ],
    )


@pytest.fixture(scope="module")
def marketplace_night(tmp_path_factory: pytest.TempPathFactory, job_runner: JobRunner):
    root = tmp_path_factory.mktemp("marketplace")
    seeds = root / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    add_marketplace(seeds)
    landing = root / "landing"
    generate(landing, scale=0.02, seed=11, dirty_rate=0.0, seeds_dir=seeds)
    outcome = job_runner.run(landing, root / "warehouse", seeds, as_of="2026-06-30")
    return outcome, root / "warehouse"


def test_no_partner_of_the_new_type_is_rejected(marketplace_night):
    _, warehouse = marketplace_night
    loaded = query(
        warehouse / "serving.duckdb",
        "select count(*) from audit.rejected_rows where reason like '%partner_type%'",
    )
    assert loaded == [(0,)]


def test_a_type_added_in_the_seeds_only_publishes_and_passes_every_gate(marketplace_night):
    outcome, warehouse = marketplace_night
    assert outcome.success, outcome.summary()
    assert outcome.failed_checks == []
    serving = warehouse / "serving.duckdb"
    for mart in PARTNER_TYPE_MARTS:
        rows = query(
            serving, f"select count(*) from marts.{mart} where partner_type = ?", [NEW_TYPE]
        )
        assert rows == [(1,)], mart
    enrolled = query(
        serving,
        "select enrolled_partners from marts.mart_ecosystem_productivity where partner_type = ?",
        [NEW_TYPE],
    )
    assert enrolled[0][0] > 0
    target = query(
        serving,
        "select target_partner_share from marts.mart_execution_alignment where partner_type = ?",
        [NEW_TYPE],
    )
    assert target == [(pytest.approx(0.05),)]
    roles = query(
        serving,
        "select role from marts.mart_growth_stage_fit where partner_type = ?",
        [NEW_TYPE],
    )
    assert roles == [("supporting",)]
    # its label and sort order come from the row the team added (the ninth of the seed)
    for mart in PARTNER_TYPE_MARTS:
        labels = query(
            serving,
            f"select partner_type_name, partner_type_sort_order from marts.{mart} "
            "where partner_type = ?",
            [NEW_TYPE],
        )
        assert labels == [("Cloud Marketplace", 9)], mart


def test_the_report_shows_the_new_type(marketplace_night):
    _, warehouse = marketplace_night
    html = (warehouse / "report" / "index.html").read_text(encoding="utf-8")
    assert NEW_TYPE in html
