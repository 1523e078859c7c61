"""SQL that types a landing file's text columns and finds each row's reject reasons.

Everything here is generated from the contract (`contract.py`) and evaluated column-wise by the
engine, so no Python touches individual rows. Two dialects: DuckDB (`loader.py`) and Spark SQL
(`spark_loader.py`). They give the same typed values and the same reasons, word for word; the
few things the engines spell differently are the `_Engine` methods below.

Dates and timestamps are read row by row by one rule (`contract.py` documents it), on both
engines: one regular expression splits the text into its parts, the value is built from the
parts, and a time zone applies to its own row only. Neither engine's text-to-date or
text-to-timestamp cast decides what is valid: DuckDB's cast to `timestamptz` carries a named
zone on to the rows that follow (STACK.md), and each engine's cast accepts forms the other
does not (`1/2/26`, `26-01-31`, `2024`).
"""

from __future__ import annotations

from typing import Literal

from orchestration.ingest.contract import Column, Entity

Dialect = Literal["duckdb", "spark"]

# SQL to turn the trimmed text of a boolean column into a boolean (NULL: not a boolean).
_TRUE = "('true', 't', 'yes', 'y', '1')"
_FALSE = "('false', 'f', 'no', 'n', '0')"
_TYPE_WORD = {
    "date": "a date (YYYY-MM-DD, four-digit year)",
    "timestamp": (
        "a timestamp (YYYY-MM-DD[THH:MM[:SS[.fraction]]][zone], four-digit year; "
        "zone: Z, +HH, +HHMM, +HH:MM or a name such as Asia/Tokyo)"
    ),
    "decimal": "a number",
    "boolean": "a boolean (true/false)",
}
UNKNOWN_ZONE = "has an unknown time zone name (use a name such as Asia/Tokyo, Z or +HH:MM)"
# The time zone names a timestamp may carry (`reference.time_zone_names`): code, name.
TIME_ZONES = "ref_time_zones"
REFERENCE_LISTS = {
    "countries": "ref_countries",
    "verticals": "ref_verticals",
    "segments": "ref_segments",
    "partner_types": "ref_partner_types",
}
# The raw partners table that the partner foreign key is checked against, per dialect (the
# Spark loader registers a temporary view of raw/partners under this name).
PARTNERS_TABLE = {"duckdb": "raw.partners", "spark": "_psw_raw_partners"}


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- engine differences ----------------------------------------------------------------------


class _Engine:
    """DuckDB's spelling; `_SparkEngine` overrides what Spark SQL spells differently."""

    split, transform, filter, join, contains, size = (
        "string_split",
        "list_transform",
        "list_filter",
        "array_to_string",
        "list_contains",
        "len",
    )
    # Scalar reference codes: DuckDB checks them with subqueries in the select list; Spark
    # does not allow those in CASE, so it left-joins the code tables. The partner key is a
    # left join on both (`_rule_joins`).
    joins_codes = False

    def lit(self, text: str) -> str:
        return _lit(text)

    def trim(self, expr: str) -> str:
        return f"trim({expr})"

    def array(self, items: list[str]) -> str:
        return "[" + ", ".join(items) + "]"

    # Dates and timestamps: `parse` splits the text into the parts of `_PARTS`, in a step of
    # its own (`parsed`), so that each value is matched once; `part` reads one part (NULL when
    # absent); the typed value is built from the parts (`_date_of`, `_timestamp_of`).

    def parse(self, kind: str, t: str) -> str:
        """The parts of text `t` (all absent: not a date or timestamp)."""
        regex, names = _PARTS[kind]
        listed = ", ".join(f"'{n}'" for n in names)
        return f"regexp_extract({t}, {self.lit(regex)}, [{listed}])"

    def part(self, p: str, kind: str, name: str) -> str:
        return f"nullif({p}.{name}, '')"

    def parsed(self, columns: list[Column]) -> list[str]:
        return [
            f"{self.parse(c.type, f't_{c.name}')} as p_{c.name}"
            for c in columns
            if c.type in _PARTS
        ]

    def make_date(self, y: str, mo: str, d: str) -> str:
        """The date of text parts (NULL: no such day)."""
        return f"try_cast(concat({y}, '-', {mo}, '-', {d}) as date)"

    def make_timestamp(self, p: str) -> str:
        """The local timestamp of the parts of `p` (NULL: no such day)."""
        part = lambda n: self.part(p, "timestamp", n)  # noqa: E731
        fraction = f"rpad(substr(coalesce({part('f')}, ''), 1, 6), 6, '0')"
        text = (
            f"concat({part('y')}, '-', {part('mo')}, '-', {part('d')}, ' ', "
            f"coalesce({part('h')}, '00'), ':', coalesce({part('mi')}, '00'), ':', "
            f"coalesce({part('s')}, '00'), '.', {fraction})"
        )
        return f"try_cast({text} as timestamp)"

    def shift_seconds(self, ts: str, seconds: str) -> str:
        return f"({ts} - to_seconds({seconds}))"

    def from_zone(self, ts: str, zone: str) -> str:
        """`ts` read as wall time in the time zone named `zone`, in UTC."""
        return f"timezone('UTC', timezone({zone}, {ts}))"

    def date(self, t: str) -> str:
        """The date of a text expression (for seeds), by the same rule as the landing files."""
        return _date_of(self, self.parse("date", t))

    def decimal(self, t: str) -> str:
        return f"try_cast({t} as decimal(18,2))"

    def month(self, date: str) -> str:
        return f"date_trunc('month', {date})"

    def month_text(self, month: str) -> str:
        return f"strftime({month}, '%Y-%m')"

    def collect(self, expr: str) -> str:
        return f"list({expr})"

    def record(self, names: list[str]) -> str:
        fields = ", ".join(f"{n} := o_{n}" for n in names)
        return f"to_json(struct_pack({fields}))"


