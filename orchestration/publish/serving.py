"""Publish the marts to the serving database and Parquet exports, as one set (SPEC §2).

Each publish writes a folder of its own, `<warehouse>/publishes/<UTC time>-<token>/`, holding
`serving.duckdb`, `exports/<mart>.parquet` and `publish.json` (the manifest: run id, as-of
date, row counts). Nothing in a folder changes once it is complete. One symlink,
`<warehouse>/current`, names the published folder, and the paths BI tools use stay where SPEC §8
puts them: `<warehouse>/serving.duckdb` is a symlink to `current/serving.duckdb` and
`<warehouse>/exports` a symlink to `current/exports`. A publish switches the serving file and
every export at once by replacing `current` with `os.replace` of a new symlink (rename(2) of a
symlink is atomic and does not follow it): a process that opens a public path sees either the
whole previous publish or the whole new one.

BI tools hold `serving.duckdb` open while the next refresh runs, and DuckDB does not let a
writer open a file that a reader holds; a publish never writes an existing file. A reader keeps
the file it opened until it reconnects; a new connection sees the new publish. The previous
folder is kept, for readers that resolved the public path just before the switch; older ones
are deleted. A folder that is neither `current` nor the previous one is the remains of a publish
that was killed, and the next publish deletes it (remove_leftovers).

Each export carries the publish id and run id in its Parquet key-value metadata
(`psw_publish_id`, `psw_run_id`), and so does the serving file's `audit.publish_log`, so that a
reader can check that the files it read belong to one publish.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.settings import AUDIT_SCHEMA, MART_SCHEMA, Settings

AUDIT_TABLES = ("rejected_rows", "loaded_files")
PUBLISHES_DIR = "publishes"
CURRENT = "current"
MANIFEST = "publish.json"
SERVING_FILE = "serving.duckdb"
# The serving file is written in the storage format of DuckDB 1.0.0 (storage version 64 in the
# file header), whatever DuckDB publishes it, so that BI tools with DuckDB 1.0.0 or later read it.
SERVING_STORAGE_VERSION = "v1.0.0"
EXPORTS_DIR = "exports"
# Parquet key-value metadata of every export
PUBLISH_ID_KEY = "psw_publish_id"
RUN_ID_KEY = "psw_run_id"


@dataclass(frozen=True)
class PublishManifest:
    """What one publish folder holds (its publish.json)."""

    publish_id: str  # the folder's name
    run_id: str | None
    as_of_date: str
    published_at: str  # ISO 8601, UTC
    previous: str | None  # the publish that `current` named before this one
    marts: dict[str, int] = field(default_factory=dict)
    audit: dict[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> PublishManifest | None:
        """The manifest of `folder`; None if it has none (a publish that did not finish)."""
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None


@dataclass
class PublishResult:
    serving_db: Path  # the public path
    folder: Path  # the publish folder that `current` now names
    publish_id: str
    marts: dict[str, int] = field(default_factory=dict)
    audit: dict[str, int] = field(default_factory=dict)
    exports: list[Path] = field(default_factory=list)  # public paths


def publishes_dir(settings: Settings) -> Path:
    return settings.warehouse_dir / PUBLISHES_DIR


def current_link(settings: Settings) -> Path:
    return settings.warehouse_dir / CURRENT


def _current_name(settings: Settings) -> str | None:
    """The name of the folder `current` points to, or None."""
    link = current_link(settings)
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def current_publish(settings: Settings) -> PublishManifest | None:
    """The publish BI reads now (the manifest behind `current`); None if none is published
    in this layout yet."""
    name = _current_name(settings)
    return PublishManifest.read(publishes_dir(settings) / name) if name else None


def published_by(settings: Settings, run_id: str) -> PublishManifest | None:
    """The publish that run `run_id` made, if it is the current one or the one before it
    (a later publish already replaced it); None if the run published nothing that is kept.
    For the failure alert: a run that died after switching `current` did publish."""
    current = current_publish(settings)
    if current is None:
        return None
    if current.run_id == run_id:
        return current
    if current.previous:
        before = PublishManifest.read(publishes_dir(settings) / current.previous)
        if before is not None and before.run_id == run_id:
            return before
    return None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _quote(value: Path | str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _token() -> str:
    return uuid.uuid4().hex[:12]


def _swap_symlink(link: Path, target: str) -> None:
    """Point `link` at `target` (relative to the link's folder) in one rename."""
    staged = link.with_name(f".{link.name}.{_token()}.tmp")
    os.symlink(target, staged)
    os.replace(staged, link)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def remove_leftovers(settings: Settings) -> list[Path]:
    """Delete what publishes that were killed half-way left: staged files and symlinks
    (`.*.tmp`, also those of the layout before publish folders), and every publish folder that
    is neither `current` nor the one before it. Only the one writer (the duckdb_writer pool)
    publishes, so no other publish is using them."""
    warehouse = settings.warehouse_dir
    found = [
        *warehouse.glob(f".{settings.serving_db.name}.*.tmp*"),
        *warehouse.glob(f".{CURRENT}.*.tmp"),
        *warehouse.glob(f".{settings.exports_dir.name}.*.tmp"),
    ]
    exports = settings.exports_dir
    if exports.is_dir() and not exports.is_symlink():  # the layout before publish folders
        found += exports.glob(".*.parquet.*.tmp")
    folders = publishes_dir(settings)
    if folders.is_dir():
        keep: set[str] = set()
        current = _current_name(settings)
        if current:
            keep.add(current)
            manifest = PublishManifest.read(folders / current)
            if manifest is not None and manifest.previous:
                keep.add(manifest.previous)
        found += [p for p in folders.iterdir() if p.name not in keep]
    for path in found:
        _remove(path)
    return found


def _link_public_paths(settings: Settings) -> None:
    """Make `serving.duckdb` and `exports` symlinks through `current` (once per warehouse).

    A warehouse published before publish folders has a regular file and folder there. The file
    is replaced by a symlink in one rename. A non-empty folder cannot be renamed over, so the
    old `exports` is moved aside and the symlink put in its place: for that moment, once, the
    folder is missing (the content is the same on both sides: _adopt_old_layout)."""
    for public, target in (
        (settings.serving_db, f"{CURRENT}/{SERVING_FILE}"),
        (settings.exports_dir, f"{CURRENT}/{EXPORTS_DIR}"),
    ):
        if public.is_symlink() and os.readlink(public) == target:
            continue
        if public.is_dir() and not public.is_symlink():
            aside = public.with_name(f".{public.name}.{_token()}.tmp")
            os.rename(public, aside)
            os.symlink(target, public)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            _swap_symlink(public, target)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # same inode: the same bytes BI reads now, at no cost
    except OSError:
        shutil.copy2(source, target)


def _adopt_old_layout(settings: Settings) -> None:
    """A warehouse with a regular `serving.duckdb` (published before publish folders): make its
    files the first publish folder, then the public paths symlinks to it, so that BI keeps
    reading the same data while the layout changes."""
    serving = settings.serving_db
    if _current_name(settings) or serving.is_symlink() or not serving.is_file():
        return
    name = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-adopted-{_token()}"
    folder = publishes_dir(settings) / name
    (folder / EXPORTS_DIR).mkdir(parents=True)
    _link_or_copy(serving, folder / SERVING_FILE)
    exports = settings.exports_dir
    if exports.is_dir() and not exports.is_symlink():
        for path in exports.glob("*.parquet"):
            _link_or_copy(path, folder / EXPORTS_DIR / path.name)
    _write_manifest(
        folder,
        PublishManifest(
            publish_id=name,
            run_id=_logged_run_id(serving),
            as_of_date="",
            published_at=datetime.now(UTC).isoformat(),
            previous=None,
        ),
    )
    _swap_symlink(current_link(settings), f"{PUBLISHES_DIR}/{name}")
    _link_public_paths(settings)


def _logged_run_id(serving: Path) -> str | None:
    try:
        con = duckdb.connect(str(serving), read_only=True)
        try:
            row = con.execute(f"select max(run_id) from {AUDIT_SCHEMA}.publish_log").fetchone()
        finally:
            con.close()
    except duckdb.Error:
        return None
    return row[0] if row else None


def _write_manifest(folder: Path, manifest: PublishManifest) -> None:
    staged = folder / f".{MANIFEST}.tmp"
    staged.write_text(json.dumps(asdict(manifest), indent=2, sort_keys=True), encoding="utf-8")
    _fsync(staged)
    os.replace(staged, folder / MANIFEST)


def _copy_table(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, source: str = "build"
) -> int:
    """Copy <source>.<schema>.<table> into the new serving file; return its row count."""
    con.execute(f"create table serving.{schema}.{table} as select * from {source}.{schema}.{table}")
    count = con.execute(f"select count(*) from serving.{schema}.{table}").fetchone()
    return int(count[0]) if count else 0


def _tables(con: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = ? and table_schema = ? order by table_name",
            [catalog, schema],
        ).fetchall()
    ]


