{#- How concentrated partner-sourced won revenue in the window is over every partner of every
    type, in one row at D: the measures of mart_partner_concentration, same names. -#}
with params as (
    select * from {{ ref('int_params') }}
),

-- The population: every partner enrolled at D, and every other partner with partner-sourced
-- won revenue in the window (so that the whole is all of that revenue).
partners as (
    select partner_id, partner_type, partner_sourced_revenue_usd as revenue_usd
    from {{ ref('int_partner_status') }}
    where is_enrolled or partner_sourced_revenue_usd > 0
),

scoped as (
    select 'all' as scope, partner_id, revenue_usd from partners
),

-- Rank by revenue (largest first; ties broken by partner_id, which does not change any
-- share: tied partners have the same revenue).
ranked as (
    select
        scope,
        partner_id,
        revenue_usd,
        row_number() over (partition by scope order by revenue_usd desc, partner_id)
            as revenue_rank,
        count(*) over (partition by scope) as partners,
        sum(revenue_usd) over (partition by scope) as total_revenue_usd
    from scoped
),

-- top k% = the ceil(k% × partners) largest partners, at least 1
cutoffs as (
    select
        ranked.*,
        greatest(1, cast(ceil(partners * 0.01) as integer)) as top_1pct_partners,
        greatest(1, cast(ceil(partners * 0.05) as integer)) as top_5pct_partners,
        greatest(1, cast(ceil(partners * 0.10) as integer)) as top_10pct_partners,
        -- Each partner's share of its scope's revenue, squared as a double: a square of money
        -- overflows every decimal at the contract's amounts (DECIMAL(18, 2) times an FX rate).
        -- The squares are summed as exact decimals of 30 places, so the index does not depend
        -- on the order rows are added in; one partner gives exactly 1.
        cast(
            power({{ safe_divide('revenue_usd', 'total_revenue_usd') }}, 2) as decimal(38, 30)
        ) as share_squared
    from ranked
),

measures as (
    select
        scope,
        max(partners) as partners,
        sum(case when revenue_usd > 0 then 1 else 0 end) as revenue_partners,
        sum(revenue_usd) as revenue_usd,
        max(top_1pct_partners) as top_1pct_partners,
        max(top_5pct_partners) as top_5pct_partners,
        max(top_10pct_partners) as top_10pct_partners,
        sum(case when revenue_rank <= top_1pct_partners then revenue_usd end) as top_1pct_usd,
        sum(case when revenue_rank <= top_5pct_partners then revenue_usd end) as top_5pct_usd,
        sum(case when revenue_rank <= top_10pct_partners then revenue_usd end) as top_10pct_usd,
        sum(case when revenue_rank <= 5 then revenue_usd end) as top5_usd,
        sum(share_squared) as share_squared
    from cutoffs
    group by scope
),

scopes as (
    select 'all' as scope, as_of_date from params
),

final as (
    select
        scopes.as_of_date,
        cast(coalesce(measures.partners, 0) as {{ dbt.type_bigint() }}) as partners,
        cast(coalesce(measures.revenue_partners, 0) as {{ dbt.type_bigint() }})
            as revenue_partners,
        {{ as_double('coalesce(measures.revenue_usd, 0)') }} as partner_sourced_revenue_usd,
        cast(coalesce(measures.top_1pct_partners, 0) as {{ dbt.type_bigint() }})
            as top_1pct_partners,
        {{ safe_divide('measures.top_1pct_usd', 'measures.revenue_usd') }} as top_1pct_share,
        cast(coalesce(measures.top_5pct_partners, 0) as {{ dbt.type_bigint() }})
            as top_5pct_partners,
        {{ safe_divide('measures.top_5pct_usd', 'measures.revenue_usd') }} as top_5pct_share,
        cast(coalesce(measures.top_10pct_partners, 0) as {{ dbt.type_bigint() }})
            as top_10pct_partners,
        {{ safe_divide('measures.top_10pct_usd', 'measures.revenue_usd') }} as top_10pct_share,
        {{ safe_divide('measures.top5_usd', 'measures.revenue_usd') }} as top5_share,
        {{ safe_divide('measures.top5_usd', 'measures.revenue_usd') }} > 0.5 as top5_over_half,
        -- Σ share² over the scope's partners; null when the scope has no revenue
        case
            when measures.revenue_usd > 0 then {{ as_double('measures.share_squared') }}
        end as herfindahl_index
    from scopes
    left join measures on scopes.scope = measures.scope
)

select * from final
