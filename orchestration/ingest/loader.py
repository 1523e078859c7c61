"""Load landing files into the build database (SPEC §3): once per file, upsert by key.

A run loads every new file of one entity as one transaction. Files are first read into tables
of a scratch database (a DuckDB file in the temp directory, compressed on disk, removed after the
load); if any of them is unreadable, empty or lacks a required column, nothing of the batch is
loaded and `FileRejected` names the file and the column. Rows that break a rule go to
`audit.rejected_rows` with their reason and original values; the rest are upserted into
`raw.<entity>` (a later `updated_at` wins; on a tie, the later file, then the later row), and
every one of them is kept as a version in `raw.<entity>_history` (history.py).

The transaction applies the files in slices of about `SLICE_ROWS` rows, in load order: typing,
ranking and joining one slice stays within DuckDB's memory limit whatever the size of the batch
(an initial extract of 100M deals). A later slice replaces what an earlier one wrote by the same
rules, so the result equals that of the batch applied at once.

Which files are read is decided by the landing zone's rules (landing.py); a CSV file that
cannot be parsed is named with the line and column where it breaks (csv_file.py). A committed
batch stays *pending* until the raw quality gate accepts it; a gate that blocks rolls it back
(pending.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.ingest import sql
from orchestration.ingest.contract import ENTITIES, Entity
from orchestration.ingest.csv_file import diagnose, newline_of, read_header
from orchestration.ingest.history import add_versions, ensure_history
from orchestration.ingest.landing import LandingError, scan_landing
from orchestration.ingest.pending import ensure_pending_tables, keep_replaced, mark_pending
from orchestration.ingest.reference import register_reference

# Rows of a batch applied to raw.<entity> at a time (module docstring). At 4M deals a slice's
# typed rows and joins take about 1.5 GB.
SLICE_ROWS = 4_000_000
# The scratch database's name in the loader's connection.
STAGE = "_psw_stage"

AUDIT_DDL = """
create schema if not exists raw;
create schema if not exists audit;
create table if not exists audit.loaded_files (
    entity varchar not null,
    file_name varchar not null,
    content_sha256 varchar not null,
    file_bytes bigint not null,
    load_id bigint not null,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_rejected bigint not null,
    loaded_at timestamp not null,
    run_id varchar
);
create table if not exists audit.rejected_rows (
    entity varchar not null,
    source_file varchar not null,
    record_key varchar,
    reason varchar not null,
    loaded_at timestamp not null,
    source_row bigint,
    record json,
    load_id bigint,
    run_id varchar
);
"""


class FileRejected(Exception):
    """One or more landing files cannot be loaded at all; nothing of the batch was loaded."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class FileLoad:
    file_name: str
    sha256: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0


@dataclass
class LoadResult:
    entity: str
    files: list[FileLoad] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows_upserted: int = 0
    table_rows: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    # what the landing zone holds that is not loaded (landing.py): folders that are no entity,
    # and this entity's unsupported and in-progress files
    unknown_folders: list[str] = field(default_factory=list)
    unsupported_files: list[str] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)


def raw_table_ddl(entity: Entity) -> str:
    cols = ",\n    ".join(f"{c.name} {c.sql_type}" for c in entity.columns)
    return f"""create table if not exists raw.{entity.name} (
    {cols},
    _source_file varchar not null,
    _source_row bigint not null,
    _load_id bigint not null,
    _loaded_at timestamp not null
)"""


def ensure_tables(con: duckdb.DuckDBPyConnection, entities: list[Entity]) -> None:
    con.execute(AUDIT_DDL)
    for entity in entities:
        con.execute(raw_table_ddl(entity))
        ensure_history(con, entity)
        ensure_pending_tables(con, entity)


