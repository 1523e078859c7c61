{#- The dates at which productivity is measured: the last day of every calendar month from
    the first month with data to the month of D, and D itself. -#}
with params as (
    select * from {{ ref('int_params') }}
),

event_dates as (
    select enrolled_on as event_on from {{ ref('stg_partners') }}
    union all
    select registered_on from {{ ref('int_deals') }} where is_partner_deal
    union all
    select closed_on from {{ ref('int_deals') }} where is_partner_deal and is_won
    union all
    select approved_on from {{ ref('stg_incentives') }}
),

first_month as (
    select {{ month_start('min(event_dates.event_on)') }} as first_month
    from event_dates
    cross join params
    where event_dates.event_on <= params.as_of_date
),

offsets as (
    {{ dbt.generate_series(1200) }}
),

month_ends as (
    select
        {{ month_end(add_months('first_month.first_month', 'offsets.generated_number - 1')) }}
            as period_end
    from first_month
    cross join offsets
    cross join params
    where {{ add_months('first_month.first_month', 'offsets.generated_number - 1') }}
        <= params.as_of_date
),

periods as (
    select period_end, true as is_month_end, false as is_as_of from month_ends
    union all
    select as_of_date, false, true from params
),

final as (
    select
        period_end,
        {{ month_start('period_end') }} as period_month,
        {{ add_days('period_end', '-1 * params.window_days') }} as window_start,
        max(is_month_end) as is_month_end,
        max(is_as_of) as is_as_of
    from periods
    cross join params
    group by period_end, params.window_days
)

select * from final
