with productivity as (
    select * from {{ ref('int_productivity_periods') }}
    where is_as_of
),

final as (
    select
        partner_type,
        period_end as as_of_date,
        window_start,
        enrolled_partners,
        active_partners,
        active_ratio,
        {{ as_double('partner_revenue_usd') }} as partner_revenue_usd,
        revenue_per_active_partner_usd,
        {{ as_double('partner_sourced_revenue_usd') }} as partner_sourced_revenue_usd,
        new_customers,
        new_customer_share,
        {{ as_double('investment_usd') }} as investment_usd,
        roi_multiple,
        median_days_to_first_win
    from productivity
)

{{ select_with_labels('final', ['partner_type']) }}
