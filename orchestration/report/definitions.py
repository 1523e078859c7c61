"""Metric definitions for the report, read from the dbt mart YAML (the single source of truth).

The column descriptions of `dbt_project/models/marts/*.yml` may reference doc blocks
(`{{ doc('name') }}`) of `dbt_project/models/docs/*.md`; they are resolved here the way dbt
resolves them, so the report says exactly what the dbt docs say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from orchestration.settings import DBT_PROJECT_DIR

_DOC_BLOCK = re.compile(r"{%\s*docs\s+(\w+)\s*%}(.*?){%\s*enddocs\s*%}", re.DOTALL)
_DOC_REF = re.compile(r"{{\s*doc\(\s*['\"](\w+)['\"]\s*\)\s*}}")


@dataclass(frozen=True)
class Definitions:
    """Descriptions of every mart (`models`) and of every mart column (`columns`)."""

    models: dict[str, str]
    columns: dict[tuple[str, str], str]

    def model(self, mart: str) -> str:
        try:
            return self.models[mart]
        except KeyError:
            raise KeyError(f"{mart} has no description in the dbt mart YAML") from None

    def column(self, mart: str, column: str) -> str:
        try:
            return self.columns[(mart, column)]
        except KeyError:
            raise KeyError(f"{mart}.{column} has no description in the dbt mart YAML") from None


def _doc_blocks(models_dir: Path) -> dict[str, str]:
    blocks: dict[str, str] = {}
    for path in sorted(models_dir.rglob("*.md")):
        for name, body in _DOC_BLOCK.findall(path.read_text(encoding="utf-8")):
            blocks[name] = body.strip()
    return blocks


def _render(text: str | None, blocks: dict[str, str]) -> str:
    if not text:
        return ""

    def resolve(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in blocks:
            raise KeyError(f"doc block {name!r} is referenced but not defined")
        return blocks[name]

    return " ".join(_DOC_REF.sub(resolve, text).split())


def load_definitions(project_dir: Path = DBT_PROJECT_DIR) -> Definitions:
    """Read every mart YAML of `project_dir` and resolve its doc references."""
    models_dir = project_dir / "models"
    blocks = _doc_blocks(models_dir)
    models: dict[str, str] = {}
    columns: dict[tuple[str, str], str] = {}
    for path in sorted((models_dir / "marts").glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in content.get("models", []):
            name = model["name"]
            models[name] = _render(model.get("description"), blocks)
            for column in model.get("columns", []):
                columns[(name, column["name"])] = _render(column.get("description"), blocks)
    if not models:
        raise FileNotFoundError(f"no mart YAML under {models_dir / 'marts'}")
    return Definitions(models=models, columns=columns)
