"""The serving file is written in DuckDB 1.0.0's storage format (publish/serving.py
SERVING_STORAGE_VERSION), so a BI tool whose DuckDB is 1.0.0, the oldest the docs promise,
reads it. This test installs duckdb==1.0.0 from PyPI into a venv of its own (kept in
`.cache/duckdb-1.0.0-venv`, git-ignored, so that later runs do not install it again), opens the
published file read-only with it, and reads every table the file publishes and every dataset
of the Superset dashboard under bi/superset/: the same rows as the DuckDB that wrote it.
A failed install fails the test with pip's message; it never skips."""

from __future__ import annotations

import fcntl
import json
import shutil
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.settings import PROJECT_DIR
from tests.conftest import MARTS

OLDEST_DUCKDB = "1.0.0"
# the storage version number in the header of files DuckDB 0.10 to 1.1 write and read (DuckDB's
# "Storage Versions and Format" page); DuckDB 1.0.0 cannot open a file with a higher one
OLDEST_STORAGE_NUMBER = 64
CACHE = PROJECT_DIR / ".cache"
SUPERSET_DIR = PROJECT_DIR / "bi" / "superset"

# A BI client: opens the file read-only, runs {name: sql} from stdin, prints each result's rows
# (as JSON, sorted, so that scan order does not matter) and the DuckDB version that read them.
READER = textwrap.dedent(
    """
    import json, sys
    import duckdb

    con = duckdb.connect(sys.argv[1], read_only=True)
    results = {}
    for name, sql in json.load(sys.stdin).items():
        rows = con.execute(sql).fetchall()
        results[name] = sorted(json.dumps(list(row), default=str) for row in rows)
    con.close()
    json.dump({"version": duckdb.__version__, "results": results}, sys.stdout)
    """
)


def _run(command: list[str], what: str) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        pytest.fail(f"{what} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return done


def oldest_duckdb_python() -> Path:
    """The Python of a venv with duckdb==OLDEST_DUCKDB, installed from PyPI on first use."""
    venv = CACHE / f"duckdb-{OLDEST_DUCKDB}-venv"
    python = venv / "bin" / "python"
    installed = venv / ".installed"
    CACHE.mkdir(exist_ok=True)
    with (CACHE / f"duckdb-{OLDEST_DUCKDB}-venv.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be installing it
        if not installed.exists():
            shutil.rmtree(venv, ignore_errors=True)  # the remains of an interrupted install
            _run([sys.executable, "-m", "venv", str(venv)], f"python -m venv {venv}")
            _run(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    f"duckdb=={OLDEST_DUCKDB}",
                ],
                f"pip install duckdb=={OLDEST_DUCKDB}",
            )
            installed.write_text(OLDEST_DUCKDB)
    return python


def read(python: Path | str, database: Path, queries: dict[str, str]) -> dict:
    done = subprocess.run(
        [str(python), "-c", READER, str(database)],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def published_tables(database: Path) -> list[str]:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by all"
        ).fetchall()
    return [f"{schema}.{table}" for schema, table in rows]


def superset_datasets() -> dict[str, str]:
    """{name: query} for every dataset YAML of the Superset dashboard: the dataset itself (its
    `sql` for a virtual dataset, else its table) and each of its metrics and calculated columns
    over it, as a chart asks for them."""
    queries: dict[str, str] = {}
    for path in sorted(SUPERSET_DIR.rglob("*.y*ml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(spec, dict) or "table_name" not in spec:
            continue
        name = str(path.relative_to(SUPERSET_DIR))
        if spec.get("sql"):
            source = f"({str(spec['sql']).strip().rstrip(';')}) as dataset"
        elif spec.get("schema"):
            source = f'"{spec["schema"]}"."{spec["table_name"]}"'
        else:
            source = f'"{spec["table_name"]}"'
        queries[name] = f"select * from {source}"
        for metric in spec.get("metrics") or []:
            queries[f"{name} metric {metric['metric_name']}"] = (
                f"select {metric['expression']} from {source}"
            )
        for column in spec.get("columns") or []:
            if column.get("expression"):
                queries[f"{name} column {column['column_name']}"] = (
                    f"select {column['expression']} from {source}"
                )
    return queries


def test_the_serving_file_has_the_storage_version_of_duckdb_1_0_0(metrics_warehouse: Path):
    serving = (metrics_warehouse / "serving.duckdb").resolve()
    header = struct.Struct("<8x4sQ")  # checksum, b"DUCK", storage version number
    with serving.open("rb") as fh:
        magic, number = header.unpack(fh.read(header.size))
    assert (magic, number) == (b"DUCK", OLDEST_STORAGE_NUMBER)


def test_duckdb_1_0_0_reads_every_published_table_as_written(metrics_warehouse: Path):
    serving = metrics_warehouse / "serving.duckdb"
    tables = published_tables(serving)
    audit = ["audit.loaded_files", "audit.publish_log", "audit.rejected_rows"]
    assert {f"marts.{mart}" for mart in MARTS} | set(audit) <= set(tables)
    queries = {"tables": "select table_schema || '.' || table_name from information_schema.tables"}
    queries |= {table: f"select * from {table}" for table in tables}

    old = read(oldest_duckdb_python(), serving, queries)
    new = read(sys.executable, serving, queries)

    assert old["version"] == OLDEST_DUCKDB
    assert old["results"]["tables"] == sorted(json.dumps([t]) for t in tables)
    for table in tables:
        assert len(old["results"][table]) == len(new["results"][table]), table
        assert old["results"][table] == new["results"][table], table
    assert len(new["results"]["marts.mart_strategy_scorecard"]) == 1


def test_duckdb_1_0_0_runs_the_superset_datasets(metrics_warehouse: Path):
    queries = superset_datasets() if SUPERSET_DIR.is_dir() else {}
    if not queries:
        pytest.skip(f"no Superset dataset YAML (a file with `table_name`) under {SUPERSET_DIR}")
    serving = metrics_warehouse / "serving.duckdb"

    old = read(oldest_duckdb_python(), serving, queries)
    new = read(sys.executable, serving, queries)

    assert old["version"] == OLDEST_DUCKDB
    for name in queries:
        assert old["results"][name] == new["results"][name], name
