{#- One row per partner type and calendar month, from the first month with activity to the
    month of D: the month's own figures (_in_month), the figures of the 365 days up to
    period_end (_trailing_365d) and the status counts at period_end. The month of D ends at D
    (month to date); no figure counts a day after D. -#}
with productivity as (
    select * from {{ ref('int_productivity_periods') }}
),

params as (
    select * from {{ ref('int_params') }}
),

-- the month ends on or before D, and D itself (the month of D up to D)
months as (
    select productivity.*
    from productivity
    cross join params
    where productivity.period_end <= params.as_of_date
        and (productivity.is_month_end or productivity.is_as_of)
),

final as (
    select
        partner_type,
        period_month as month,
        period_end,
        trailing_365d_start as window_start,
        period_end < {{ month_end('period_end') }} as is_month_to_date,
        is_complete_window,
        partners_enrolled_in_month,
        {{ as_double('partner_revenue_usd_in_month') }} as partner_revenue_usd_in_month,
        {{ as_double('partner_sourced_revenue_usd_in_month') }}
            as partner_sourced_revenue_usd_in_month,
        new_customers_in_month,
        {{ as_double('investment_usd_in_month') }} as investment_usd_in_month,
        enrolled_partners,
        active_partners,
        active_ratio,
        median_days_to_first_win,
        {{ as_double('partner_revenue_usd_trailing_365d') }} as partner_revenue_usd_trailing_365d,
        revenue_per_active_partner_usd_trailing_365d,
        {{ as_double('partner_sourced_revenue_usd_trailing_365d') }}
            as partner_sourced_revenue_usd_trailing_365d,
        new_customers_trailing_365d,
        new_customer_share_trailing_365d,
        {{ as_double('investment_usd_trailing_365d') }} as investment_usd_trailing_365d,
        roi_multiple_trailing_365d
    from months
)

{{ select_with_labels('final', ['partner_type']) }}
