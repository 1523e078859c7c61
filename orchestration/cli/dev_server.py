"""`make dev`: `dagster dev`, which stops on SIGTERM and SIGINT however it was started.

`dagster dev` makes SIGTERM do what SIGINT does (dagster 1.13: `setup_interrupt_handlers`
copies SIGINT's handler to SIGTERM), and it stops its webserver, daemon and code servers when
either arrives. But a process started with SIGINT ignored (a background job of a shell script,
`nohup`, some service managers and CI runners) inherits that, Python then keeps SIGINT ignored,
and `dagster dev` ignores SIGTERM too: it can only be killed, and its children live on. So this
restores the default handling of both signals, then becomes `dagster dev` (same process, so the
signals that make or the terminal send reach it).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    dagster = str(Path(sys.executable).parent / "dagster")
    os.execv(dagster, [dagster, "dev", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
