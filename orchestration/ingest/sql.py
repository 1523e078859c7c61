"""SQL that types a landing file's text columns and finds each row's reject reasons.

Everything here is generated from the contract (`contract.py`); DuckDB evaluates it column-wise,
so no Python touches individual rows.
"""

from __future__ import annotations

from orchestration.ingest.contract import Column, Entity

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


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _cased(expr: str, column: Column) -> str:
    if column.case == "lower":
        return f"lower({expr})"
    if column.case == "upper":
        return f"upper({expr})"
    return expr


def _text(column: Column) -> str:
    """Trimmed text of the column, NULL when blank (lists: normalised, ';'-joined)."""
    raw = f"nullif(trim(src.{column.name}), '')"
    if column.type == "list":
        item = _cased("trim(x)", column)
        return (
            "nullif(array_to_string(list_filter(list_transform("
            f"string_split({raw}, ';'), x -> {item}), x -> x <> ''), ';'), '')"
        )
    if column.type == "code":
        return _cased(raw, column)
    return raw


def _typed(column: Column) -> str:
    t = f"t_{column.name}"
    if column.type == "date":
        return f"try_cast({t} as date)"
    if column.type == "timestamp":
        return f"cast(try_cast({t} as timestamptz) as timestamp)"
    if column.type == "decimal":
        return f"try_cast({t} as decimal(18,2))"
    if column.type == "boolean":
        default = "NULL" if column.default is None else column.default
        return (
            f"case when {t} is null then {default} when lower({t}) in {_TRUE} then true "
            f"when lower({t}) in {_FALSE} then false end"
        )
    return t


def _code_set(column: Column) -> str:
    """A DuckDB list of the allowed values, from the contract or from `refs`."""
    if column.codes is not None:
        return "[" + ", ".join(_lit(c) for c in column.codes) + "]"
    assert column.reference is not None
    return f"refs.{column.reference}"


def _reasons(column: Column) -> list[str]:
    name, t, v = column.name, f"t_{column.name}", column.name
    out: list[str] = []
    if column.required:
        out.append(f"case when {t} is null then {_lit('missing required value: ' + name)} end")
    if column.type in _TYPE_WORD:
        word = _TYPE_WORD[column.type]
        out.append(
            f"case when {t} is not null and {v} is null then "
            f"'wrong type: {name} ''' || {t} || ''' is not {word}' end"
        )
    if column.codes is not None or column.reference is not None:
        codes = _code_set(column)
        if column.type == "list":
            bad = f"list_filter(string_split({t}, ';'), x -> not list_contains({codes}, x))"
            out.append(
                f"case when len({bad}) > 0 then "
                f"'unknown code: {name} ''' || array_to_string({bad}, ';') || '''' end"
            )
        elif column.codes is not None:
            out.append(
                f"case when {t} is not null and not list_contains({codes}, {t}) then "
                f"'unknown code: {name} ''' || {t} || '''' end"
            )
        else:
            # a semi join on the reference table: far cheaper than a per-row list of its codes
            table = REFERENCE_LISTS[column.reference]  # type: ignore[index]
            out.append(
                f"case when {t} is not null and {t} not in (select code from {table}) then "
                f"'unknown code: {name} ''' || {t} || '''' end"
            )
    return out


def typed_select(entity: Entity, source: str) -> str:
    """Select every contract column typed, plus `_reason` (NULL for a good row).

    `source` must have the contract columns as text plus `_source_file` and `_source_row`.
    """
    # lists of codes only for the list columns (partners); scalar codes use semi joins
    list_refs = sorted(
        {c.reference for c in entity.columns if c.type == "list" and c.reference is not None}
    )
    refs = ", ".join(
        [f"(select list(code) from {REFERENCE_LISTS[name]}) as {name}" for name in list_refs]
        or ["1 as _none"]
    )
    originals = ", ".join(f"src.{c.name} as o_{c.name}" for c in entity.columns)
    texts = ",\n    ".join(f"{_text(c)} as t_{c.name}" for c in entity.columns)
    typed = ",\n    ".join(f"{_typed(c)} as {c.name}" for c in entity.columns)
    reasons = [r for c in entity.columns for r in _reasons(c)]
    reasons += [f"case when {r.broken} then {r.reason} end" for r in entity.rules]
    if entity.partner_fk:
        reasons.append(
            "case when partner_id is not null and not exists (select 1 from raw.partners p "
            "where p.partner_id = typed.partner_id) then "
            "'unknown partner: partner_id ''' || partner_id || '''' end"
        )
    if entity.fx_date is not None:
        month = f"date_trunc('month', {entity.fx_date})"
        reasons.append(
            "case when currency is not null and (fx_first_month is null "
            f"or {month} < fx_first_month) then "
            "'no FX rate: currency ''' || currency || ''' has no rate for ' || "
            f"coalesce(strftime({month}, '%Y-%m'), 'its month') || ' or any earlier month' end"
        )
    fx_join = (
        "left join (select currency as fx_currency, first_month as fx_first_month "
        "from ref_fx_first_month) as fx on fx.fx_currency = typed.currency"
        if entity.fx_date is not None
        else ""
    )
    reason_sql = ",\n        ".join(reasons)
    raw_json = ", ".join(f"{c.name} := o_{c.name}" for c in entity.columns)
    return f"""
with refs as (select {refs}),
texts as (
  select
    src._source_file, src._source_row,
    {originals},
    {texts}
  from {source} as src
),
typed as (
  select texts.*,
    {typed}
  from texts
),
reasoned as (
  select typed.*,
    nullif(concat_ws('; ',
        {reason_sql}
    ), '') as _reason
  from typed cross join refs
  {fx_join}
)
select reasoned.* exclude ({", ".join(f"o_{c.name}" for c in entity.columns)}),
  -- the original values, kept only for the rows that are rejected
  case when _reason is not null then to_json(struct_pack({raw_json})) end as _record
from reasoned
"""
