{#- Every partner's status at D (SPEC §5): enrolled, qualified, active, first win, and its
    revenue and investment in the window. -#}
with partners as (
    select * from {{ ref('int_partners') }}
),

params as (
    select * from {{ ref('int_params') }}
),

at_d as (
    select periods.*
    from {{ ref('int_partner_periods') }} as periods
    cross join params
    where periods.period_end = params.as_of_date
),

revenue as (
    select
        deals.partner_id,
        sum(deals.amount_usd) as partner_revenue_usd,
        sum(case when deals.deal_source = 'partner_sourced' then deals.amount_usd else 0 end)
            as partner_sourced_revenue_usd
    from {{ ref('int_deals') }} as deals
    cross join params
    where deals.is_partner_deal and deals.is_won and {{ in_window('deals.closed_on') }}
    group by deals.partner_id
),

investment as (
    select
        incentives.partner_id,
        sum(incentives.amount_usd) as investment_usd
    from {{ ref('int_incentives') }} as incentives
    cross join params
    where incentives.is_investment and {{ in_window('incentives.approved_on') }}
    group by incentives.partner_id
),

final as (
    select
        partners.*,
        coalesce(at_d.is_enrolled, false) as is_enrolled,
        (
            coalesce(at_d.is_enrolled, false)
            and coalesce(partners.program_status, '') <> 'suspended'
            and partners.capacity > 0
        ) as is_qualified,
        coalesce(at_d.is_active, false) as is_active,
        at_d.last_event_on,
        at_d.first_win_on,
        at_d.days_to_first_win,
        coalesce(revenue.partner_revenue_usd, 0) as partner_revenue_usd,
        coalesce(revenue.partner_sourced_revenue_usd, 0) as partner_sourced_revenue_usd,
        coalesce(investment.investment_usd, 0) as investment_usd
    from partners
    left join at_d on partners.partner_id = at_d.partner_id
    left join revenue on partners.partner_id = revenue.partner_id
    left join investment on partners.partner_id = investment.partner_id
)

select * from final
