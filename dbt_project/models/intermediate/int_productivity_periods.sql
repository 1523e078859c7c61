{#- The productivity measures of SPEC §6 per partner type and measurement date P, with D = P in
    every definition of SPEC §5. mart_ecosystem_productivity is the row P = D;
    mart_productivity_monthly the month ends. -#}
with types as (
    select lower(trim(partner_type)) as partner_type from {{ ref('partner_types') }}
),

periods as (
    select * from {{ ref('int_periods') }}
),

partner_periods as (
    select * from {{ ref('int_partner_periods') }}
),

facts as (
    select * from {{ ref('int_daily_type_facts') }}
),

grid as (
    select
        types.partner_type,
        periods.period_end,
        periods.period_month,
        periods.window_start,
        periods.is_month_end,
        periods.is_as_of
    from types
    cross join periods
),

partner_measures as (
    select
        partner_type,
        period_end,
        cast(sum(case when is_enrolled then 1 else 0 end) as {{ dbt.type_bigint() }}) as enrolled_partners,
        cast(sum(case when is_active then 1 else 0 end) as {{ dbt.type_bigint() }}) as active_partners,
        {{ median('case when is_enrolled then days_to_first_win end') }}
            as median_days_to_first_win
    from partner_periods
    group by partner_type, period_end
),

window_measures as (
    select
        facts.partner_type,
        periods.period_end,
        sum(facts.partner_revenue_usd) as partner_revenue_usd,
        sum(facts.partner_sourced_revenue_usd) as partner_sourced_revenue_usd,
        sum(facts.investment_usd) as investment_usd,
        cast(sum(facts.new_customers) as {{ dbt.type_bigint() }}) as new_customers
    from periods
    inner join facts
        on facts.fact_on > periods.window_start
        and facts.fact_on <= periods.period_end
    group by facts.partner_type, periods.period_end
),

all_new_customers as (
    select period_end, cast(sum(new_customers) as {{ dbt.type_bigint() }}) as all_new_customers
    from window_measures
    group by period_end
),

joined as (
    select
        grid.partner_type,
        grid.period_end,
        grid.period_month,
        grid.window_start,
        grid.is_month_end,
        grid.is_as_of,
        coalesce(partner_measures.enrolled_partners, 0) as enrolled_partners,
        coalesce(partner_measures.active_partners, 0) as active_partners,
        coalesce(window_measures.partner_revenue_usd, 0) as partner_revenue_usd,
        coalesce(window_measures.partner_sourced_revenue_usd, 0) as partner_sourced_revenue_usd,
        coalesce(window_measures.new_customers, 0) as new_customers,
        coalesce(all_new_customers.all_new_customers, 0) as all_new_customers,
        coalesce(window_measures.investment_usd, 0) as investment_usd,
        partner_measures.median_days_to_first_win
    from grid
    left join partner_measures
        on grid.partner_type = partner_measures.partner_type
        and grid.period_end = partner_measures.period_end
    left join window_measures
        on grid.partner_type = window_measures.partner_type
        and grid.period_end = window_measures.period_end
    left join all_new_customers
        on grid.period_end = all_new_customers.period_end
),

final as (
    select
        partner_type,
        period_end,
        period_month,
        window_start,
        is_month_end,
        is_as_of,
        enrolled_partners,
        active_partners,
        {{ safe_divide('active_partners', 'enrolled_partners') }} as active_ratio,
        partner_revenue_usd,
        {{ safe_divide('partner_revenue_usd', 'active_partners') }}
            as revenue_per_active_partner_usd,
        partner_sourced_revenue_usd,
        new_customers,
        all_new_customers,
        {{ safe_divide('new_customers', 'all_new_customers') }} as new_customer_share,
        investment_usd,
        {{ safe_divide('partner_sourced_revenue_usd', 'investment_usd') }} as roi_multiple,
        median_days_to_first_win
    from joined
)

select * from final
