{#- Additive facts per partner type and day, so that any window (P - W, P] is a cheap sum:
    won partner revenue (by closed_on), investment (by approved_on), new customers won through
    partners (by first won deal's closed_on). Rows with a null partner_type count the new
    customers whose first won deal is not a partner deal: all new customers (the whole of
    new_customer_share) are those rows plus the typed ones. -#}
with deals as (
    select * from {{ ref('int_deals') }}
),

won_revenue as (
    select
        partner_type,
        closed_on as fact_on,
        sum(amount_usd) as partner_revenue_usd,
        sum(case when deal_source = 'partner_sourced' then amount_usd end)
            as partner_sourced_revenue_usd,
        cast(0 as {{ type_money() }}) as investment_usd,
        0 as new_customers
    from deals
    where is_partner_deal and is_won
    group by partner_type, closed_on
),

investment as (
    select
        partner_type,
        approved_on as fact_on,
        cast(0 as {{ type_money() }}) as partner_revenue_usd,
        cast(0 as {{ type_money() }}) as partner_sourced_revenue_usd,
        sum(amount_usd) as investment_usd,
        0 as new_customers
    from {{ ref('int_incentives') }}
    where is_investment
    group by partner_type, approved_on
),

new_customers as (
    select
        case when is_partner_deal then partner_type end as partner_type,
        first_won_on as fact_on,
        cast(0 as {{ type_money() }}) as partner_revenue_usd,
        cast(0 as {{ type_money() }}) as partner_sourced_revenue_usd,
        cast(0 as {{ type_money() }}) as investment_usd,
        count(*) as new_customers
    from {{ ref('int_account_first_wins') }}
    group by 1, 2
),

unioned as (
    select * from won_revenue
    union all
    select * from investment
    union all
    select * from new_customers
),

final as (
    select
        partner_type,
        fact_on,
        sum(partner_revenue_usd) as partner_revenue_usd,
        sum(partner_sourced_revenue_usd) as partner_sourced_revenue_usd,
        sum(investment_usd) as investment_usd,
        cast(sum(new_customers) as {{ dbt.type_bigint() }}) as new_customers
    from unioned
    group by partner_type, fact_on
)

select * from final
