with partners as (
    select * from {{ ref('int_partner_status') }}
),

final as (
    select
        partner_id,
        partner_name,
        partner_type,
        tier,
        region,
        hq_country,
        program_status,
        is_strategic,
        applied_on,
        enrolled_on,
        terminated_on,
        is_enrolled,
        is_qualified,
        is_active,
        last_event_on as last_activity_on,
        capacity,
        {{ as_double('partner_revenue_usd') }} as partner_revenue_usd,
        {{ as_double('partner_sourced_revenue_usd') }} as partner_sourced_revenue_usd,
        {{ as_double('investment_usd') }} as investment_usd,
        {{ safe_divide('partner_sourced_revenue_usd', 'investment_usd') }} as roi_multiple,
        first_win_on,
        days_to_first_win
    from partners
)

{{ select_with_labels('final', ['partner_type', 'region']) }}
