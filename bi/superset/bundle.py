"""Zip the dashboard's export files for `superset import-dashboards`, pointed at a serving file.

bi/superset/dashboard/ holds the files `superset export-dashboards` writes (metadata.yaml,
databases/, datasets/, charts/, dashboards/), kept in git as YAML. The database file's
`sqlalchemy_uri` names no machine's path: it is the single-quoted YAML string
'duckdb:///{{ serving_db }}?access_mode=read_only', and the placeholder is replaced here by the
absolute path of the serving file. Superset reads a bundle whose files sit under one folder.

usage: python bi/superset/bundle.py <serving.duckdb> <out.zip>
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "dashboard"
TEMPLATE = "'duckdb:///{{ serving_db }}?access_mode=read_only'"
TOP = "partner_strategy_dashboard"


def database_uri(serving_db: Path) -> str:
    """The read-only duckdb-engine URI of `serving_db` (the public symlink, not the folder it
    resolves to: each new connection follows it to the current publish)."""
    return f"duckdb:///{serving_db.absolute()}?access_mode=read_only"


def build(serving_db: Path, out: Path) -> Path:
    files = sorted(p for p in SOURCE.rglob("*.yaml") if p.is_file())
    if SOURCE / "metadata.yaml" not in files:
        raise SystemExit(f"{SOURCE}: no metadata.yaml, not a Superset export")
    quoted_uri = "'" + database_uri(serving_db).replace("'", "''") + "'"  # YAML single quotes
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in files:
            text = path.read_text(encoding="utf-8")
            if path.parent.name == "databases":
                if TEMPLATE not in text:
                    raise SystemExit(f"{path}: its sqlalchemy_uri must be {TEMPLATE}")
                text = text.replace(TEMPLATE, quoted_uri)
            bundle.writestr(f"{TOP}/{path.relative_to(SOURCE).as_posix()}", text)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(build(Path(sys.argv[1]), Path(sys.argv[2])))
