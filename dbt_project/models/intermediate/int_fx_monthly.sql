{#- A dense month-by-month rate per currency: each month from a currency's first rate for 60
    years carries the latest rate at or before it ("the latest earlier month if that month is
    missing", SPEC §5). -#}
with rates as (
    select
        upper(trim(currency)) as currency,
        {{ month_start('month') }} as rate_month,
        cast(usd_per_unit as decimal(18, 10)) as usd_per_unit
    from {{ ref('fx_rates') }}
    where usd_per_unit > 0
),

first_months as (
    select currency, min(rate_month) as first_month
    from rates
    group by currency
),

offsets as (
    {{ dbt.generate_series(720) }}
),

months as (
    select
        first_months.currency,
        {{ add_months('first_months.first_month', 'offsets.generated_number - 1') }} as fx_month
    from first_months
    cross join offsets
),

latest as (
    select
        months.currency,
        months.fx_month,
        max(rates.rate_month) as rate_month
    from months
    inner join rates
        on months.currency = rates.currency
        and rates.rate_month <= months.fx_month
    group by months.currency, months.fx_month
),

final as (
    select
        latest.currency,
        latest.fx_month,
        latest.rate_month,
        rates.usd_per_unit
    from latest
    inner join rates
        on latest.currency = rates.currency
        and latest.rate_month = rates.rate_month
)

select * from final
