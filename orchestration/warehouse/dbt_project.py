"""The dbt project and its prepared manifest: `dagster-dbt project prepare-and-package --file`
imports this module at install time to build the manifest (never at definitions load)."""

from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class ManifestMissing(RuntimeError):
    pass


def manifest_path(project: DbtProject = dbt_project) -> Path:
    """The prepared manifest; built at install time by `make install`, never at import."""
    project.prepare_if_dev()
    path = Path(project.manifest_path)
    if not path.exists():
        raise ManifestMissing(
            f"dbt manifest {path} is missing: run `make prepare` (or `dagster-dbt project "
            "prepare-and-package --file orchestration/warehouse/dbt_project.py`) after changing "
            "the dbt project"
        )
    return path
