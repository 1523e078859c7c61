"""The landing-zone generator: deterministic, accepted by the real loader, believable in shape."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.generator import DEFAULT_END_DATE, GenerationResult, generate
from orchestration.generator.accounts import build_accounts
from orchestration.generator.common import CHUNK_ROWS, Calendar, Streams, days
from orchestration.generator.core import _template
from orchestration.generator.deals import DealModel, deal_chunk
from orchestration.generator.partners import build_partners
from orchestration.generator.reference import SEGMENTS, load_reference
from orchestration.generator.story import choose_story
from orchestration.ingest.contract import ENTITIES
from orchestration.ingest.loader import load_entity
from orchestration.quality.parameters import seed_code_sets

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
PARTNER_TYPES = tuple(seed_code_sets(SEEDS)["partner_types"])
LOAD_ORDER = ("partners", "deals", "certifications", "incentives")
REJECT_KINDS = (
    "negative amount",
    "unknown code",
    "unknown partner",
    "missing required value",
    "wrong type",
    "closed before registered",
    "expires before earned",
    "no FX rate",
)
END = DEFAULT_END_DATE.isoformat()


def load(landing: Path, db: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(db))
    for name in LOAD_ORDER:
        load_entity(con, ENTITIES[name], landing, SEEDS)
    return con


def one(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


@dataclass
class Zone:
    landing: Path
    result: GenerationResult
    con: duckdb.DuckDBPyConnection
    progress: list[tuple[str, int, int]]


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zone]:
    """SF0.05 with 0.2% dirty rows, loaded by the real loader."""
    root = tmp_path_factory.mktemp("sf005")
    progress: list[tuple[str, int, int]] = []
    result = generate(
        root / "landing",
        scale=0.05,
        seed=7,
        dirty_rate=0.002,
        progress=lambda e, d, t: progress.append((e, d, t)),
    )
    con = load(root / "landing", root / "build.duckdb")
    yield Zone(root / "landing", result, con, progress)
    con.close()


def files_of(landing: Path, entity: str) -> list[Path]:
    return sorted((landing / entity).iterdir(), key=lambda p: p.name)


def test_deterministic_byte_identical(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", scale=0.01, seed=3)
    b = generate(tmp_path / "b", scale=0.01, seed=3)
    generate(tmp_path / "c", scale=0.01, seed=4)
    assert dict(a) == dict(b)
    for entity in LOAD_ORDER:
        names = [p.name for p in files_of(tmp_path / "a", entity)]
        assert names == [p.name for p in files_of(tmp_path / "b", entity)]
        for name in names:
            left = (tmp_path / "a" / entity / name).read_bytes()
            assert left == (tmp_path / "b" / entity / name).read_bytes(), name
    deals = sorted(p.name for p in files_of(tmp_path / "a", "deals"))[0]
    assert (tmp_path / "a/deals" / deals).read_bytes() != (
        tmp_path / "c/deals" / deals
    ).read_bytes()
    # A used folder is refused (it may hold real extracts) unless overwrite is asked for;
    # then the extracts of the earlier generation are replaced.
    stale = tmp_path / "a" / "deals" / "deals_2026-11-17_007.parquet"
    stale.write_bytes(b"")
    with pytest.raises(FileExistsError, match="already holds"):
        generate(tmp_path / "a", scale=0.01, seed=3)
    again = generate(tmp_path / "a", scale=0.01, seed=3, overwrite=True)
    assert dict(again) == dict(a) and not stale.exists()


def test_clean_zone_loads_without_rejects(tmp_path: Path) -> None:
    result = generate(tmp_path / "landing", scale=0.01, seed=11, dirty_rate=0.0)
    assert result.dirty == {name: 0 for name in LOAD_ORDER}
    con = load(tmp_path / "landing", tmp_path / "build.duckdb")
    assert one(con, "select count(*) from audit.rejected_rows") == 0
    for name in LOAD_ORDER:
        read = one(con, f"select sum(rows_read) from audit.loaded_files where entity = '{name}'")
        assert read == result[name]
    assert one(con, "select count(*) from raw.partners") == 100
    assert one(con, "select count(*) from raw.deals") == 10_000


def test_files_per_entity(zone: Zone) -> None:
    landing, result = zone.landing, zone.result
    for entity in LOAD_ORDER:
        files = files_of(landing, entity)
        names = [p.name for p in files]
        assert names == result.files[entity]  # name order is load order
        assert len(files) >= 4
        assert any(n.endswith(".csv") for n in names) and any(n.endswith(".parquet") for n in names)
        rows = 0
        for path in files:
            if path.suffix == ".parquet":
                table = pq.read_table(path)
                assert table.column_names == list(ENTITIES[entity].column_names)
                rows += table.num_rows
            else:
                with path.open(newline="", encoding="utf-8") as fh:
                    header, *body = list(csv.reader(fh))
                assert header == list(ENTITIES[entity].column_names)
                rows += len(body)
        assert rows == result[entity]
        reports = [p for p in zone.progress if p[0] == entity]
        assert reports and reports[-1][1] == reports[-1][2] > 0
    # Linear in scale: SF0.05 is 500 partners in ~600 versions (a terminated partner's enrolled
    # state, the earlier state of one that changes in the delta days), 50k deals, 10k
    # certifications, 25k incentives.
    assert {e: result[e] - result.dirty[e] for e in LOAD_ORDER} == pytest.approx(
        {"partners": 600, "deals": 50_000, "certifications": 10_000, "incentives": 25_000},
        rel=0.05,
    )


def test_dirty_rows_are_the_rejects(zone: Zone) -> None:
    result, con = zone.result, zone.con
    assert all(result.dirty[e] >= 1 for e in LOAD_ORDER)
    by_entity = dict(
        con.execute("select entity, count(*) from audit.rejected_rows group by 1").fetchall()
    )
    assert by_entity == {e: n for e, n in result.dirty.items() if n}
    reasons = [r for (r,) in con.execute("select reason from audit.rejected_rows").fetchall()]
    assert all(";" not in r for r in reasons)  # exactly one broken rule per row
    assert all(r.startswith(REJECT_KINDS) for r in reasons), reasons
    kinds = {k for k in REJECT_KINDS for r in reasons if r.startswith(k)}
    assert kinds == set(REJECT_KINDS)
    # Dirty keys never collide with good rows.
    for name in LOAD_ORDER:
        key = ENTITIES[name].key
        clash = (
            f"select count(*) from audit.rejected_rows r join raw.{name} t "
            f"on t.{key} = r.record_key"
        )
        assert one(con, clash) == 0
    assert one(con, "select count(*) from raw.partners") == 500
    assert one(con, "select count(*) from raw.deals") == 50_000


def test_dirty_templates_come_chunk_by_chunk() -> None:
    """The valid rows that dirty rows are made from are drawn at most a chunk at a time and only
    the qualifying ones are kept, so a large scale (many dirty rows) needs no more memory than
    one chunk; every kept deal is a won or lost partner deal, each a distinct row."""
    ref = load_reference(SEEDS)
    calendar = Calendar(days(DEFAULT_END_DATE))
    streams = Streams(1)
    story = choose_story(SEEDS, ref, calendar)
    partners = build_partners(200, ref, calendar, streams.rng("partners", 0), story)
    model = DealModel(partners, build_accounts(ref, 20_000, len(SEGMENTS)), ref, calendar)
    asked: list[tuple[int, int]] = []

    def chunker(
        rng: np.random.Generator, first: int, n: int
    ) -> tuple[dict[str, pa.Array], np.ndarray, np.ndarray, dict[str, pa.Array]]:
        asked.append((first, n))
        return deal_chunk(model, rng, first, n)

    need = 100_000  # more qualifying deals than one chunk holds
    template, eligible = _template("deals", chunker, streams.rng("dirty", 1), 20_000, need)
    assert len(asked) >= 2
    assert asked == [(20_000 + i * CHUNK_ROWS, CHUNK_ROWS) for i in range(len(asked))]
    assert len(eligible) == need and all(len(column) == need for column in template.values())
    assert set(template["stage"].to_pylist()) <= {"won", "lost"}
    assert template["partner_id"].null_count == 0
    assert len(set(template["deal_id"].to_pylist())) == need


def test_deltas_supersede_initial_rows(zone: Zone) -> None:
    landing, con = zone.landing, zone.con
    initial = "_000.csv"
    won_late = con.execute(
        f"select deal_id from raw.deals where _source_file not like '%{initial}' "
        "and stage in ('won', 'lost') and closed_on > date '" + END + "' - 3"
    ).fetchall()
    assert won_late
    first = files_of(landing, "deals")[0]
    earlier = dict(
        duckdb.sql(f"select deal_id, stage from read_csv('{first}', all_varchar = true)").fetchall()
    )
    superseded = [earlier[d] for (d,) in won_late if d in earlier]
    assert superseded and set(superseded) <= {"registered", "approved"}
    partners = con.execute(
        "select partner_id, program_status from raw.partners "
        f"where _source_file not like '%{initial}'"
    ).fetchall()
    statuses = {s for _, s in partners}
    assert {"enrolled", "terminated"} <= statuses
    paid = one(
        con,
        f"select count(*) from raw.incentives where _source_file not like '%{initial}' "
        "and status in ('paid', 'clawed_back') and paid_on is not null",
    )
    assert paid > 0


def test_realistic_shape(zone: Zone) -> None:
    landing, con = zone.landing, zone.con
    con.execute(
        "create or replace temp table types as select distinct lower(trim(alias)) as label, "
        f"partner_type from read_csv('{SEEDS / 'partner_type_aliases.csv'}', all_varchar=true) "
        "union select unnest($types), unnest($types)",
        {"types": list(PARTNER_TYPES)},
    )
    con.execute(
        "create or replace temp table p as select r.*, t.partner_type as canonical "
        "from raw.partners r join types t on t.label = r.partner_type"
    )
    assert one(con, "select count(*) from p") == 500
    assert one(con, "select count(distinct canonical) from p") == len(PARTNER_TYPES)
    labels = [
        r[0]
        for r in duckdb.sql(
            f"select partner_type from read_csv('{files_of(landing, 'partners')[0]}', "
            "all_varchar = true)"
        ).fetchall()
    ]
    with (SEEDS / "partner_type_aliases.csv").open(newline="", encoding="utf-8") as fh:
        aliases = {row["alias"] for row in csv.DictReader(fh)}
    assert any(lbl in aliases and lbl not in PARTNER_TYPES for lbl in labels)
    odd = [lbl for lbl in labels if lbl not in aliases and lbl not in PARTNER_TYPES]
    assert any(lbl != lbl.strip() for lbl in odd)  # padded
    assert any(lbl == lbl.strip() and lbl != lbl.lower() for lbl in odd)  # other letter case
    statuses = dict(con.execute("select program_status, count(*) from p group by 1").fetchall())
    assert set(statuses) == {"applied", "enrolled", "suspended", "terminated"}
    assert statuses["enrolled"] > 0.6 * 500
    assert (
        one(
            con,
            "select count(*) from p where program_status = 'applied' and enrolled_on is not null",
        )
        == 0
    )
    assert one(con, "select count(*) from p where terminated_on <= enrolled_on") == 0
    assert 1 <= one(con, "select count(*) from p where is_strategic") <= 15
    market = {
        r[0]
        for r in duckdb.sql(
            f"select distinct country_code from read_csv('{SEEDS / 'market_segments.csv'}')"
        ).fetchall()
    }
    assert {r[0] for r in con.execute("select distinct hq_country from p").fetchall()} <= market

    # Deals: direct and partner deals, dates in order, FX currencies.
    direct = one(con, "select avg((partner_id is null)::int) from raw.deals")
    assert 0.25 < direct < 0.40
    assert (
        one(
            con,
            "select count(*) from raw.deals where closed_on < registered_on "
            f"or closed_on > date '{END}'",
        )
        == 0
    )
    assert (
        one(
            con,
            "select count(*) from raw.deals d join raw.partners p using (partner_id) "
            "where d.registered_on < p.applied_on",
        )
        == 0
    )
    currencies = {r[0] for r in con.execute("select distinct currency from raw.deals").fetchall()}
    assert {"USD", "EUR", "GBP", "JPY"} <= currencies
    won = one(con, "select avg((stage = 'won')::int) from raw.deals")
    assert 0.28 < won < 0.42

    # Productivity: heavy-tailed revenue, a part of the enrolled partners inactive.
    con.execute(
        f"create or replace temp table fx as select upper(currency) as currency, "
        f"cast(month as date) as month, cast(usd_per_unit as double) as rate "
        f"from read_csv('{SEEDS / 'fx_rates.csv'}', all_varchar=true)"
    )
    top_share = one(
        con,
        """
        with usd as (
          select d.partner_id, d.amount * coalesce(fx.rate, 1) as usd from raw.deals d
          asof left join fx
            on fx.currency = d.currency and date_trunc('month', d.closed_on) >= fx.month
          where d.stage = 'won' and d.deal_source <> 'direct'),
        per as (select p.partner_id, coalesce(sum(usd), 0) as r
                from p left join usd using (partner_id) group by 1),
        ranked as (select r, ntile(10) over (order by r desc) as decile from per)
        select sum(r) filter (where decile = 1) / sum(r) from ranked""",
    )
    assert 0.5 < top_share < 0.95
    active = one(
        con,
        f"""
        with enrolled as (select partner_id from p where enrolled_on <= date '{END}'
                          and (terminated_on is null or terminated_on > date '{END}')),
        act as (select distinct partner_id from raw.deals where deal_source <> 'direct'
                and (registered_on > date '{END}' - 365
                     or (stage = 'won' and closed_on > date '{END}' - 365)))
        select avg((act.partner_id is not null)::int)
        from enrolled left join act using (partner_id)""",
    )
    assert 0.3 < active < 0.8

    # Certifications and incentives.
    assert one(con, f"select count(*) from raw.certifications where expires_on <= date '{END}'") > 0
    assert (
        one(
            con,
            "select count(*) from raw.certifications where track = 'vertical' "
            "and vertical is not null",
        )
        > 0
    )
    assert (
        one(
            con,
            "select count(*) from raw.certifications where track <> 'vertical' "
            "and vertical is not null",
        )
        == 0
    )
    assert (
        one(con, "select count(*) - count(distinct (person_id, track)) from raw.certifications")
        == 0
    )
    statuses = {r[0] for r in con.execute("select distinct status from raw.incentives").fetchall()}
    assert statuses == {"accrued", "approved", "paid", "clawed_back"}
    assert (
        one(
            con,
            "select count(*) from raw.incentives where (paid_on is null) "
            "<> (status in ('accrued', 'approved')) or paid_on < approved_on",
        )
        == 0
    )
    assert (
        one(
            con,
            "select count(*) from raw.incentives i join p using (partner_id) "
            "where i.program = 'recruitment_bonus' and (i.approved_on < p.enrolled_on "
            "or p.enrolled_on is null)",
        )
        > 0
    )


def test_end_date_moves_the_calendar(tmp_path: Path) -> None:
    generate(tmp_path, scale=0.002, seed=1, end_date=date(2025, 3, 31), dirty_rate=0.0)
    names = [p.name for p in files_of(tmp_path, "deals")]
    assert names[-1] == "deals_2025-03-31.csv"
    con = load(tmp_path, tmp_path / "build.duckdb")
    assert one(con, "select max(registered_on) from raw.deals") <= date(2025, 3, 31)
    assert one(con, "select count(*) from audit.rejected_rows") == 0


def test_partner_types_come_from_the_seed(tmp_path: Path, seeds_dir: Path) -> None:
    """A partner type added to the seeds only is generated too (with the default share)."""
    with (seeds_dir / "partner_types.csv").open("a", encoding="utf-8") as fh:
        fh.write("marketplace,Cloud Marketplace,9,Lists and bills the product in a cloud store.\n")
    with (seeds_dir / "partner_type_aliases.csv").open("a", encoding="utf-8") as fh:
        fh.write("Cloud Marketplace,marketplace\n")
    generate(tmp_path / "landing", scale=0.05, seed=5, dirty_rate=0.0, seeds_dir=seeds_dir)
    con = duckdb.connect()
    types = dict(
        con.execute(
            "select lower(trim(partner_type)), count(*) from read_csv(?, all_varchar = true) "
            "group by 1",
            [str(tmp_path / "landing" / "partners" / "*.csv")],
        ).fetchall()
    )
    assert types.get("marketplace", 0) + types.get("cloud marketplace", 0) > 0, types
    assert set(PARTNER_TYPES) <= set(types), types