# DuckDB's trim() removes the Unicode space separators (category Zs); Spark's only ' '.
_ZS = " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
_ZS += "\u202f\u205f\u3000"
# The rule of contract.py, as regular expressions that RE2 (DuckDB) and Java (Spark) read
# alike: ASCII digits only, anchored at both ends (`\z`: Java's `$` also matches before a
# final line break).
_YMD = r"(\d{4})-(\d{2})-(\d{2})"
_DATE_RE = _YMD + r"(?:[T ]00:00(?::00(?:\.0{1,9})?)?)?"
_TIMESTAMP_RE = (
    _YMD + r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)? ?"
    r"(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?|([A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*))?)?"
)
# regular expression and the names of its groups, in order
_PARTS = {
    "date": ("^" + _DATE_RE + r"\z", ("y", "mo", "d")),
    "timestamp": (
        "^" + _TIMESTAMP_RE + r"\z",
        ("y", "mo", "d", "h", "mi", "s", "f", "z", "sg", "oh", "om", "zone"),
    ),
}


def _int(sql: _Engine, p: str, kind: str, name: str) -> str:
    return f"cast({sql.part(p, kind, name)} as int)"


def _date_of(sql: _Engine, p: str) -> str:
    y, mo, d = (sql.part(p, "date", n) for n in ("y", "mo", "d"))
    return f"case when {_int(sql, p, 'date', 'y')} > 0 then {sql.make_date(y, mo, d)} end"


def _timestamp_of(sql: _Engine, p: str, zone: str) -> str:
    """The timestamp in UTC: a time without zone is UTC; `zone` is the canonical name of a
    named zone (NULL when the name is unknown, and then so is the timestamp)."""
    n = lambda name: _int(sql, p, "timestamp", name)  # noqa: E731
    valid = (
        f"{n('y')} > 0 and coalesce({n('h')}, 0) < 24 and coalesce({n('mi')}, 0) < 60 "
        f"and coalesce({n('s')}, 0) < 60 and coalesce({n('oh')}, 0) <= 18 "
        f"and coalesce({n('om')}, 0) < 60"
    )
    local = sql.make_timestamp(p)
    sign = f"case when {sql.part(p, 'timestamp', 'sg')} = '-' then -1 else 1 end"
    offset = f"{sign} * ({n('oh')} * 3600 + coalesce({n('om')}, 0) * 60)"
    return (
        f"case when {valid} then case "
        f"when {sql.part(p, 'timestamp', 'zone')} is not null then "
        f"case when {zone} is not null then {sql.from_zone(local, zone)} end "
        f"when {sql.part(p, 'timestamp', 'sg')} is not null then "
        f"{sql.shift_seconds(local, offset)} "
        f"else {local} end end"
    )


