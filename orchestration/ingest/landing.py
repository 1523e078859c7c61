"""What is in the landing zone (SPEC §3): one function decides, for the DuckDB loader, the Spark
loader, the landing sensor and `psw status`.

`<landing>/<entity>/` holds the extracts of each entity, `*.csv` or `*.parquet`, loaded in name
order. Everything else is named, never silently ignored:

- the landing folder or an entity's folder is missing: an error (`LandingError`), naming the
  folder. An unmounted share must fail the night, not republish yesterday's data;
- a symbolic link that leads outside the landing zone (or nowhere): an error naming the link.
  Links inside the landing zone are followed;
- a name that marks a file as still being written (`*.tmp`, `*.partial`, or a dotfile such
  as `.~lock.deals.csv#`): skipped, and reported as in progress;
- a folder that is no entity (`Partners/`, `misc/`; entity names are lower case), a file at
  the top of the landing zone, a folder inside an entity folder, or a file of another kind
  (`.csv.gz`, `.xlsx`, `README.txt`): reported as unknown or unsupported, not loaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

LANDING_SUFFIXES = (".csv", ".parquet")
IN_PROGRESS_SUFFIXES = (".tmp", ".partial")


class LandingError(Exception):
    """The landing zone cannot be read as the contract says (the message says what to do)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class LandingScan:
    landing_dir: Path
    files_expected: list[str] = field(default_factory=list)
    # entity -> its extract files, in load order (by name)
    files: dict[str, list[Path]] = field(default_factory=dict)
    # paths relative to the landing folder
    unknown_folders: list[str] = field(default_factory=list)
    unsupported_files: list[str] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)
    # what makes the landing zone unusable: missing folders, links leading outside
    problems: list[str] = field(default_factory=list)

    def entity_problems(self, entity: str) -> list[str]:
        """The problems that stop loading `entity`: all but those of other entities' folders."""
        others = [str(self.landing_dir / e) for e in self.files_expected if e != entity]
        return [
            p for p in self.problems if not any(p.startswith((f"{o}:", f"{o}/")) for o in others)
        ]

    def of(self, entity: str, items: list[str]) -> list[str]:
        """The entries of `items` inside `<landing>/<entity>/`."""
        return [i for i in items if i.startswith(f"{entity}/")]

    def lines(self) -> list[str]:
        """A report for people: what is loaded, what is not and why."""
        out = [f"landing zone: {self.landing_dir}"]
        for entity, files in self.files.items():
            out.append(f"  {entity:<15} {len(files)} extract file(s)")
        out += [f"  PROBLEM {p}" for p in self.problems]
        out += [f"  unknown folder (not an entity, not loaded): {f}" for f in self.unknown_folders]
        out += [f"  unsupported file (not loaded): {f}" for f in self.unsupported_files]
        out += [f"  in progress (skipped): {f}" for f in self.in_progress]
        return out


def _in_progress(name: str) -> bool:
    return name.startswith(".") or name.lower().endswith(IN_PROGRESS_SUFFIXES)


def _outside(path: Path, root: Path) -> bool:
    try:
        path.resolve(strict=True).relative_to(root)
    except (FileNotFoundError, ValueError):
        return True
    return False


def scan_landing(landing_dir: Path, entities: Iterable[str]) -> LandingScan:
    """Every entry of the landing zone, classified (see the module docstring)."""
    landing_dir = Path(landing_dir)
    entities = list(entities)
    scan = LandingScan(landing_dir, entities)
    if not landing_dir.is_dir():
        what = "is not a folder" if landing_dir.exists() else "does not exist"
        scan.problems.append(
            f"landing folder {landing_dir}: {what} (PSW_LANDING_DIR). Mount or create it, with "
            f"one folder per entity: {', '.join(entities)}"
        )
        return scan
    root = landing_dir.resolve()
    for entry in sorted(os.scandir(landing_dir), key=lambda e: e.name):
        path = Path(entry.path)
        if _in_progress(entry.name):
            scan.in_progress.append(entry.name)
        elif entry.is_symlink() and _outside(path, root):
            scan.problems.append(_link_problem(path))
        elif entry.name in entities and path.is_dir():
            continue
        elif path.is_dir():
            scan.unknown_folders.append(entry.name + "/")
        else:
            scan.unsupported_files.append(entry.name)
    for entity in entities:
        folder = landing_dir / entity
        if not folder.is_dir() or _outside(folder, root):
            if not folder.is_symlink():  # a link leading outside is reported above
                scan.problems.append(
                    f"{folder}: the folder of the {entity} extracts is missing. Create it (it may "
                    "stay empty) or check PSW_LANDING_DIR"
                )
            continue
        scan.files[entity] = _entity_files(scan, folder, entity, root)
    return scan


def _entity_files(scan: LandingScan, folder: Path, entity: str, root: Path) -> list[Path]:
    files = []
    for entry in os.scandir(folder):
        path = Path(entry.path)
        relative = f"{entity}/{entry.name}"
        if _in_progress(entry.name):
            scan.in_progress.append(relative)
        elif entry.is_symlink() and _outside(path, root):
            scan.problems.append(_link_problem(path))
        elif path.is_dir():
            scan.unsupported_files.append(relative + "/")
        elif path.suffix.lower() in LANDING_SUFFIXES and path.is_file():
            files.append(path)
        else:
            scan.unsupported_files.append(relative)
    scan.in_progress.sort()
    scan.unsupported_files.sort()
    return sorted(files, key=lambda p: p.name)


def _link_problem(path: Path) -> str:
    target = os.readlink(path)
    return (
        f"{path}: a symbolic link to {target}, which is outside the landing zone or does not "
        "exist; refused. Copy the extract into the landing zone instead"
    )
