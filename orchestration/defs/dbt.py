"""dbt models, seeds and tests as Dagster assets and asset checks."""

import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.dbt_project import dbt_project
from orchestration.defs.ingest import DATA_PLATFORM, WRITER_POOL
from orchestration.resources import Warehouse

CHANNEL_STRATEGY = "team:channel-strategy"
_GROUPS = {"staging": "staging", "intermediate": "intermediate", "marts": "marts"}


class ManifestMissing(RuntimeError):
    pass


def manifest_path(project: DbtProject = dbt_project) -> Path:
    """The prepared manifest; built at install time by `make install`, never at import."""
    dbt_project.prepare_if_dev()
    path = Path(project.manifest_path)
    if not path.exists():
        raise ManifestMissing(
            f"dbt manifest {path} is missing: run `make prepare` (or `dagster-dbt project "
            "prepare-and-package --file orchestration/dbt_project.py`) after changing the "
            "dbt project"
        )
    return path


class WarehouseTranslator(DagsterDbtTranslator):
    """Asset keys `<layer>/<name>`, groups by layer, owners and kinds for the UI."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        kind = props["resource_type"]
        if kind == "source":
            return spec  # raw/<entity>: the ingestion assets
        layer = "reference" if kind == "seed" else _GROUPS.get(props["fqn"][1], "dbt")
        owner = CHANNEL_STRATEGY if layer in ("reference", "marts") else DATA_PLATFORM
        return spec.replace_attributes(
            key=dg.AssetKey([layer, props["name"]]),
            group_name=layer,
            owners=[owner],
            kinds={"dbt", "duckdb"},
        )


def dbt_args(command: str, dbt_vars: Mapping[str, object]) -> list[str]:
    """The dbt command line of a refresh (a pure function, tested on its own)."""
    return [command, "--vars", json.dumps(dict(dbt_vars), sort_keys=True)]


def dbt_resource(project_dir: Path | None = None) -> DbtCliResource:
    """The dbt CLI on our project, or on a copy of it (tests give a copy with other seeds)."""
    # dbt runs as a subprocess: use the dbt of this interpreter's environment, which is not
    # necessarily on PATH (e.g. `.venv/bin/psw` called from a shell without the venv).
    executable = Path(sys.executable).parent / "dbt"
    return DbtCliResource(
        project_dir=str(project_dir) if project_dir else dbt_project,
        dbt_executable=str(executable) if executable.exists() else "dbt",
    )


@dbt_assets(
    manifest=manifest_path(),
    dagster_dbt_translator=WarehouseTranslator(),
    pool=WRITER_POOL,
)
def dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
) -> Iterator[Any]:
    """Seeds, staging, intermediate and mart models with their dbt tests (`dbt build`)."""
    settings = warehouse.settings()
    settings.temp_dir.mkdir(parents=True, exist_ok=True)
    context.log.info(f"dbt build as of {settings.as_of_date} on {settings.build_db}")
    # dbt reads the build database path and DuckDB limits from the environment (profiles.yml),
    # and dagster-dbt passes this process's environment to the dbt subprocess.
    saved = {name: os.environ.get(name) for name in settings.dbt_env()}
    os.environ.update(settings.dbt_env())
    try:
        yield from dbt.cli(dbt_args("build", settings.dbt_vars()), context=context).stream()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
