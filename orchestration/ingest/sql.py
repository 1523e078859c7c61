"""SQL that types a landing file's text columns and finds each row's reject reasons.

Everything here is generated from the contract (`contract.py`) and evaluated column-wise by the
engine, so no Python touches individual rows. Two dialects: DuckDB (`loader.py`) and Spark SQL
(`spark_loader.py`). They give the same typed values and the same reasons, word for word; the
few things the engines spell differently are the `_Engine` methods below, and the Spark
typing of dates and timestamps accepts what DuckDB's casts accept (see `_SparkEngine`).
"""

from __future__ import annotations

from typing import Literal

from orchestration.ingest.contract import Column, Entity

Dialect = Literal["duckdb", "spark"]

# SQL to turn the trimmed text of a boolean column into a boolean (NULL: not a boolean).
_TRUE = "('true', 't', 'yes', 'y', '1')"
_FALSE = "('false', 'f', 'no', 'n', '0')"
_TYPE_WORD = {
    "date": "a date (YYYY-MM-DD)",
    "timestamp": "a timestamp (YYYY-MM-DD HH:MM:SS)",
    "decimal": "a number",
    "boolean": "a boolean (true/false)",
}
REFERENCE_LISTS = {
    "countries": "ref_countries",
    "verticals": "ref_verticals",
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

    def parsed(self, columns: list[Column]) -> list[str]:
        """Columns of an extra step between `texts` and `typed` (none for DuckDB)."""
        return []

    def typed_date(self, name: str) -> str:
        return self.date(f"t_{name}")

    def typed_timestamp(self, name: str) -> str:
        return f"cast(try_cast(t_{name} as timestamptz) as timestamp)"

    def date(self, t: str) -> str:
        return f"try_cast({t} as date)"

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
# What DuckDB's (lenient) text-to-date cast reads: a date that no digit or " (BC)" follows,
# whatever else does. Groups: 1 year, 3 month, 4 day.
_DATE_RE = r"^\s*(\d+)([-/ \\])(\d{1,2})\2(\d{1,2})(?!\d)(?!\s\([Bb][Cc]\))"
# What DuckDB's text-to-timestamptz cast reads: the date, then optionally "H:M" at the end or
# "H:M:S[.fraction]" with "Z", an offset (+HH, +HHMM, +HH:MM, +HH:MM:SS) or a UTC zone name.
# Groups: 1 year, 3 month, 4 day, 5 hour, 6 minute, 7 second, 8 fraction, 9 offset sign,
# 10 offset hours, 11 or 12 offset minutes, 13 offset seconds.
_UTC_NAMES = "utc|uct|gmt|gmt0|gmt[+-]0|zulu|universal|greenwich"
_TIMESTAMP_RE = (
    r"^\s*(\d+)([-/ \\])(\d{1,2})\2(\d{1,2})"
    r"(?:(?:T\s*|\s+)(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?"
    r"(?:Z\s*|([+-])(\d\d)(?:(\d\d)|:(?:(\d\d)(?::(\d\d)?)?)?)?\s*"
    rf"| (?i:(?:etc/)?(?:{_UTC_NAMES}))?\s*)?)?)?\z"
)
# The regular expression and its groups that make the parts (the date's: the rest of the text
# too, which regexp_replace keeps otherwise).
_PARTS = {
    "date": (_DATE_RE + "(?s:.*)", (1, 3, 4)),
    "timestamp": (_TIMESTAMP_RE, (1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13)),
}


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

    # Dates and timestamps: one regular expression reads the parts that DuckDB's cast reads
    # (Spark's own cast reads '2024' or '2024-05' as dates; DuckDB's does not), in a step of
    # its own (`parsed`), so that each value is matched once; the typed value is built from
    # the parts.

    def parse(self, kind: str, t: str) -> str:
        """The parts of text `t` as an array of strings (NULL: not a date or timestamp)."""
        regex, groups = _PARTS[kind]
        found = ",".join(f"${g}" for g in groups)
        return (
            f"case when {t} rlike {self.lit(regex)} then "
            f"split(regexp_replace({t}, {self.lit(regex)}, '{found}'), ',') end"
        )

    def parsed(self, columns: list[Column]) -> list[str]:
        return [
            f"{self.parse(c.type, f't_{c.name}')} as p_{c.name}"
            for c in columns
            if c.type in _PARTS
        ]

    def typed_date(self, name: str) -> str:
        return self.date_of(f"p_{name}")

    def typed_timestamp(self, name: str) -> str:
        return self.timestamp_of(f"p_{name}")

    def date(self, t: str) -> str:
        return self.date_of(self.parse("date", t))

    @staticmethod
    def _int(parts: str, i: int) -> str:
        return f"cast(nullif({parts}[{i}], '') as int)"

    def date_of(self, p: str) -> str:
        y, m, d = (self._int(p, i) for i in range(3))
        return f"cast(try_make_timestamp_ntz({y}, {m}, {d}, 0, 0, 0) as date)"

    def timestamp_of(self, p: str) -> str:
        y, mo, d, h, mi, s, _, _, oh, om, om_, os_ = (self._int(p, i) for i in range(12))
        micros = f"cast(rpad(substr({p}[6], 1, 6), 6, '0') as int)"
        offset = (
            f"(case when {p}[7] = '-' then -1 else 1 end) * "
            f"(coalesce({oh}, 0) * 3600 + coalesce({om}, {om_}, 0) * 60 + coalesce({os_}, 0))"
        )
        hour, minute, second = f"coalesce({h}, 0)", f"coalesce({mi}, 0)", f"coalesce({s}, 0)"
        # 24:00:00 (and nothing later) is midnight of the next day, as in DuckDB.
        midnight = f"({hour} = 24 and {minute} = 0 and {second} = 0 and {micros} = 0)"
        local = (
            f"try_make_timestamp_ntz({y}, {mo}, {d}, "
            f"case when {midnight} then 0 else {hour} end, {minute}, {second})"
        )
        local = f"timestampadd(DAY, case when {midnight} then 1 else 0 end, {local})"
        local = f"timestampadd(MICROSECOND, {micros}, {local})"
        valid = f"({hour} < 24 or {midnight}) and {minute} < 60 and {second} < 60"
        return f"case when {valid} then timestampadd(SECOND, -({offset}), {local}) end"

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
        return sql.typed_date(column.name)
    if column.type == "timestamp":
        return sql.typed_timestamp(column.name)
    if column.type == "decimal":
        return sql.decimal(t)
    if column.type == "boolean":
        default = "NULL" if column.default is None else column.default
        return (
            f"case when {t} is null then {default} when lower({t}) in {_TRUE} then true "
            f"when lower({t}) in {_FALSE} then false end"
        )
    return t


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
        word = _TYPE_WORD[column.type]
        out.append(
            f"case when {t} is not null and {v} is null then "
            f"'wrong type: {name} ''' || {t} || ''' is not {word}' end"
        )
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
    names = [c.name for c in entity.columns]
    if sql.joins_codes:  # Spark: no `* exclude (...)`
        kept = ", ".join(
            ["_source_file", "_source_row", *(f"t_{n}" for n in names), *names, "_reason"]
        )
    else:
        kept = f"reasoned.* exclude ({', '.join(f'o_{n}' for n in names)})"
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
