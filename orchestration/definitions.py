"""Everything Dagster shows: assets, checks, the nightly job, its schedule and sensors."""

import dagster as dg

from orchestration.alerts import alert_channels
from orchestration.defs.dbt import dbt_models, dbt_resource
from orchestration.defs.freshness import serving_freshness_alert
from orchestration.defs.ingest import ingest_assets
from orchestration.defs.jobs import nightly_refresh, nightly_schedule
from orchestration.defs.publish import serving_warehouse
from orchestration.defs.quality import quality_checks
from orchestration.defs.sensors import failure_alert, landing_zone_sensor
from orchestration.resources import Warehouse

defs = dg.Definitions(
    assets=[*ingest_assets, dbt_models, serving_warehouse],
    asset_checks=quality_checks,
    jobs=[nightly_refresh],
    schedules=[nightly_schedule],
    sensors=[landing_zone_sensor, failure_alert, serving_freshness_alert],
    resources={"dbt": dbt_resource(), "warehouse": Warehouse(), "alerts": alert_channels()},
)