class _SparkEngine(_Engine):
    split, transform, filter, join, contains, size = (
        "split",
        "transform",
        "filter",
        "array_join",
        "array_contains",
        "size",
    )
    joins_codes = True

    def lit(self, text: str) -> str:
        # Spark SQL literals also treat the backslash as an escape character.
        return _lit(text.replace("\\", "\\\\"))

    def trim(self, expr: str) -> str:
        zs = "".join(c if c == " " else f"\\u{ord(c):04x}" for c in _ZS)
        return f"trim(BOTH '{zs}' FROM {expr})"

    def array(self, items: list[str]) -> str:
        return "array(" + ", ".join(items) + ")"

    def parse(self, kind: str, t: str) -> str:
        regex, names = _PARTS[kind]
        found = ",".join(f"${i}" for i in range(1, len(names) + 1))
        return (
            f"case when {t} rlike {self.lit(regex)} then "
            f"split(regexp_replace({t}, {self.lit(regex)}, '{found}'), ',') end"
        )

    def part(self, p: str, kind: str, name: str) -> str:
        return f"nullif({p}[{_PARTS[kind][1].index(name)}], '')"

    def make_date(self, y: str, mo: str, d: str) -> str:
        ints = ", ".join(f"cast({x} as int)" for x in (y, mo, d))
        return f"cast(try_make_timestamp_ntz({ints}, 0, 0, 0) as date)"

    def make_timestamp(self, p: str) -> str:
        n = lambda name: f"coalesce(cast({self.part(p, 'timestamp', name)} as int), 0)"  # noqa: E731
        micros = f"cast(rpad(substr(coalesce({p}[6], ''), 1, 6), 6, '0') as int)"
        local = (
            f"try_make_timestamp_ntz({n('y')}, {n('mo')}, {n('d')}, {n('h')}, {n('mi')}, {n('s')})"
        )
        return f"timestampadd(MICROSECOND, {micros}, {local})"

    def shift_seconds(self, ts: str, seconds: str) -> str:
        return f"timestampadd(SECOND, -({seconds}), {ts})"

    def from_zone(self, ts: str, zone: str) -> str:
        # the session time zone is UTC (orchestration/warehouse/spark.py): timestamp and
        # timestamp_ntz then hold the same wall time
        return f"cast(to_utc_timestamp(cast({ts} as timestamp), {zone}) as timestamp_ntz)"

    def decimal(self, t: str) -> str:
        # DuckDB reads '1_000' (an underscore between digits) but no digits other than 0-9.
        odd = self.lit(r"[^\x00-\x7f]|(?<![0-9])_|_(?![0-9])")
        number = f"try_cast(replace({t}, '_', '') as decimal(18,2))"
        return f"case when not {t} rlike {odd} then {number} end"

    def month(self, date: str) -> str:
        return f"trunc({date}, 'MM')"

    def month_text(self, month: str) -> str:
        return f"date_format({month}, 'yyyy-MM')"

    def collect(self, expr: str) -> str:
        return f"collect_list({expr})"

    def record(self, names: list[str]) -> str:
        fields = ", ".join(f"'{n}', o_{n}" for n in names)
        # DuckDB's to_json keeps null fields; Spark's drops them unless told otherwise.
        return f"to_json(named_struct({fields}), map('ignoreNullFields', 'false'))"


_ENGINES: dict[str, _Engine] = {"duckdb": _Engine(), "spark": _SparkEngine()}


# --- the contract as SQL ---------------------------------------------------------------------


def _cased(expr: str, column: Column) -> str:
    if column.case == "lower":
        return f"lower({expr})"
    if column.case == "upper":
        return f"upper({expr})"
    return expr


