"""The resources of the definitions: the warehouse (where files live and how to open the build
database) and the dbt CLI."""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from orchestration.settings import Settings, load_settings
from orchestration.warehouse.dbt_project import dbt_project


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


def dbt_resource(project_dir: Path | None = None) -> DbtCliResource:
    """The dbt CLI on our project, or on a copy of it (tests give a copy with other seeds)."""
    # dbt runs as a subprocess: use the dbt of this interpreter's environment, which is not
    # necessarily on PATH (e.g. `.venv/bin/psw` called from a shell without the venv).
    executable = Path(sys.executable).parent / "dbt"
    return DbtCliResource(
        project_dir=str(project_dir) if project_dir else dbt_project,
        dbt_executable=str(executable) if executable.exists() else "dbt",
    )
