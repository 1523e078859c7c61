"""The resources every domain's assets, checks and sensors use."""

import dagster as dg

from orchestration.alerts import alert_channels
from orchestration.warehouse.resources import Warehouse, dbt_resource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={"dbt": dbt_resource(), "warehouse": Warehouse(), "alerts": alert_channels()}
    )