def _text(column: Column, sql: _Engine) -> str:
    """Trimmed text of the column, NULL when blank (lists: normalised, ';'-joined)."""
    raw = f"nullif({sql.trim(f'src.{column.name}')}, '')"
    if column.type == "list":
        item = _cased(sql.trim("x"), column)
        return (
            f"nullif({sql.join}({sql.filter}({sql.transform}("
            f"{sql.split}({raw}, ';'), x -> {item}), x -> x <> ''), ';'), '')"
        )
    if column.type == "code":
        return _cased(raw, column)
    return raw


def _typed(column: Column, sql: _Engine) -> str:
    t = f"t_{column.name}"
    if column.type == "date":
        return _date_of(sql, f"p_{column.name}")
    if column.type == "timestamp":
        return _timestamp_of(sql, f"p_{column.name}", f"_tz_{column.name}.name")
    if column.type == "decimal":
        return sql.decimal(t)
    if column.type == "boolean":
        default = "NULL" if column.default is None else column.default
        return (
            f"case when {t} is null then {default} when lower({t}) in {_TRUE} then true "
            f"when lower({t}) in {_FALSE} then false end"
        )
    return t


def _zone_joins(entity: Entity, sql: _Engine) -> tuple[list[str], list[str]]:
    """For each timestamp column: the left join that finds the canonical name of the zone
    name it carries (ref_time_zones holds distinct codes: it adds no rows), and a column
    `u_<column>` that is true when the name is not a time zone."""
    joins, unknown = [], []
    for c in entity.columns:
        if c.type == "timestamp":
            zone = sql.part(f"p_{c.name}", "timestamp", "zone")
            joins.append(
                f"left join {TIME_ZONES} as _tz_{c.name} on _tz_{c.name}.code = lower({zone})"
            )
            unknown.append(f"({zone} is not null and _tz_{c.name}.name is null) as u_{c.name}")
    return joins, unknown


def _code_set(column: Column, sql: _Engine) -> str:
    """A list of the allowed values, from the contract or from `refs`."""
    if column.codes is not None:
        return sql.array([sql.lit(c) for c in column.codes])
    assert column.reference is not None
    return f"refs.{column.reference}"


def _reasons(column: Column, sql: _Engine) -> list[str]:
    name, t, v = column.name, f"t_{column.name}", column.name
    out: list[str] = []
    if column.required:
        out.append(f"case when {t} is null then {sql.lit('missing required value: ' + name)} end")
    if column.type in _TYPE_WORD:
        word = f"'wrong type: {name} ''' || {t} || ''' is not {_TYPE_WORD[column.type]}'"
        if column.type == "timestamp":
            zone = f"'wrong type: {name} ''' || {t} || ''' {UNKNOWN_ZONE}'"
            word = f"case when u_{name} then {zone} else {word} end"
        out.append(f"case when {t} is not null and {v} is null then {word} end")
    if column.codes is not None or column.reference is not None:
        codes = _code_set(column, sql)
        if column.type == "list":
            bad = f"{sql.filter}({sql.split}({t}, ';'), x -> not {sql.contains}({codes}, x))"
            out.append(
                f"case when {sql.size}({bad}) > 0 then "
                f"'unknown code: {name} ''' || {sql.join}({bad}, ';') || '''' end"
            )
        elif column.codes is not None:
            out.append(
                f"case when {t} is not null and not {sql.contains}({codes}, {t}) then "
                f"'unknown code: {name} ''' || {t} || '''' end"
            )
        else:
            # a semi join on the reference table: far cheaper than a per-row list of its codes
            table = REFERENCE_LISTS[column.reference]  # type: ignore[index]
            known = (
                f"_ref_{name}.code is null"
                if sql.joins_codes
                else f"{t} not in (select code from {table})"
            )
            out.append(
                f"case when {t} is not null and {known} then "
                f"'unknown code: {name} ''' || {t} || '''' end"
            )
    return out


