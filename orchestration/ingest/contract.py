"""The landing-zone contract of SPEC §3, written once.

The loader builds its SQL from these specs, the generator writes files that follow them, and the
raw quality gate reads the same code sets. Changing a rule means changing it here.

Dates and timestamps (SPEC §3 "wrong type"), read row by row, the same on DuckDB and Spark
(`sql.py`):

- a **date** is `YYYY-MM-DD`: a four-digit year, a two-digit month and day, separated by `-`
  (`2026-01-31`). A time of midnight may follow (`2026-01-31 00:00:00`, `2026-01-31T00:00`:
  what spreadsheets and Parquet timestamp columns write for a date); any other time, `/` or `.`
  separators, two-digit years (`26-01-31`), day-first or month-first forms (`1/2/26`, where
  the order cannot be known), a day that does not exist (`2026-02-30`) and year 0000 are
  rejected with the reason `wrong type: <column> '<text>' is not a date (...)`;
- a **timestamp** is such a date, optionally followed by `T` or one space and `HH:MM`,
  `HH:MM:SS` or `HH:MM:SS.fraction` (up to 9 digits; kept to the microsecond, the rest
  truncated), then optionally, after an optional space, a zone: `Z`, an offset `+HH`, `+HHMM`
  or `+HH:MM` (`-` too; hours at most 18), or an Area/Location time zone name of the IANA
  database (`Asia/Tokyo`, `Etc/GMT+5`, matched case-insensitively), or `UTC` or `GMT`
  (`reference.time_zone_names`). Abbreviations such as `EST` or `CET` are ambiguous (the
  databases disagree on them) and rejected as unknown names. The value is
  converted to UTC for that row only; a timestamp without a zone is UTC, a date alone is
  midnight UTC. Hours run 00-23 (no `24:00`), minutes and seconds 00-59 (no leap second).
  Anything else is rejected: `wrong type: <column> '<text>' is not a timestamp (...)`, or
  `... has an unknown time zone name (...)` for a zone name the database does not know. A
  local time that a daylight-saving change skips or repeats is resolved by the engine's time
  zone database (DuckDB's ICU data, Java's on Spark); for a zone whose rules changed after the
  older of the two databases was released, the engines may convert recent times differently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["text", "code", "list", "date", "timestamp", "decimal", "boolean"]
Case = Literal["lower", "upper"]

TIERS = ("registered", "silver", "gold", "platinum")
PROGRAM_STATUSES = ("applied", "enrolled", "suspended", "terminated")
DEAL_SOURCES = ("partner_sourced", "partner_influenced", "direct")
DEAL_STAGES = ("registered", "approved", "rejected", "won", "lost", "expired")
CERT_LEVELS = ("associate", "professional", "expert")
INCENTIVE_PROGRAMS = (
    "mdf",
    "rebate",
    "spiff",
    "commission",
    "enablement",
    "recruitment_bonus",
    "co_marketing",
)
INCENTIVE_STATUSES = ("accrued", "approved", "paid", "clawed_back")
GROWTH_STAGES = ("early", "growth", "mature", "expansion")

# Code sets that come from reference data (seeds) rather than from the contract itself.
Reference = Literal["countries", "verticals", "partner_types", "segments"]


@dataclass(frozen=True)
class Column:
    """One column of a landing file.

    `required`: the value must be present. `in_header`: the column must be present in the file
    (a file without it is rejected whole). `codes`/`reference`: the allowed values, matched
    case-insensitively after trimming, stored in `case`.
    """

    name: str
    type: ColumnType
    required: bool = False
    in_header: bool = True
    codes: tuple[str, ...] | None = None
    reference: Reference | None = None
    case: Case | None = None
    default: str | None = None

    @property
    def sql_type(self) -> str:
        return {
            "text": "VARCHAR",
            "code": "VARCHAR",
            "list": "VARCHAR",
            "date": "DATE",
            "timestamp": "TIMESTAMP",
            "decimal": "DECIMAL(18,2)",
            "boolean": "BOOLEAN",
        }[self.type]


@dataclass(frozen=True)
class RowRule:
    """A rule across columns: rows where `broken` (SQL over typed columns) is true are rejected.

    `reason` is a SQL expression giving the reject reason for that row. Both are used as they
    are by the DuckDB and the Spark loader: write SQL that both read the same way (e.g.
    `cast(x as string)`, not `as varchar`).
    """

    broken: str
    reason: str


@dataclass(frozen=True)
class Entity:
    name: str
    key: str
    columns: tuple[Column, ...]
    rules: tuple[RowRule, ...] = field(default_factory=tuple)
    # Entities whose partner_id must exist in raw.partners.
    partner_fk: bool = False
    # SQL over typed columns: the date whose month selects the FX rate (None: no amounts).
    fx_date: str | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Rules shared by the entities that carry money (deals, incentives).
AMOUNT_RULES = (
    RowRule(
        broken="amount < 0",
        reason=_q("negative amount: amount ") + " || cast(amount as string)",
    ),
    RowRule(
        broken="amount is not null and currency is null",
        reason=_q("missing required value: currency (required when amount is set)"),
    ),
)


PARTNERS = Entity(
    name="partners",
    key="partner_id",
    columns=(
        Column("partner_id", "text", required=True),
        Column("partner_name", "text", required=True),
        Column("partner_type", "code", required=True, reference="partner_types", case="lower"),
        Column("tier", "code", codes=TIERS, case="lower"),
        Column("program_status", "code", codes=PROGRAM_STATUSES, case="lower"),
        Column("is_strategic", "boolean", in_header=False, default="false"),
        Column("hq_country", "code", reference="countries", case="upper"),
        Column("countries_served", "list", reference="countries", case="upper"),
        Column("segments_served", "list", reference="segments", case="lower"),
        Column("verticals_served", "list", reference="verticals", case="lower"),
        Column("applied_on", "date", required=True),
        Column("enrolled_on", "date"),
        Column("terminated_on", "date"),
        Column("updated_at", "timestamp", required=True),
    ),
)

DEALS = Entity(
    name="deals",
    key="deal_id",
    columns=(
        Column("deal_id", "text", required=True),
        Column("partner_id", "text"),
        Column("deal_source", "code", codes=DEAL_SOURCES, case="lower"),
        Column("account_id", "text", required=True),
        Column("account_country", "code", reference="countries", case="upper"),
        Column("account_segment", "code", reference="segments", case="lower"),
        Column("account_vertical", "code", reference="verticals", case="lower"),
        Column("product_line", "text", required=True),
        Column("amount", "decimal"),
        Column("currency", "code", case="upper"),
        Column("stage", "code", codes=DEAL_STAGES, case="lower"),
        Column("registered_on", "date"),
        Column("closed_on", "date"),
        Column("updated_at", "timestamp", required=True),
    ),
    rules=(
        RowRule(
            broken="partner_id is not null and registered_on is null",
            reason=_q("missing required value: registered_on (required when partner_id is set)"),
        ),
        RowRule(
            broken="stage in ('won', 'lost') and closed_on is null",
            reason=_q("missing required value: closed_on (required when stage is ")
            + " || stage || ')'",
        ),
        RowRule(
            broken="closed_on < registered_on",
            reason=_q("closed before registered: closed_on ")
            + " || cast(closed_on as string) || ' is before registered_on ' "
            "|| cast(registered_on as string)",
        ),
        *AMOUNT_RULES,
    ),
    partner_fk=True,
    fx_date="coalesce(closed_on, registered_on, cast(updated_at as date))",
)

CERTIFICATIONS = Entity(
    name="certifications",
    key="certification_id",
    columns=(
        Column("certification_id", "text", required=True),
        Column("partner_id", "text", required=True),
        Column("person_id", "text", required=True),
        Column("track", "text"),
        Column("vertical", "code", reference="verticals", case="lower"),
        Column("level", "code", codes=CERT_LEVELS, case="lower"),
        Column("earned_on", "date", required=True),
        Column("expires_on", "date"),
        Column("updated_at", "timestamp", required=True),
    ),
    rules=(
        RowRule(
            broken="expires_on <= earned_on",
            reason=_q("expires before earned: expires_on ")
            + " || cast(expires_on as string) || ' is not after earned_on ' "
            "|| cast(earned_on as string)",
        ),
    ),
    partner_fk=True,
)

INCENTIVES = Entity(
    name="incentives",
    key="incentive_id",
    columns=(
        Column("incentive_id", "text", required=True),
        Column("partner_id", "text", required=True),
        Column("program", "code", codes=INCENTIVE_PROGRAMS, case="lower"),
        Column("amount", "decimal"),
        Column("currency", "code", case="upper"),
        Column("status", "code", codes=INCENTIVE_STATUSES, case="lower"),
        Column("approved_on", "date", required=True),
        Column("paid_on", "date"),
        Column("updated_at", "timestamp", required=True),
    ),
    rules=AMOUNT_RULES,
    partner_fk=True,
    fx_date="approved_on",
)

ENTITIES: dict[str, Entity] = {e.name: e for e in (PARTNERS, DEALS, CERTIFICATIONS, INCENTIVES)}
