{#- The productivity measures of SPEC §6 per partner type and measurement date P, with D = P in
    every definition of SPEC §5. mart_ecosystem_productivity is the row P = D;
    mart_productivity_monthly the month ends up to D and D. Beside the measures over the
    activity window (P - W, P]: the same sums over P's calendar month up to P (_in_month) and
    over the fixed 365 days (P - 365, P] (_trailing_365d). -#}
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

params as (
    select * from {{ ref('int_params') }}
),

-- The first day with a fact that the sums add up (a won deal, an approved incentive) on or
-- before D: a window that starts earlier holds days the data does not cover.
first_data as (
    select min(facts.fact_on) as first_data_date
    from facts
    cross join params
    where facts.fact_on <= params.as_of_date
),

period_windows as (
    select
        period_end,
        period_month,
        {{ add_days('period_end', '-365') }} as trailing_365d_start
    from periods
),

enrolments as (
    select
        partners.partner_type,
        period_windows.period_end,
        cast(count(*) as {{ dbt.type_bigint() }}) as partners_enrolled_in_month
    from {{ ref('int_partners') }} as partners
    inner join period_windows
        on partners.enrolled_on >= period_windows.period_month
        and partners.enrolled_on <= period_windows.period_end
    group by partners.partner_type, period_windows.period_end
),

month_measures as (
    select
        facts.partner_type,
        period_windows.period_end,
        sum(facts.partner_revenue_usd) as partner_revenue_usd,
        sum(facts.partner_sourced_revenue_usd) as partner_sourced_revenue_usd,
        sum(facts.investment_usd) as investment_usd,
        cast(sum(facts.new_customers) as {{ dbt.type_bigint() }}) as new_customers
    from period_windows
    inner join facts
        on facts.fact_on >= period_windows.period_month
        and facts.fact_on <= period_windows.period_end
    group by facts.partner_type, period_windows.period_end
),

trailing_measures as (
    select
        facts.partner_type,
        period_windows.period_end,
        sum(facts.partner_revenue_usd) as partner_revenue_usd,
        sum(facts.partner_sourced_revenue_usd) as partner_sourced_revenue_usd,
        sum(facts.investment_usd) as investment_usd,
        cast(sum(facts.new_customers) as {{ dbt.type_bigint() }}) as new_customers
    from period_windows
    inner join facts
        on facts.fact_on > period_windows.trailing_365d_start
        and facts.fact_on <= period_windows.period_end
    group by facts.partner_type, period_windows.period_end
),

all_trailing_new_customers as (
    select period_end, cast(sum(new_customers) as {{ dbt.type_bigint() }}) as all_new_customers
    from trailing_measures
    group by period_end
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
        partner_measures.median_days_to_first_win,
        coalesce(month_measures.partner_revenue_usd, 0) as partner_revenue_usd_in_month,
        coalesce(month_measures.partner_sourced_revenue_usd, 0)
            as partner_sourced_revenue_usd_in_month,
        coalesce(month_measures.new_customers, 0) as new_customers_in_month,
        coalesce(enrolments.partners_enrolled_in_month, 0) as partners_enrolled_in_month,
        coalesce(month_measures.investment_usd, 0) as investment_usd_in_month,
        period_windows.trailing_365d_start,
        coalesce(trailing_measures.partner_revenue_usd, 0) as partner_revenue_usd_trailing_365d,
        coalesce(trailing_measures.partner_sourced_revenue_usd, 0)
            as partner_sourced_revenue_usd_trailing_365d,
        coalesce(trailing_measures.new_customers, 0) as new_customers_trailing_365d,
        coalesce(all_trailing_new_customers.all_new_customers, 0)
            as all_new_customers_trailing_365d,
        coalesce(trailing_measures.investment_usd, 0) as investment_usd_trailing_365d,
        first_data.first_data_date
    from grid
    inner join period_windows
        on grid.period_end = period_windows.period_end
    cross join first_data
    left join partner_measures
        on grid.partner_type = partner_measures.partner_type
        and grid.period_end = partner_measures.period_end
    left join window_measures
        on grid.partner_type = window_measures.partner_type
        and grid.period_end = window_measures.period_end
    left join all_new_customers
        on grid.period_end = all_new_customers.period_end
    left join month_measures
        on grid.partner_type = month_measures.partner_type
        and grid.period_end = month_measures.period_end
    left join enrolments
        on grid.partner_type = enrolments.partner_type
        and grid.period_end = enrolments.period_end
    left join trailing_measures
        on grid.partner_type = trailing_measures.partner_type
        and grid.period_end = trailing_measures.period_end
    left join all_trailing_new_customers
        on grid.period_end = all_trailing_new_customers.period_end
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
        median_days_to_first_win,
        partner_revenue_usd_in_month,
        partner_sourced_revenue_usd_in_month,
        new_customers_in_month,
        partners_enrolled_in_month,
        investment_usd_in_month,
        trailing_365d_start,
        partner_revenue_usd_trailing_365d,
        {{ safe_divide('partner_revenue_usd_trailing_365d', 'active_partners') }}
            as revenue_per_active_partner_usd_trailing_365d,
        partner_sourced_revenue_usd_trailing_365d,
        new_customers_trailing_365d,
        all_new_customers_trailing_365d,
        {{ safe_divide('new_customers_trailing_365d', 'all_new_customers_trailing_365d') }}
            as new_customer_share_trailing_365d,
        investment_usd_trailing_365d,
        {{ safe_divide('partner_sourced_revenue_usd_trailing_365d', 'investment_usd_trailing_365d') }}
            as roi_multiple_trailing_365d,
        first_data_date,
        -- the trailing window (P - 365, P] starts on or after the first data date
        coalesce({{ add_days('trailing_365d_start', '1') }} >= first_data_date, false)
            as is_complete_window
    from joined
)

select * from final