def discover(landing_dir: Path, entity: Entity, result: LoadResult | None = None) -> list[Path]:
    """The entity's extract files, in load order (by name); raises `LandingError` when the
    landing zone cannot be read for it (landing.py). What is not loaded is noted in `result`."""
    scan = scan_landing(landing_dir, ENTITIES)
    problems = scan.entity_problems(entity.name)
    if problems:
        raise LandingError(problems)
    if result is not None:
        result.unknown_folders = scan.unknown_folders
        result.unsupported_files = scan.of(entity.name, scan.unsupported_files)
        result.in_progress = scan.of(entity.name, scan.in_progress)
    return scan.files[entity.name]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _source_columns(entity: Entity, header: list[str], path: Path) -> dict[str, int]:
    """Map contract column -> position in the file; raise ValueError naming what is wrong."""
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        key = name.strip().lower()
        if key in positions:
            raise ValueError(f"column '{key}' appears twice in the header")
        positions[key] = i
    missing = [c.name for c in entity.columns if c.in_header and c.name not in positions]
    if missing:
        expected = ", ".join(c.name for c in entity.columns)
        raise ValueError(
            f"missing required column '{missing[0]}'"
            + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else "")
            + f"; a {entity.name} extract needs the columns: {expected}"
        )
    return {c.name: positions[c.name] for c in entity.columns if c.name in positions}


def _stage_csv(con: duckdb.DuckDBPyConnection, entity: Entity, path: Path, table: str) -> None:
    newline = newline_of(path)
    header = read_header(path, newline)
    positions = _source_columns(entity, header, path)
    spec = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header))) + "}"
    select = ", ".join(
        f"c{positions[c.name]} as {c.name}"
        if c.name in positions
        else f"cast(NULL as varchar) as {c.name}"
        for c in entity.columns
    )
    con.execute(
        f"create or replace table {table} as "
        f"select {select}, row_number() over () as _source_row "
        f"from read_csv(?, header = true, auto_detect = false, columns = {spec}, "
        "delim = ',', quote = '\"', escape = '\"', strict_mode = true"
        # DuckDB reads the escape itself: the SQL text is a backslash and an r
        + (", new_line = '\\r')" if newline == "\r" else ")"),
        [str(path)],
    )


def _stage_parquet(con: duckdb.DuckDBPyConnection, entity: Entity, path: Path, table: str) -> None:
    described = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
    types = {name.strip().lower(): (name, dtype) for name, dtype, *_ in described}
    _source_columns(entity, [name for name, *_ in described], path)
    parts = []
    for c in entity.columns:
        if c.name not in types:
            parts.append(f"cast(NULL as varchar) as {c.name}")
            continue
        name, dtype = types[c.name]
        quoted = '"' + name.replace('"', '""') + '"'
        if dtype.endswith("[]"):
            parts.append(f"array_to_string({quoted}, ';') as {c.name}")
        else:
            parts.append(f"cast({quoted} as varchar) as {c.name}")
    con.execute(
        f"create or replace table {table} as "
        f"select {', '.join(parts)}, row_number() over () as _source_row "
        "from read_parquet(?)",
        [str(path)],
    )


def _stage(con: duckdb.DuckDBPyConnection, entity: Entity, path: Path, table: str) -> str | None:
    """Read one file into `table`; return a problem description instead of raising."""
    if path.stat().st_size == 0:
        return f"{path}: file is empty (0 bytes); an extract needs at least a header row"
    kind = "CSV" if path.suffix.lower() == ".csv" else "Parquet"
    try:
        if kind == "CSV":
            _stage_csv(con, entity, path, table)
        else:
            _stage_parquet(con, entity, path, table)
    except ValueError as exc:
        return f"{path}: {exc}"
    except duckdb.Error as exc:
        return unparseable(path, kind, str(exc))
    return None


