"""Everything Dagster shows: the assets, checks, job, schedule and sensors of the domain
folders under orchestration/defs/, and the resources of defs/resources.py."""

from pathlib import Path

import dagster as dg

# the folder of pyproject.toml, whose [tool.dg] names orchestration.defs as the defs folder
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(project_root=PROJECT_ROOT)
