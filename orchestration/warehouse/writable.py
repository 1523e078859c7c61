"""A warehouse folder that cannot be written (a read-only mount, missing permission) stops a
refresh with one line naming the folder and what to do, not with an OSError traceback."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from orchestration.settings import SettingsError


class WarehouseNotWritableError(SettingsError):
    """The warehouse folder cannot be created or written."""


def ensure_writable(folder: Path, setting: str = "PSW_WAREHOUSE_DIR") -> None:
    """Create `folder` if needed and write a probe file in it; raise WarehouseNotWritableError if
    either fails. A real write, not os.access: root passes permission checks, and on some
    network shares only a write tells."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".psw-write-check-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise WarehouseNotWritableError(
            f"the warehouse folder {folder} is not writable ({reason}): give this user write "
            f"permission, remount it read-write, or point {setting} at a writable folder"
        ) from None
