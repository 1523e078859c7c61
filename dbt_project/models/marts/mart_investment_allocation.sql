with categories as (
    {{ investment_categories() }}
),

params as (
    select * from {{ ref('int_params') }}
),

investment as (
    select
        incentives.investment_category,
        sum(incentives.amount_usd) as investment_usd
    from {{ ref('int_incentives') }} as incentives
    cross join params
    where incentives.is_investment and {{ in_window('incentives.approved_on') }}
    group by incentives.investment_category
),

targets as (
    select
        lower(trim(targets.investment_category)) as investment_category,
        targets.target_share
    from {{ ref('investment_targets') }} as targets
    cross join params
    where lower(trim(targets.growth_stage)) = params.growth_stage
),

totals as (
    select sum(investment_usd) as investment_usd from investment
),

shares as (
    select
        categories.investment_category,
        categories.category_order,
        params.growth_stage,
        coalesce(investment.investment_usd, 0) as investment_usd,
        {{ safe_divide('coalesce(investment.investment_usd, 0)', 'totals.investment_usd') }}
            as actual_share,
        coalesce(targets.target_share, 0) as target_share
    from categories
    cross join params
    cross join totals
    left join investment on categories.investment_category = investment.investment_category
    left join targets on categories.investment_category = targets.investment_category
),

final as (
    select
        investment_category,
        category_order,
        growth_stage,
        {{ as_double('investment_usd') }} as investment_usd,
        actual_share,
        target_share,
        actual_share - target_share as share_gap,
        {{ alignment_score('actual_share', 'target_share') }} as category_alignment_score
    from shares
)

{{ select_with_labels('final', ['investment_category']) }}
