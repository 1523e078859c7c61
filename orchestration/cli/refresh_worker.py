"""The process in which `psw refresh` executes one run of nightly_refresh (see refresh.py).

Started by `psw refresh`, never by hand. It dies with its parent: a kill -9 of `psw refresh`
takes its run down too, as before the worker existed, and the next refresh recovers it.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
from collections.abc import Sequence

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(3)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="orchestration.cli.refresh_worker")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--token", required=True)
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--retry-of")
    parser.add_argument("--retry-number", default="1")
    args = parser.parse_args(argv)
    _die_with_parent(args.parent_pid)

    import dagster as dg

    from orchestration.cli.instance import ensure_dagster_env
    from orchestration.cli.recovery import process_tags
    from orchestration.cli.refresh import (
        ATTEMPT_TAG,
        PARENT_RUN_ID_TAG,
        RETRY_NUMBER_TAG,
        RETRY_STRATEGY_TAG,
        ROOT_RUN_ID_TAG,
        TRIGGER_TAG,
        logger_config,
        nightly_job,
    )

    ensure_dagster_env()
    tags = {TRIGGER_TAG: "psw refresh", ATTEMPT_TAG: args.token, **process_tags()}
    job = dg.reconstructable(nightly_job)
    with dg.DagsterInstance.get() as instance:
        if args.retry_of:
            parent = instance.get_run_by_id(args.retry_of)
            root = (parent.root_run_id if parent else None) or args.retry_of
            # the run group tags, which Dagster counts retries by (max_retries), as on the
            # daemon's retries; execute_job sets only the run's parent and root fields
            tags[PARENT_RUN_ID_TAG] = args.retry_of
            tags[ROOT_RUN_ID_TAG] = root
            tags[RETRY_NUMBER_TAG] = args.retry_number
            # the job's retry strategy, as the daemon applies it (Dagster's default: from failure)
            if parent and parent.tags.get(RETRY_STRATEGY_TAG) == "ALL_STEPS":
                options = dg.ReexecutionOptions(parent_run_id=args.retry_of)
            else:
                options = dg.ReexecutionOptions.from_failure(args.retry_of, instance)
            result = dg.execute_job(job, instance=instance, tags=tags, reexecution_options=options)
        else:
            result = dg.execute_job(
                job, instance=instance, run_config=logger_config(args.log_level), tags=tags
            )
        return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
