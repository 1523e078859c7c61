"""The names the domain folders under `defs/` share. Each folder imports this module and never
another folder: the writer pool, the owners, the asset keys one domain reads from another (raw
tables, build database, dbt models, publish), the dbt asset key scheme, the nightly job's name
and its freshness window, and where a dbt project's seeds are."""

import json
import os
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from orchestration.ingest.contract import ENTITIES, Entity
from orchestration.warehouse.dbt_project import manifest_path

# Every asset that writes build.duckdb claims this pool; dagster.yaml limits it to one slot
# because DuckDB allows a single writer process per database file.
WRITER_POOL = "duckdb_writer"

DATA_PLATFORM = "team:data-platform"
CHANNEL_STRATEGY = "team:channel-strategy"

BUILD_DATABASE = dg.AssetKey(["ingest", "build_database"])
SERVING_WAREHOUSE = dg.AssetKey(["publish", "serving_warehouse"])
# the strategy history, partitioned by as-of date (defs/history/assets.py)
STRATEGY_HISTORY = dg.AssetKey(["history", "strategy_history"])
HISTORY_JOB = "strategy_history_backfill"
HISTORY_START_ENV = "PSW_HISTORY_START"
HISTORY_START_DEFAULT = "2020-01-01"


def history_start() -> str:
    """The first as-of date the history has a partition for (PSW_HISTORY_START)."""
    raw = os.environ.get(HISTORY_START_ENV, "").strip() or HISTORY_START_DEFAULT
    try:
        date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(
            f"{HISTORY_START_ENV}={raw!r} is not a date: use the ISO form YYYY-MM-DD"
        ) from exc
    return raw


# One partition per as-of date, up to today's (the nightly refresh's D is today unless
# PSW_AS_OF_DATE says otherwise), in the schedule's time zone.
HISTORY_PARTITIONS = dg.DailyPartitionsDefinition(
    start_date=history_start(),
    end_offset=1,
    timezone=os.environ.get("PSW_TIMEZONE", "UTC") or "UTC",
)


def raw_key(entity: str) -> dg.AssetKey:
    """`raw/<entity>`: the ingestion asset of a landing entity (and dbt's source of it)."""
    return dg.AssetKey(["raw", entity])


RAW_KEYS = [raw_key(name) for name in ENTITIES]


def raw_upstream(entity: Entity) -> list[dg.AssetKey]:
    """The raw tables an entity's ingestion waits for: partners, for the entities that refer to
    partners."""
    return [raw_key("partners")] if entity.partner_fk else []


# dbt asset keys are `<layer>/<name>`: the layer is the model's folder, `reference` for seeds.
_DBT_LAYERS = {"staging": "staging", "intermediate": "intermediate", "marts": "marts"}
# the dbt nodes dagster-dbt makes assets of (tests become checks; sources are raw/<entity>)
_DBT_ASSET_TYPES = ("model", "seed", "snapshot")


def dbt_layer(resource_type: str, fqn: list[str]) -> str:
    if resource_type == "seed":
        return "reference"
    return _DBT_LAYERS.get(fqn[1], "dbt") if len(fqn) > 1 else "dbt"


def dbt_asset_key(resource_type: str, fqn: list[str], name: str) -> dg.AssetKey:
    return dg.AssetKey([dbt_layer(resource_type, fqn), name])


def dbt_asset_keys(manifest: Path | None = None) -> list[dg.AssetKey]:
    """The asset keys of the dbt models and seeds of the prepared manifest, sorted."""
    nodes = json.loads((manifest or manifest_path()).read_text())["nodes"].values()
    keys = {
        dbt_asset_key(node["resource_type"], node["fqn"], node["name"])
        for node in nodes
        if node["resource_type"] in _DBT_ASSET_TYPES
    }
    return sorted(keys, key=lambda k: k.to_user_string())


NIGHTLY_JOB = "nightly_refresh"

# The marts and the serving file are refreshed every night: older than a day and an hour is a
# warning, older than 26 hours means a night was missed (the freshness alert sensor,
# defs/automation/freshness.py, uses the same window).
FRESHNESS_WARN_WINDOW = timedelta(hours=25)
FRESHNESS_FAIL_WINDOW = timedelta(hours=26)
NIGHTLY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=FRESHNESS_FAIL_WINDOW, warn_window=FRESHNESS_WARN_WINDOW
)


def seeds_dir_of(dbt_project_dir: str | Path) -> Path:
    """The reference data the loader and the gates check codes against: the dbt project's seeds
    (one source of truth for the loader and for dbt; see seed-paths in dbt_project.yml)."""
    return Path(dbt_project_dir).resolve().parent / "seeds"
