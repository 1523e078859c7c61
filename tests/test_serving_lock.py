"""A client that opens serving.duckdb read-write locks every reader out until it closes. `psw
status` and `psw scorecard` then say so in one line and exit 3, instead of a traceback; once
the client closes, both work again. Real refresh, real processes: the holder is a separate
Python process with its own DuckDB, the commands run as `psw` subprocesses."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import JobRunner

EXIT_SERVING_LOCKED = 3
PSW = Path(sys.executable).parent / "psw"

# Opens the file read-write, as a SQL editor's default connection does, and holds it until its
# stdin closes.
HOLDER = textwrap.dedent(
    """
    import sys
    import duckdb

    con = duckdb.connect(sys.argv[1])
    con.execute("select count(*) from marts.mart_strategy_scorecard").fetchone()
    print("holding", flush=True)
    sys.stdin.read()
    con.close()
    """
)


@contextmanager
def held_read_write(path: Path) -> Iterator[subprocess.Popen]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        assert line == "holding\n", holder.stderr.read() if holder.stderr else line
        yield holder
    finally:
        if holder.stdin is not None:
            holder.stdin.close()
        holder.wait(timeout=60)
    assert holder.returncode == 0


def psw(command: str, warehouse: Path, runner: JobRunner) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PSW_WAREHOUSE_DIR": str(warehouse),
        "PSW_LANDING_DIR": str(warehouse.parent / "landing"),
        "DAGSTER_HOME": str(runner.home),
        "PSW_DAGSTER_DIR": str(runner.home / ".dagster"),
    }
    return subprocess.run(
        [str(PSW), command],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_read_write_client_gets_a_one_line_error_and_then_the_commands_work_again(
    metrics_warehouse: Path, job_runner: JobRunner
):
    serving = metrics_warehouse / "serving.duckdb"
    before = digest(serving)

    with held_read_write(serving) as holder:
        program = Path(os.readlink(f"/proc/{holder.pid}/exe")).name
        expected = (
            f"psw: {serving} is held read-write by another process ({program}, pid "
            f"{holder.pid}); close that client: BI tools must open serving.duckdb read-only\n"
        )
        for command in ("status", "scorecard"):
            done = psw(command, metrics_warehouse, job_runner)
            assert "Traceback" not in done.stderr, done.stderr
            assert done.stderr == expected, command
            assert done.returncode == EXIT_SERVING_LOCKED, command
            assert done.stdout == "", command

    # released: both read the publish again
    status = psw("status", metrics_warehouse, job_runner)
    assert status.returncode == 0, status.stderr
    assert "Traceback" not in status.stderr
    assert f"serving file: {serving}\n" in status.stdout
    scorecard = psw("scorecard", metrics_warehouse, job_runner)
    assert scorecard.returncode == 0, scorecard.stderr
    assert scorecard.stderr == ""
    assert scorecard.stdout.startswith("Partner strategy scorecard\n")
    # the client wrote nothing, so the published file is byte for byte what it was
    assert digest(serving) == before
    assert not Path(f"{serving}.wal").exists()