def _rule_joins(entity: Entity, dialect: Dialect) -> list[str]:
    """The left joins of the reject rules: the partner foreign key on both engines, and on
    Spark one per checked code column, standing in for DuckDB's subqueries.

    They add no rows: the ref_* tables hold distinct codes, and the partner ids are made
    distinct. The foreign key is a join on DuckDB too: as a `not exists` inside the reason's
    CASE, DuckDB decorrelated it into a delim join that buffered the whole batch first (SF10
    deals: 28 s of a 37 s batch, spilling at the 4GB memory limit; `EXPLAIN ANALYZE`).
    """
    sql = _ENGINES[dialect]
    joins = []
    if sql.joins_codes:
        joins = [
            f"left join {REFERENCE_LISTS[c.reference]} as _ref_{c.name} "
            f"on _ref_{c.name}.code = typed.t_{c.name}"
            for c in entity.columns
            if c.type != "list" and c.codes is None and c.reference is not None
        ]
    if entity.partner_fk:
        joins.append(
            f"left join (select distinct partner_id as _fk_partner_id from "
            f"{PARTNERS_TABLE[dialect]}) as _fk on _fk._fk_partner_id = typed.partner_id"
        )
    return joins


def typed_select(entity: Entity, source: str, dialect: Dialect = "duckdb") -> str:
    """Select every contract column typed, plus `_reason` (NULL for a good row).

    `source` must have the contract columns as text plus `_source_file` and `_source_row`.
    Both dialects give `_source_file`, `_source_row`, `t_<column>` (the trimmed text), the typed
    columns, `_reason` and `_record` (the original values as JSON, for rejected rows).
    """
    sql = _ENGINES[dialect]
    # lists of codes only for the list columns (partners); scalar codes use semi joins
    list_refs = sorted(
        {c.reference for c in entity.columns if c.type == "list" and c.reference is not None}
    )
    refs = ", ".join(
        [
            f"(select {sql.collect('code')} from {REFERENCE_LISTS[name]}) as {name}"
            for name in list_refs
        ]
        or ["1 as _none"]
    )
    originals = ", ".join(f"src.{c.name} as o_{c.name}" for c in entity.columns)
    texts = ",\n    ".join(f"{_text(c, sql)} as t_{c.name}" for c in entity.columns)
    typed = ",\n    ".join(f"{_typed(c, sql)} as {c.name}" for c in entity.columns)
    reasons = [r for c in entity.columns for r in _reasons(c, sql)]
    reasons += [f"case when {r.broken} then {r.reason} end" for r in entity.rules]
    if entity.partner_fk:
        reasons.append(
            "case when partner_id is not null and _fk._fk_partner_id is null then "
            "'unknown partner: partner_id ''' || partner_id || '''' end"
        )
    if entity.fx_date is not None:
        month = sql.month(entity.fx_date)
        reasons.append(
            "case when currency is not null and (fx_first_month is null "
            f"or {month} < fx_first_month) then "
            "'no FX rate: currency ''' || currency || ''' has no rate for ' || "
            f"coalesce({sql.month_text(month)}, 'its month') || ' or any earlier month' end"
        )
    fx_join = (
        "left join (select currency as fx_currency, first_month as fx_first_month "
        "from ref_fx_first_month) as fx on fx.fx_currency = typed.currency"
        if entity.fx_date is not None
        else ""
    )
    fx_join = "\n  ".join(j for j in [fx_join, *_rule_joins(entity, dialect)] if j)
    reason_sql = ",\n        ".join(reasons)
    step, parsed = "texts", ""
    if parts := sql.parsed(list(entity.columns)):
        step = "parsed"
        parsed = "parsed as (\n  select texts.*,\n    " + ",\n    ".join(parts)
        parsed += "\n  from texts\n),\n"
    zone_joins, unknown_zones = _zone_joins(entity, sql)
    typed = ",\n    ".join([typed, *unknown_zones])
    zone_join = "\n  ".join(zone_joins)
    names = [c.name for c in entity.columns]
    kept = ", ".join(["_source_file", "_source_row", *(f"t_{n}" for n in names), *names, "_reason"])
    return f"""
with refs as (select {refs}),
texts as (
  select
    src._source_file, src._source_row,
    {originals},
    {texts}
  from {source} as src
),
{parsed}typed as (
  select {step}.*,
    {typed}
  from {step}
  {zone_join}
),
reasoned as (
  select typed.*,
    nullif(concat_ws('; ',
        {reason_sql}
    ), '') as _reason
  from typed cross join refs
  {fx_join}
)
select {kept},
  -- the original values, kept only for the rows that are rejected
  case when _reason is not null then {sql.record(names)} end as _record
from reasoned
"""
