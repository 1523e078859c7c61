"""The warehouse as a Dagster resource: where files live and how to open the build database."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from orchestration.settings import Settings, load_settings


class Warehouse(dg.ConfigurableResource):
    """Locations and the as-of date. Empty fields fall back to the PSW_* environment (SPEC §8),
    read when a run starts, so a long-running `dagster dev` picks up today's date each night."""

    landing_dir: str = ""
    warehouse_dir: str = ""
    as_of_date: str = ""

    def settings(self) -> Settings:
        env = dict(os.environ)
        for name, value in (
            ("PSW_LANDING_DIR", self.landing_dir),
            ("PSW_WAREHOUSE_DIR", self.warehouse_dir),
            ("PSW_AS_OF_DATE", self.as_of_date),
        ):
            if value:
                env[name] = value
        return load_settings(env)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to the build database (one writer at a time: see the
        `duckdb_writer` pool in dagster.yaml)."""
        settings = self.settings()
        settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
        settings.temp_dir.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(settings.build_db), config=settings.duckdb_config())
        try:
            yield con
        finally:
            con.close()
