{#- Ecosystem composition alignment at every measurement date P of int_periods (month ends
    and D): the alignment score of the enrolled partner mix by type against
    target_partner_share, computed as mart_execution_alignment does at D (same shares, same
    alignment_score macro, one distribution per P). -#}
with productivity as (
    select partner_type, period_end, period_month, is_month_end, is_as_of, enrolled_partners
    from {{ ref('int_productivity_periods') }}
),

targets as (
    select lower(trim(partner_type)) as partner_type, target_partner_share
    from {{ ref('strategy_targets') }}
),

totals as (
    select period_end, sum(enrolled_partners) as enrolled_partners
    from productivity
    group by period_end
),

shares as (
    select
        productivity.period_end,
        productivity.period_month,
        productivity.is_month_end,
        productivity.is_as_of,
        totals.enrolled_partners,
        {{ safe_divide('productivity.enrolled_partners', 'totals.enrolled_partners') }}
            as actual_partner_share,
        coalesce(targets.target_partner_share, 0) as target_partner_share
    from productivity
    inner join totals on productivity.period_end = totals.period_end
    left join targets on productivity.partner_type = targets.partner_type
),

scored as (
    select
        period_end,
        period_month,
        is_month_end,
        is_as_of,
        enrolled_partners,
        {{ alignment_score('actual_partner_share', 'target_partner_share', 'period_end') }}
            as composition_alignment_score
    from shares
),

final as (
    select distinct
        period_end,
        period_month,
        is_month_end,
        is_as_of,
        enrolled_partners,
        composition_alignment_score
    from scored
)

select * from final
