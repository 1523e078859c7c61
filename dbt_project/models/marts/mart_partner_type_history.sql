{#- The partner-type figures of every as-of date of the history (SPEC §10), each computed from
    the versions current at the end of that date. Incremental: a run replaces the dates it
    computes (D on a nightly refresh, the range on a backfill) and keeps every other date as it
    was published. -#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
    tags=['history'],
) }}
with types as (
    select lower(trim(partner_type)) as partner_type from {{ ref('partner_types') }}
),

dates as (
    select * from {{ ref('int_history_dates') }}
),

partner_days as (
    select * from {{ ref('int_history_partner_days') }}
),

by_type as (
    select
        partner_type,
        as_of_date,
        sum(case when is_enrolled then 1 else 0 end) as enrolled_partners,
        sum(case when is_active then 1 else 0 end) as active_partners,
        sum(case when is_qualified then 1 else 0 end) as qualified_partners,
        sum(partner_revenue_usd) as partner_revenue_usd,
        sum(investment_usd) as investment_usd
    from partner_days
    group by partner_type, as_of_date
),

grid as (
    select
        dates.as_of_date,
        types.partner_type,
        coalesce(by_type.enrolled_partners, 0) as enrolled_partners,
        coalesce(by_type.active_partners, 0) as active_partners,
        coalesce(by_type.qualified_partners, 0) as qualified_partners,
        coalesce(by_type.partner_revenue_usd, 0) as partner_revenue_usd,
        coalesce(by_type.investment_usd, 0) as investment_usd
    from dates
    cross join types
    left join by_type
        on dates.as_of_date = by_type.as_of_date
        and types.partner_type = by_type.partner_type
),

totals as (
    select
        as_of_date,
        sum(enrolled_partners) as enrolled_partners,
        sum(investment_usd) as investment_usd
    from grid
    group by as_of_date
),

final as (
    select
        grid.as_of_date,
        grid.partner_type,
        cast(grid.enrolled_partners as {{ dbt.type_bigint() }}) as enrolled_partners,
        cast(grid.active_partners as {{ dbt.type_bigint() }}) as active_partners,
        {{ safe_divide('grid.active_partners', 'grid.enrolled_partners') }} as active_ratio,
        cast(grid.qualified_partners as {{ dbt.type_bigint() }}) as qualified_partners,
        {{ as_double('grid.partner_revenue_usd') }} as partner_revenue_usd,
        {{ as_double('grid.investment_usd') }} as investment_usd,
        {{ safe_divide('grid.enrolled_partners', 'totals.enrolled_partners') }}
            as actual_partner_share,
        {{ safe_divide('grid.investment_usd', 'totals.investment_usd') }}
            as actual_investment_share
    from grid
    inner join totals on grid.as_of_date = totals.as_of_date
)

{{ select_with_labels('final', ['partner_type']) }}
