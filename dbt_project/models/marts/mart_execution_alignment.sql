with productivity as (
    select * from {{ ref('int_productivity_periods') }}
    where is_as_of
),

targets as (
    select
        lower(trim(partner_type)) as partner_type,
        target_partner_share,
        target_investment_share
    from {{ ref('strategy_targets') }}
),

totals as (
    select
        sum(enrolled_partners) as enrolled_partners,
        sum(investment_usd) as investment_usd,
        sum(partner_revenue_usd) as partner_revenue_usd
    from productivity
),

shares as (
    select
        productivity.partner_type,
        productivity.enrolled_partners,
        productivity.investment_usd,
        productivity.partner_revenue_usd,
        {{ safe_divide('productivity.enrolled_partners', 'totals.enrolled_partners') }}
            as actual_partner_share,
        coalesce(targets.target_partner_share, 0) as target_partner_share,
        {{ safe_divide('productivity.investment_usd', 'totals.investment_usd') }}
            as actual_investment_share,
        coalesce(targets.target_investment_share, 0) as target_investment_share,
        {{ safe_divide('productivity.partner_revenue_usd', 'totals.partner_revenue_usd') }}
            as revenue_share
    from productivity
    cross join totals
    left join targets on productivity.partner_type = targets.partner_type
),

final as (
    select
        partner_type,
        enrolled_partners,
        {{ as_double('investment_usd') }} as investment_usd,
        {{ as_double('partner_revenue_usd') }} as partner_revenue_usd,
        actual_partner_share,
        target_partner_share,
        actual_partner_share - target_partner_share as partner_share_gap,
        actual_investment_share,
        target_investment_share,
        actual_investment_share - target_investment_share as investment_share_gap,
        revenue_share,
        {{ alignment_score('actual_partner_share', 'target_partner_share') }}
            as composition_alignment_score,
        {{ alignment_score('actual_investment_share', 'target_investment_share') }}
            as investment_alignment_score
    from shares
)

{{ select_with_labels('final', ['partner_type']) }}
