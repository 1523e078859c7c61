{#- Coverage (SPEC §5 covers) per as-of date of int_history_dates and targeted market cell, from
    the versions current at the end of each date (SPEC §10): the number of partners qualified
    on the date whose version's footprint covers the cell. A partner's qualified dates with
    one version form runs (consecutive dates); each run covers the cells of that version's
    served countries (the HQ country when empty), segments and verticals (all when empty), and
    a cell's count on a date is the runs' running total (span_totals). -#}
{{ config(tags=['history']) }}
with dates as (
    select * from {{ ref('int_history_dates') }}
),

cells as (
    select country_code, segment, vertical, addressable_accounts
    from {{ ref('int_market_cells') }}
    where is_targeted
),

partner_versions as (
    {{ day_versions(ref('stg_partners_history'), 'partner_id') }}
),

qualified_days as (
    select
        partner_id,
        partner_valid_on,
        as_of_date,
        {{ add_days(
            'as_of_date',
            '-1 * row_number() over (partition by partner_id, partner_valid_on order by as_of_date)'
        ) }} as run_key
    from {{ ref('int_history_partner_days') }}
    where is_qualified
),

qualified_runs as (
    select
        partner_id,
        partner_valid_on,
        min(as_of_date) as first_day,
        max(as_of_date) as last_day
    from qualified_days
    group by partner_id, partner_valid_on, run_key
),

versions as (
    select
        partner_id,
        valid_on,
        coalesce(countries_served, hq_country) as countries_served,
        segments_served,
        verticals_served
    from partner_versions
),

footprint as (
    select partner_id, valid_on, 'country' as dimension, {{ explode_list('countries_served') }} as code
    from versions
    where countries_served is not null
    union all
    select partner_id, valid_on, 'segment', {{ explode_list('segments_served') }}
    from versions
    where segments_served is not null
    union all
    select partner_id, valid_on, 'vertical', {{ explode_list('verticals_served') }}
    from versions
    where verticals_served is not null
),

countries as (
    select distinct partner_id, valid_on, code as country_code from footprint where dimension = 'country'
),

segments as (
    select distinct partner_id, valid_on, code as segment from footprint where dimension = 'segment'
),

verticals as (
    select distinct partner_id, valid_on, code as vertical from footprint where dimension = 'vertical'
),

cell_spans as (
    select
        cells.country_code,
        cells.segment,
        cells.vertical,
        runs.first_day,
        runs.last_day,
        1 as covering_partners
    from qualified_runs as runs
    inner join versions
        on runs.partner_id = versions.partner_id
        and runs.partner_valid_on = versions.valid_on
    inner join countries
        on runs.partner_id = countries.partner_id
        and runs.partner_valid_on = countries.valid_on
    inner join segments
        on runs.partner_id = segments.partner_id
        and runs.partner_valid_on = segments.valid_on
    inner join cells
        on countries.country_code = cells.country_code
        and segments.segment = cells.segment
    left join verticals
        on runs.partner_id = verticals.partner_id
        and runs.partner_valid_on = verticals.valid_on
        and cells.vertical = verticals.vertical
    where versions.verticals_served is null or verticals.partner_id is not null
),

cell_dates as (
    select cells.country_code, cells.segment, cells.vertical, dates.as_of_date
    from cells
    cross join dates
),

covering as (
    {{ span_totals(
        'cell_spans', 'cell_dates', ['country_code', 'segment', 'vertical'], ['covering_partners']
    ) }}
),

final as (
    select
        covering.as_of_date,
        covering.country_code,
        covering.segment,
        covering.vertical,
        cells.addressable_accounts,
        covering.covering_partners,
        covering.covering_partners > 0 as is_covered
    from covering
    inner join cells
        on covering.country_code = cells.country_code
        and covering.segment = cells.segment
        and covering.vertical = cells.vertical
)

select * from final