def unparseable(path: Path, kind: str, engine_error: str) -> str:
    """The message for a file an engine could not read: the file, and for a CSV file the line
    and column where it breaks. Never the engine's text, which quotes the row's values."""
    if kind == "CSV":
        where = diagnose(path, newline_of(path))
        if where:
            return f"{path}: could not be parsed as CSV: {where}"
        line = re.search(r"\bLine: (\d+)", engine_error)
        at = f"line {line.group(1)}: " if line else ""
        return (
            f"{path}: could not be parsed as CSV: {at}check the quoting, the number of fields of "
            "each row and that the file is UTF-8"
        )
    return f"{path}: could not be parsed as Parquet: the file is damaged or not a Parquet file"


def _next_load_id(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("select coalesce(max(load_id), 0) + 1 from audit.loaded_files").fetchone()
    assert row is not None
    return int(row[0])


def new_files(
    landing_dir: Path,
    entity: Entity,
    loaded: set[tuple[str, str]],
    result: LoadResult,
    log: Callable[[str], None],
) -> list[tuple[Path, str]]:
    """The entity's landing files not yet loaded (by name and content hash), with their hash;
    the others are noted in `result.skipped`. Shared by the DuckDB and Spark loaders."""
    pending: list[tuple[Path, str]] = []
    for path in discover(landing_dir, entity, result):
        digest = sha256(path)
        if (path.name, digest) in loaded:
            result.skipped.append(path.name)
        else:
            pending.append((path, digest))
    log(f"{entity.name}: {len(pending)} new file(s), {len(result.skipped)} already loaded")
    return pending


def file_loads(
    entity: Entity,
    pending: list[tuple[Path, str]],
    counts: dict[str, tuple[int, int]],
    load_id: int,
    run_id: str | None,
    result: LoadResult,
) -> list[tuple]:
    """One audit.loaded_files row per loaded file, without loaded_at (which each engine stamps
    itself): entity, file_name, sha256, bytes, load_id, rows read/loaded/rejected, run_id.
    `counts` maps a file name to (rows read, rows rejected); each file is added to `result`."""
    rows = []
    for path, digest in pending:
        read, rejected = counts.get(path.name, (0, 0))
        load = FileLoad(path.name, digest, read, read - rejected, rejected)
        result.files.append(load)
        rows.append(
            (
                entity.name,
                path.name,
                digest,
                path.stat().st_size,
                load_id,
                load.rows_read,
                load.rows_loaded,
                load.rows_rejected,
                run_id,
            )
        )
    return rows


def load_entity(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    landing_dir: Path,
    seeds_dir: Path,
    run_id: str | None = None,
    log: Callable[[str], None] = lambda _msg: None,
    slice_rows: int = SLICE_ROWS,
) -> LoadResult:
    """Load the entity's new landing files into `raw.<entity>`; see the module docstring."""
    con.execute("set TimeZone = 'UTC'")
    ensure_tables(con, list(ENTITIES.values()))
    register_reference(con, seeds_dir)
    result = LoadResult(entity=entity.name)

    loaded = {
        (name, digest)
        for name, digest in con.execute(
            "select file_name, content_sha256 from audit.loaded_files where entity = ?",
            [entity.name],
        ).fetchall()
    }
    pending = new_files(landing_dir, entity, loaded, result, log)
    if pending:
        with _scratch(con, entity):
            staged = _stage_all(con, entity, pending)
            _apply(con, entity, pending, staged, run_id, result, log, slice_rows)
    row = con.execute(f"select count(*) from raw.{entity.name}").fetchone()
    assert row is not None
    result.table_rows = int(row[0])
    return result


@contextmanager
def _scratch(con: duckdb.DuckDBPyConnection, entity: Entity) -> Iterator[None]:
    """Attach the scratch database that the batch's files are read into, as `STAGE`; detach
    and remove it afterwards. It lives in DuckDB's temp directory (beside the build database)."""
    [(temp_dir,)] = con.execute("select current_setting('temp_directory')").fetchall()
    folder = Path(temp_dir) if temp_dir and Path(temp_dir).is_absolute() else None
    made = None
    if folder is None:
        made = folder = Path(tempfile.mkdtemp(prefix="psw-stage-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"stage-{entity.name}-{os.getpid()}.duckdb"
    # a killed load's scratch file: one process at a time writes the build database
    for leftover in folder.glob(f"stage-{entity.name}-*.duckdb*"):
        leftover.unlink(missing_ok=True)
    con.execute(f"attach '{path}' as {STAGE}")
    try:
        yield
    finally:
        con.execute(f"detach {STAGE}")
        for done in (path, path.with_name(path.name + ".wal")):
            done.unlink(missing_ok=True)
        if made is not None:
            made.rmdir()


def _stage_all(
    con: duckdb.DuckDBPyConnection, entity: Entity, pending: list[tuple[Path, str]]
) -> list[tuple[str, int]]:
    """Read every pending file into a table of the scratch database; return (table, rows) in
    load order, or raise `FileRejected` naming every file that cannot be loaded."""
    problems: list[str] = []
    staged: list[tuple[str, int]] = []
    for i, (path, _digest) in enumerate(pending):
        table = f"{STAGE}.{entity.name}_{i}"
        problem = _stage(con, entity, path, table)
        if problem:
            problems.append(problem)
        elif not problems:
            [(rows,)] = con.execute(f"select count(*) from {table}").fetchall()
            staged.append((table, int(rows)))
    if problems:
        raise FileRejected(problems)
    return staged


def _slices(
    pending: list[tuple[Path, str]], staged: list[tuple[str, int]], slice_rows: int
) -> Iterator[list[tuple[Path, str]]]:
    """The files in load order, grouped into slices of at least `slice_rows` rows (the last
    may hold fewer); each item is (file name, staged table)."""
    part: list[tuple[Path, str]] = []
    rows = 0
    for (path, _digest), (table, n) in zip(pending, staged, strict=True):
        part.append((path, table))
        rows += n
        if rows >= slice_rows:
            yield part
            part, rows = [], 0
    if part:
        yield part


def _apply(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    pending: list[tuple[Path, str]],
    staged: list[tuple[str, int]],
    run_id: str | None,
    result: LoadResult,
    log: Callable[[str], None],
    slice_rows: int,
) -> None:
    counts: dict[str, tuple[int, int]] = {}
    reasons: Counter[str] = Counter()
    con.execute("begin transaction")
    try:
        load_id = _next_load_id(con)
        done = 0
        for number, part in enumerate(_slices(pending, staged, slice_rows), start=1):
            _apply_slice(con, entity, part, load_id, run_id, counts, reasons)
            done += len(part)
            log(f"{entity.name}: slice {number} applied ({done} of {len(pending)} file(s))")
        for row in file_loads(entity, pending, counts, load_id, run_id, result):
            con.execute(
                "insert into audit.loaded_files "
                "values (?, ?, ?, ?, ?, ?, ?, ?, now()::timestamp, ?)",
                list(row),
            )
        result.reject_reasons = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
        # the batch's rows that are current now (a key that a later slice replaced counts once)
        [(upserted,)] = con.execute(
            f"select count(*) from raw.{entity.name} where _load_id = ?", [load_id]
        ).fetchall()
        result.rows_upserted = int(upserted)
        mark_pending(con, entity, load_id, run_id)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        for table in ("_batch", "_losers"):
            con.execute(f"drop table if exists {table}")
    log(
        f"{entity.name}: read {result.rows_read} rows, loaded {result.rows_loaded}, "
        f"rejected {result.rows_rejected}, upserted {result.rows_upserted}"
    )


def _apply_slice(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    part: list[tuple[Path, str]],
    load_id: int,
    run_id: str | None,
    counts: dict[str, tuple[int, int]],
    reasons: Counter[str],
) -> None:
    """Apply one slice of the batch inside the loader's transaction; add its rows read and
    rejected per file to `counts` and its reject rules to `reasons`."""
    names = entity.column_names
    cols = ", ".join(names)
    union = " union all ".join(
        f"select {cols}, {sql._lit(path.name)} as _source_file, _source_row from {table}"
        for path, table in part
    )
    key = entity.key
    # typed rows with their reject reasons; only the columns the statements below read:
    # the text of every column (t_*) is not kept, and a 1M-row batch holds half the
    # strings it would (≈ 2 s less at SF1)
    kept = ", ".join(["_source_file", "_source_row", f"t_{key}", *names, "_reason", "_record"])
    con.execute(
        f"""create or replace temp table _batch as
        select {kept} from ({sql.typed_select(entity, f"({union})")}) as typed"""
    )
    con.execute(
        "insert into audit.rejected_rows "
        "select ?, _source_file, t_" + key + ", _reason, now()::timestamp, _source_row, "
        "_record, ?, ? from _batch where _reason is not null",
        [entity.name, load_id, run_id],
    )
    # Among the good rows of a key, the one that counts is the one with the latest
    # updated_at, then the later file, then the later row; the others lose. Only the keys
    # that occur more than once are ranked: a window over the whole batch sorted every
    # column of every row by key (SF10 deals: 17 s of the batch's 22 s, spilling at the
    # 4GB memory limit; `EXPLAIN ANALYZE`).
    con.execute(
        f"""create or replace temp table _losers as
        select _source_file, _source_row from (
          select _source_file, _source_row, row_number() over (
            partition by {key}
            order by updated_at desc, _source_file desc, _source_row desc
          ) as _rank
          from _batch
          where _reason is null and {key} in (
            select {key} from _batch where _reason is null
            group by {key} having count(*) > 1
          )
        ) where _rank > 1"""
    )
    # The existing rows that the slice replaces: those with an earlier updated_at than a
    # good row of the slice, or the same updated_at in an earlier file (an equal file name
    # means the same file delivered again with new content: the new load wins). A row
    # that the slice's winner does not replace, no loser replaces either. Rows an earlier
    # slice of the same load wrote are replaced by the same rule.
    replaces = f"""new._reason is null and old.{key} = new.{key}
          and (old.updated_at < new.updated_at
               or (old.updated_at = new.updated_at
                   and old._source_file <= new._source_file))"""
    # kept until the raw gate passes, so that a blocked batch can be undone (pending.py)
    keep_replaced(con, entity, f"exists (select 1 from _batch as new where {replaces})", load_id)
    con.execute(f"delete from raw.{entity.name} as old using _batch as new where {replaces}")
    # NOT EXISTS rather than NOT IN: DuckDB builds its hash table on the slice and scans the
    # raw table's keys (a right anti join); NOT IN hashes every key of the raw table (a mark
    # join), once per slice.
    con.execute(
        f"""insert into raw.{entity.name}
        select {", ".join(f"b.{c}" for c in names)}, b._source_file, b._source_row,
          {load_id}, now()::timestamp
        from _batch as b
        left join _losers as l
          on l._source_file = b._source_file and l._source_row = b._source_row
        where b._reason is null and l._source_row is null
          and not exists (select 1 from raw.{entity.name} as r where r.{key} = b.{key})"""
    )
    add_versions(con, entity, "_batch", load_id)
    for name, read, rejected in con.execute(
        "select _source_file, count(*), count(_reason) from _batch group by 1"
    ).fetchall():
        counts[name] = (int(read), int(rejected))
    reasons.update(_reason_counts(con))


# The rule and the column of a reject reason ("unknown partner: partner_id"): the text before
# the row's values, which the full reason in audit.rejected_rows carries.
REASON_RULE = r"^[^:]+: [a-z_]+"


def _reason_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Reject counts by rule and column, for the asset's metadata and logs: no values."""
    rows = con.execute(
        f"select regexp_extract(r, '{REASON_RULE}') as rule, count(*) from "
        "(select unnest(string_split(_reason, '; ')) as r from _batch "
        "where _reason is not null) group by 1 order by 2 desc, 1"
    ).fetchall()
    return {rule: int(n) for rule, n in rows}
