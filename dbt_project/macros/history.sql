{#- The as-of dates of the history marts (SPEC §10): from the `history_from` var (else
    PSW_HISTORY_FROM) to the `history_to` var (else PSW_HISTORY_TO), both included; each
    defaults to D, so a nightly refresh computes the history of D alone. Returns
    [first, last, number of days] for Jinja. -#}
{% macro history_range() -%}
    {%- set d = as_of_date_text() -%}
    {%- set first = (var('history_from', none) or env_var('PSW_HISTORY_FROM', '') or d) | string -%}
    {%- set last = (var('history_to', none) or env_var('PSW_HISTORY_TO', '') or d) | string -%}
    {%- set parse = modules.datetime.date.fromisoformat -%}
    {%- set days = (parse(last) - parse(first)).days + 1 -%}
    {%- if days < 1 -%}
        {{ exceptions.raise_compiler_error(
            "history range: history_from " ~ first ~ " is after history_to " ~ last) }}
    {%- endif -%}
    {{ return([first, last, days]) }}
{%- endmacro %}

{#- One row per key and day on which a version of the key became current: the day's last
    version (versions ordered as the loader orders them: updated_at, then the later file, load
    and row), with `valid_on` (that day) and `next_valid_on` (the day the key's next such row
    starts; null for the latest). The row is the key's state at the end of every day in
    [valid_on, next_valid_on). `relation` has the columns of a stg_<entity>_history model. -#}
{% macro day_versions(relation, key) -%}
    select
        ranked.*,
        lead(ranked.valid_on) over (
            partition by ranked.{{ key }} order by ranked.valid_on
        ) as next_valid_on
    from (
        select
            versions.*,
            cast(versions.valid_from as date) as valid_on,
            row_number() over (
                partition by versions.{{ key }}, cast(versions.valid_from as date)
                order by
                    versions.updated_at desc,
                    versions.source_file desc,
                    versions.load_id desc,
                    versions.source_row desc
            ) as version_of_day
        from {{ relation }} as versions
    ) as ranked
    where ranked.version_of_day = 1
{%- endmacro %}

{#- The first and last as-of dates in [first_day, last_day] (SQL dates, bounded by the
    history range `bounds.first_date` and `bounds.last_date`) on which a fact dated `fact_on`
    is in the activity window (D - W, D] of a version current on [valid_on, next_valid_on):
    D >= fact_on, D >= valid_on, D < fact_on + W, D < next_valid_on. -#}
{% macro window_span(fact_on, valid_on='v.valid_on', next_valid_on='v.next_valid_on') -%}
    greatest({{ fact_on }}, {{ valid_on }}, bounds.first_date) as first_day,
    least(
        {{ add_days(fact_on, 'params.window_days - 1') }},
        coalesce({{ add_days(next_valid_on, '-1') }}, bounds.last_date),
        bounds.last_date
    ) as last_day
{%- endmacro %}

{#- The columns every stg_<entity>_history model takes from raw.<entity>_history beside the
    entity's own: when the version was recorded and current, and what orders a key's versions
    (the loader's `_source_file`, `_source_row` and `_load_id`, renamed). -#}
{% macro version_columns() -%}
        updated_at,
        valid_from,
        valid_to,
        _source_file as source_file,
        _source_row as source_row,
        _load_id as load_id
{%- endmacro %}

{#- Running totals of spans on dates: one row per row of `key_dates` (its `keys` and
    `as_of_date`) with, for each of `measures`, the sum of the measure over the rows of `spans`
    with the same keys whose [first_day, last_day] holds the date. Each span adds its measures
    at first_day and takes them back the day after last_day, so a range of dates costs one
    ordered pass over the spans' ends and the dates (a day's changes sort before the date).
    A date no span holds gets 0. -#}
{% macro span_totals(spans, key_dates, keys, measures) -%}
    {%- set key_list = keys | join(', ') -%}
    {%- set key_prefix = (key_list ~ ', ') if keys else '' -%}
    select
        {{ key_prefix }}day_on as as_of_date,
        {%- for measure in measures %}
        coalesce({{ measure }}, 0) as {{ measure }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            {{ key_prefix }}day_on,
            is_date,
            {%- for measure in measures %}
            sum({{ measure }}) over running_window as {{ measure }}{{ ',' if not loop.last }}
            {%- endfor %}
        from (
            select
                {{ key_prefix }}day_on,
                false as is_date,
                {%- for measure in measures %}
                sum({{ measure }}) as {{ measure }}{{ ',' if not loop.last }}
                {%- endfor %}
            from (
                select
                    {{ key_prefix }}first_day as day_on,
                    {%- for measure in measures %}
                    {{ measure }}{{ ',' if not loop.last }}
                    {%- endfor %}
                from {{ spans }}
                where first_day <= last_day
                union all
                select
                    {{ key_prefix }}{{ add_days('last_day', '1') }},
                    {%- for measure in measures %}
                    -{{ measure }}{{ ',' if not loop.last }}
                    {%- endfor %}
                from {{ spans }}
                where first_day <= last_day
            ) as span_ends
            group by {{ key_prefix }}day_on
            union all
            select
                {{ key_prefix }}as_of_date,
                true,
                {%- for measure in measures %}
                null{{ ',' if not loop.last }}
                {%- endfor %}
            from {{ key_dates }}
        ) as changes_and_dates
        window running_window as (
            {% if keys %}partition by {{ key_list }} {% endif -%}
            order by day_on, is_date
            rows between unbounded preceding and current row
        )
    ) as running
    where is_date
{%- endmacro %}

{#- The body of an int_<entity>_day_versions model: day_versions of the stg_<entity>_history
    model `history` (a model name) for the key `key`, with source_load_id (the key's latest
    load) and build_fingerprint (macros/incremental.sql). Incremental: a build recomputes only
    the keys with a version loaded since the last build, from all their versions (a key's day
    versions and their next_valid_on depend on all of them); every key when the SQL changes. -#}
{% macro day_versions_model(history, key) -%}
with fingerprint as (
    select {{ build_fingerprint() }} as build_fingerprint
),

{% if is_incremental() %}
previous as (
    {{ previous_build() }}
),

changed as (
    select distinct history.{{ key }}
    from {{ ref(history) }} as history
    cross join previous
    where previous.rebuild or history.load_id > previous.load_id
),
{% endif %}

versions as (
    select history.*
    from {{ ref(history) }} as history
    {% if is_incremental() %}
    inner join changed on history.{{ key }} = changed.{{ key }}
    {% endif %}
),

key_loads as (
    select {{ key }}, max(load_id) as source_load_id from versions group by {{ key }}
),

day_versions as (
    {{ day_versions('versions', key) }}
),

final as (
    select
        day_versions.*,
        key_loads.source_load_id,
        fingerprint.build_fingerprint
    from day_versions
    inner join key_loads on day_versions.{{ key }} = key_loads.{{ key }}
    cross join fingerprint
)

select * from final
{%- endmacro %}
