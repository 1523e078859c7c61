"""Extract files of one entity: an initial extract in Parquet parts, then daily delta files.

Names sort in load order: `<entity>_<snapshot>_<part>.parquet` for the initial extract, then
`<entity>_<day>.csv|parquet` for each of the DELTA_DAYS days up to end_date. Delta files
alternate CSV and Parquet; rows that break a rule (dirty rows) go to the CSV delta files, as
text, since a Parquet column cannot hold 'not-a-date' in a date column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from orchestration.generator.common import DELTA_DAYS, Calendar
from orchestration.ingest.contract import Entity

CHUNKS_PER_PART = 2  # initial extract parts of up to 2 chunks (400k rows)
_ARROW_TYPES = {
    "text": pa.string(),
    "code": pa.string(),
    "list": pa.string(),  # ';'-joined
    "date": pa.date32(),
    "timestamp": pa.timestamp("s"),
    "decimal": pa.decimal128(18, 2),
    "boolean": pa.bool_(),
}


def arrow_schema(entity: Entity) -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.type]) for c in entity.columns])


def text_schema(entity: Entity) -> pa.Schema:
    return pa.schema([pa.field(c.name, pa.string()) for c in entity.columns])


def delta_is_csv(index: int) -> bool:
    """Delta files alternate: CSV, Parquet, CSV, ..."""
    return index % 2 == 0


def existing_extracts(folder: Path) -> list[Path]:
    """Extract files already in the entity's folder."""
    return sorted(
        p for p in folder.glob("*") if p.is_file() and p.suffix.lower() in (".csv", ".parquet")
    )


def clear_extracts(folder: Path, entity: Entity, overwrite: bool) -> None:
    """Refuse to mix generated files with extracts already there (they may be real data),
    unless `overwrite`: then remove the files an earlier generation wrote."""
    found = existing_extracts(folder)
    if found and not overwrite:
        raise FileExistsError(
            f"{folder} already holds {len(found)} extract file(s) (e.g. {found[0].name}); "
            "generate into an empty landing folder, or pass --overwrite to replace files "
            "an earlier `psw generate` wrote"
        )
    for path in found:
        if path.name.startswith(f"{entity.name}_"):
            path.unlink()


class EntityWriter:
    """Streams the chunks of one entity into its extract files."""

    def __init__(self, out: Path, entity: Entity, calendar: Calendar, overwrite: bool = False):
        self.entity = entity
        self.folder = out / entity.name
        self.folder.mkdir(parents=True, exist_ok=True)
        clear_extracts(self.folder, entity, overwrite)
        self.schema = arrow_schema(entity)
        self.text = text_schema(entity)
        self.calendar = calendar
        self.rows = 0
        self.files: list[str] = []
        self._part = -1
        self._chunks = 0
        self._initial: pq.ParquetWriter | pacsv.CSVWriter | None = None
        # The first part of the initial extract is CSV and stays open: the dirty rows go there,
        # so that they are a small share of a large file, as in real deliveries.
        self._csv_part: pacsv.CSVWriter | None = None
        self._deltas: list[pq.ParquetWriter | pacsv.CSVWriter] = []
        for i in range(DELTA_DAYS):
            day = calendar.day(calendar.snapshot + 1 + i).isoformat()
            if delta_is_csv(i):
                path = self.folder / f"{entity.name}_{day}.csv"
                self._deltas.append(pacsv.CSVWriter(str(path), self.text))
            else:
                path = self.folder / f"{entity.name}_{day}.parquet"
                self._deltas.append(pq.ParquetWriter(str(path), self.schema))
            self.files.append(path.name)

    def _new_part(self) -> pq.ParquetWriter | pacsv.CSVWriter:
        if self._initial is not None and self._initial is not self._csv_part:
            self._initial.close()
        self._part += 1
        snapshot = self.calendar.day(self.calendar.snapshot).isoformat()
        stem = f"{self.entity.name}_{snapshot}_{self._part:03d}"
        if self._part == 0:
            name = f"{stem}.csv"
            self._csv_part = pacsv.CSVWriter(str(self.folder / name), self.text)
            self._initial = self._csv_part
        else:
            name = f"{stem}.parquet"
            self._initial = pq.ParquetWriter(str(self.folder / name), self.schema)
        self.files.insert(self._part, name)
        return self._initial

    def _table(self, columns: dict[str, pa.Array]) -> pa.Table:
        return pa.table([columns[f.name].cast(f.type) for f in self.schema], schema=self.schema)

    def initial(self, columns: dict[str, pa.Array]) -> None:
        """One chunk's rows of the initial extract (a new part every CHUNKS_PER_PART chunks)."""
        table = self._table(columns)
        writer = self._initial
        if writer is None or self._chunks % CHUNKS_PER_PART == 0:
            writer = self._new_part()
        self._chunks += 1
        writer.write_table(table.cast(self.text) if writer is self._csv_part else table)
        self.rows += table.num_rows

    def delta(self, index: int, columns: dict[str, pa.Array]) -> None:
        """Rows of the delta file of day snapshot + 1 + index."""
        table = self._table(columns)
        if table.num_rows == 0:
            return
        writer = self._deltas[index]
        if isinstance(writer, pacsv.CSVWriter):
            writer.write_table(table.cast(self.text))
        else:
            writer.write_table(table)
        self.rows += table.num_rows

    def chunk(
        self,
        final: dict[str, pa.Array],
        delta: np.ndarray,
        prior: np.ndarray,
        earlier: dict[str, pa.Array],
    ) -> None:
        """One generated chunk: rows whose last change is before the snapshot and the earlier
        state of the others (`prior`: their row numbers) go to the initial extract, in row
        order; the rest to the delta file of their day (`delta`: index, -1 for none)."""
        keep = np.flatnonzero(delta < 0)
        rows = np.concatenate([keep, prior])
        order = pa.array(np.argsort(rows, kind="stable"))
        n_keep = pa.array(keep)
        self.initial(
            {
                name: pa.concat_arrays([final[name].take(n_keep), earlier[name]]).take(order)
                for name in self.schema.names
            }
        )
        for i in range(DELTA_DAYS):
            sel = pa.array(np.flatnonzero(delta == i))
            if len(sel):
                self.delta(i, {name: final[name].take(sel) for name in self.schema.names})

    def dirty(self, table: pa.Table) -> None:
        """Text rows (already in the text schema) appended to the CSV part of the initial
        extract."""
        if self._csv_part is None:
            self._new_part()
        assert self._csv_part is not None
        self._csv_part.write_table(table.select(self.text.names).cast(self.text))
        self.rows += table.num_rows

    def close(self) -> None:
        if self._initial is None:
            self._new_part()
        assert self._initial is not None
        if self._initial is not self._csv_part:
            self._initial.close()
        if self._csv_part is not None:
            self._csv_part.close()
        for writer in self._deltas:
            writer.close()
