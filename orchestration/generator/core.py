"""generate(): a synthetic landing zone (SPEC §3 and §9), deterministic for its arguments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from orchestration.generator.accounts import build_accounts
from orchestration.generator.certifications import CertModel, cert_chunk
from orchestration.generator.common import (
    DAY,
    Calendar,
    Streams,
    chunk_bounds,
    days,
    scaled,
    ts_array,
)
from orchestration.generator.deals import DealModel, deal_chunk
from orchestration.generator.dirty import dirty_count, make_dirty
from orchestration.generator.incentives import IncentiveModel, incentive_chunk
from orchestration.generator.partner_rows import partner_rows, write_partners
from orchestration.generator.partners import build_partners
from orchestration.generator.reference import DEFAULT_SEEDS_DIR, SEGMENTS, load_reference
from orchestration.generator.story import choose_story
from orchestration.generator.writer import EntityWriter
from orchestration.ingest.contract import ENTITIES

DEFAULT_END_DATE = date(2026, 11, 20)
MODEL_CHUNK = 1 << 20  # chunk number of a model's own random stream (never a data chunk)
Progress = Callable[[str, int, int], None]
Chunk = Callable[
    [np.random.Generator, int, int],
    tuple[dict[str, pa.Array], np.ndarray, np.ndarray, dict[str, pa.Array]],
]


class GenerationResult(dict[str, int]):
    """Rows written per entity, with the dirty rows per entity and the files written."""

    def __init__(self) -> None:
        super().__init__()
        self.dirty: dict[str, int] = {}
        self.files: dict[str, list[str]] = {}


def _write_dirty(writer: EntityWriter, table: pa.Table, calendar: Calendar) -> None:
    """Dirty rows, in the CSV part of the initial extract, stamped with the snapshot day."""
    day = calendar.snapshot
    stamp = ts_array(day * DAY + 10 * 3600 + 60 * np.arange(table.num_rows)).cast(pa.string())
    writer.dirty(table.set_column(table.schema.get_field_index("updated_at"), "updated_at", stamp))


def _qualifying(name: str, columns: dict[str, pa.Array]) -> np.ndarray:
    """Rows of a generated piece that can become dirty rows: every row, but for deals only won
    or lost partner deals (so that each break triggers exactly one rule)."""
    if name != "deals":
        return np.arange(len(columns["updated_at"]))
    closed = np.isin(columns["stage"].to_numpy(zero_copy_only=False), ["won", "lost"])
    has_partner = ~np.asarray(columns["partner_id"].is_null())
    return np.flatnonzero(closed & has_partner)


def _template(
    name: str, chunker: Chunk, rng: np.random.Generator, size: int, need: int
) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Valid rows to break into `need` dirty rows, and which of them qualify (`_qualifying`).

    Rows are drawn from `rng` in pieces of at most CHUNK_ROWS, and only the first `need`
    qualifying rows are kept, so that memory stays within one chunk at any scale.
    Certification rows are numbered from 0 (a row number maps to a partner)."""
    rows = 16 * need + 64
    first = 0 if name == "certifications" else size
    if name == "certifications":
        rows = min(rows, size)
    pieces: list[dict[str, pa.Array]] = []
    found = 0
    for a, b in chunk_bounds(rows):
        columns, *_ = chunker(rng, first + a, b - a)
        keep = pa.array(_qualifying(name, columns)[: need - found])
        pieces.append({column: values.take(keep) for column, values in columns.items()})
        found += len(keep)
        if found >= need:
            break
    template = {column: pa.concat_arrays([p[column] for p in pieces]) for column in pieces[0]}
    return template, np.arange(found)


def generate(
    out: Path,
    scale: float = 0.01,
    seed: int = 42,
    end_date: date = DEFAULT_END_DATE,
    dirty_rate: float = 0.0005,
    seeds_dir: Path | None = None,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> dict[str, int]:
    """Write <out>/<entity>/<files> for partners, deals, certifications, incentives.

    Returns rows written per entity (all rows, including superseding updates and dirty rows);
    the result also carries `.dirty` (dirty rows per entity: each is rejected by the loader for
    one reason) and `.files` (file names per entity, in load order). An entity folder that
    already holds extracts is refused (FileExistsError) unless `overwrite`, which removes the
    files an earlier generation wrote there.
    progress(entity, rows_done, rows_total) is called after each chunk.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if not 0 <= dirty_rate < 1:
        raise ValueError(f"dirty_rate must be in [0, 1), got {dirty_rate}")
    seeds = Path(seeds_dir) if seeds_dir is not None else DEFAULT_SEEDS_DIR
    ref = load_reference(seeds)
    calendar = Calendar(days(end_date))
    story = choose_story(seeds, ref, calendar)
    streams = Streams(seed)
    report = progress or (lambda _entity, _done, _total: None)
    result = GenerationResult()
    sizes = {name: scaled(name, scale) for name in ENTITIES}
    dirty = {name: dirty_count(sizes[name], dirty_rate) for name in ENTITIES}
    unknown_partner = sizes["partners"] + dirty["partners"] + 1000

    def finish(
        name: str, writer: EntityWriter, template: dict[str, pa.Array], eligible: np.ndarray
    ) -> None:
        if dirty[name]:
            table = make_dirty(name, template, eligible, dirty[name], sizes[name], unknown_partner)
            _write_dirty(writer, table, calendar)
        writer.close()
        result[name] = writer.rows
        result.dirty[name] = dirty[name]
        result.files[name] = writer.files

    # Partners: the whole table in memory (10k rows per scale factor).
    partners = build_partners(sizes["partners"], ref, calendar, streams.rng("partners", 0), story)
    writer = EntityWriter(Path(out), ENTITIES["partners"], calendar, overwrite)
    write_partners(partners, ref, calendar, streams.rng("partners", 1), writer)
    report("partners", partners.n, partners.n)
    rng = streams.rng("dirty", 0)
    sample = rng.integers(0, partners.n, max(dirty["partners"], 1))
    template = partner_rows(partners, ref, sample, rng, partners.applied[sample] * DAY)
    finish("partners", writer, template, np.arange(len(sample)))

    # The other entities: chunk by chunk, each chunk from its own random stream.
    accounts = build_accounts(ref, sizes["deals"], len(SEGMENTS))
    deals = DealModel(partners, accounts, ref, calendar)
    certs = CertModel(
        partners, ref, calendar, sizes["certifications"], streams.rng("certifications", MODEL_CHUNK)
    )
    incentives = IncentiveModel(partners, ref, calendar, story.unfunded_type)
    chunkers: dict[str, Chunk] = {
        "deals": lambda r, a, n: deal_chunk(deals, r, a, n),
        "certifications": lambda r, a, n: cert_chunk(certs, r, a, n),
        "incentives": lambda r, a, n: incentive_chunk(incentives, r, a, n),
    }
    for stream, (name, chunker) in enumerate(chunkers.items(), start=1):
        writer = EntityWriter(Path(out), ENTITIES[name], calendar, overwrite)
        total = sizes[name]
        for i, (a, b) in enumerate(chunk_bounds(total)):
            if b > a:
                writer.chunk(*chunker(streams.rng(name, i), a, b - a))
            report(name, b, total)
        template, eligible = _template(
            name, chunker, streams.rng("dirty", stream), total, max(dirty[name], 1)
        )
        finish(name, writer, template, eligible)
    return result