def publish(
    settings: Settings, run_id: str | None = None, only: Collection[str] | None = None
) -> PublishResult:
    """Copy every table of schema `marts` and the audit tables from the build database to a
    new publish folder (serving file and Parquet exports), then switch `current` to it. Raises
    before switching if any step fails; BI then still reads the previous publish, untouched.

    `only`: publish these marts from the build database and take every other mart, the audit
    tables and the as-of date from the current publish, as they were published (a backfill of
    the history never publishes a mart that a nightly gate refused). Needs a current publish."""
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(settings)
    _adopt_old_layout(settings)
    now = datetime.now(UTC)
    name = f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{_token()}"
    folder = publishes_dir(settings) / name
    exports = folder / EXPORTS_DIR
    exports.mkdir(parents=True)
    serving = folder / SERVING_FILE
    result = PublishResult(serving_db=settings.serving_db, folder=folder, publish_id=name)
    base = None
    as_of_date = settings.as_of_date.isoformat()
    if only is not None:
        base = current_publish(settings)
        if base is None:
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(
                f"{settings.warehouse_dir} has no publish yet: run the nightly refresh first"
            )
        as_of_date = base.as_of_date or as_of_date
    kv = f"kv_metadata {{{PUBLISH_ID_KEY}: {_quote(name)}, {RUN_ID_KEY}: {_quote(run_id or '')}}}"
    con = duckdb.connect(config={"threads": settings.duckdb_threads})
    try:
        con.execute(f"attach {_quote(settings.build_db)} as build (read_only)")
        if base is not None:
            published = publishes_dir(settings) / base.publish_id / SERVING_FILE
            con.execute(f"attach {_quote(published)} as published (read_only)")
        con.execute(
            f"attach {_quote(serving)} as serving "
            f"(storage_version {_quote(SERVING_STORAGE_VERSION)})"
        )
        marts = _tables(con, "build", MART_SCHEMA)
        sources = dict.fromkeys(marts, "build")
        if base is not None:
            missing = sorted(set(only or ()) - set(marts))
            if missing:
                raise RuntimeError(f"{settings.build_db} has no {', '.join(missing)}")
            sources = {
                **dict.fromkeys(_tables(con, "published", MART_SCHEMA), "published"),
                **dict.fromkeys(only or (), "build"),
            }
            marts = sorted(sources)
        if not marts:
            raise RuntimeError(
                f"{settings.build_db} has no tables in schema {MART_SCHEMA}: nothing to publish"
            )
        con.execute(f"create schema serving.{MART_SCHEMA}")
        con.execute(f"create schema serving.{AUDIT_SCHEMA}")
        for mart in marts:
            result.marts[mart] = _copy_table(con, MART_SCHEMA, mart, sources[mart])
            con.execute(
                f"copy (select * from serving.{MART_SCHEMA}.{mart}) to "
                f"{_quote(exports / f'{mart}.parquet')} (format parquet, compression zstd, {kv})"
            )
        for table in AUDIT_TABLES:
            result.audit[table] = _copy_table(
                con, AUDIT_SCHEMA, table, "build" if base is None else "published"
            )
        con.execute(
            f"create table serving.{AUDIT_SCHEMA}.publish_log as select "
            "cast(? as varchar) as run_id, cast(? as date) as as_of_date, "
            "cast(? as timestamp) as published_at, cast(? as varchar) as publish_id",
            [run_id, as_of_date, now.replace(tzinfo=None), name],
        )
        con.execute("checkpoint serving")
        con.execute("detach serving")
        con.execute("detach build")
        if base is not None:
            con.execute("detach published")
    except BaseException:
        con.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    con.close()
    wal = Path(f"{serving}.wal")
    if wal.exists():  # detach checkpoints; a WAL left behind would not be published
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"{wal} was left after detaching; refusing to publish")
    for path in [serving, *exports.iterdir()]:
        _fsync(path)
    previous = _current_name(settings)
    _write_manifest(
        folder,
        PublishManifest(
            publish_id=name,
            run_id=run_id,
            as_of_date=as_of_date,
            published_at=now.isoformat(),
            previous=previous,
            marts=result.marts,
            audit=result.audit,
        ),
    )
    _fsync(exports)
    _fsync(folder)
    # the switch: from here on, every new reader sees this publish
    _swap_symlink(current_link(settings), f"{PUBLISHES_DIR}/{name}")
    _link_public_paths(settings)
    _fsync(settings.warehouse_dir)
    remove_leftovers(settings)  # keeps this publish and `previous`
    result.exports = [settings.exports_dir / f"{mart}.parquet" for mart in marts]
    return result
