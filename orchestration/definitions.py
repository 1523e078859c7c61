"""Everything Dagster shows: ingestion, dbt and publish assets, checks, job and schedule."""

import dagster as dg

from orchestration.defs.dbt import dbt_models, dbt_resource
from orchestration.defs.ingest import ingest_assets
from orchestration.defs.jobs import nightly_refresh, nightly_schedule
from orchestration.defs.publish import serving_warehouse
from orchestration.resources import Warehouse

defs = dg.Definitions(
    assets=[*ingest_assets, dbt_models, serving_warehouse],
    jobs=[nightly_refresh],
    schedules=[nightly_schedule],
    resources={"dbt": dbt_resource(), "warehouse": Warehouse()},
)
