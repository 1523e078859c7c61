"""Everything Dagster shows: assets, checks, the nightly job, its schedule and sensors."""

import dagster as dg

from orchestration.alerts import alert_channels
from orchestration.defs.automation.freshness import serving_freshness_alert
from orchestration.defs.automation.jobs import nightly_refresh, nightly_schedule
from orchestration.defs.automation.sensors import failure_alert, landing_zone_sensor
from orchestration.defs.ingest.assets import ingest_assets
from orchestration.defs.publish.assets import serving_warehouse
from orchestration.defs.quality.checks import quality_checks
from orchestration.defs.transform.assets import dbt_models, dbt_resource
from orchestration.warehouse.resources import Warehouse

defs = dg.Definitions(
    assets=[*ingest_assets, dbt_models, serving_warehouse],
    asset_checks=quality_checks,
    jobs=[nightly_refresh],
    schedules=[nightly_schedule],
    sensors=[landing_zone_sensor, failure_alert, serving_freshness_alert],
    resources={"dbt": dbt_resource(), "warehouse": Warehouse(), "alerts": alert_channels()},
)
