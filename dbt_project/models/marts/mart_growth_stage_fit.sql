with productivity as (
    select * from {{ ref('int_productivity_periods') }}
    where is_as_of
),

params as (
    select * from {{ ref('int_params') }}
),

playbook as (
    select
        lower(trim(playbook.partner_type)) as partner_type,
        lower(trim(playbook.role)) as role,
        playbook.rationale
    from {{ ref('growth_stage_playbook') }} as playbook
    cross join params
    where lower(trim(playbook.growth_stage)) = params.growth_stage
),

totals as (
    select sum(enrolled_partners) as enrolled_partners from productivity
),

joined as (
    select
        productivity.partner_type,
        params.growth_stage,
        playbook.role,
        productivity.enrolled_partners,
        {{ safe_divide('productivity.enrolled_partners', 'totals.enrolled_partners') }}
            as partner_share,
        productivity.active_partners,
        playbook.rationale
    from productivity
    cross join params
    cross join totals
    left join playbook on productivity.partner_type = playbook.partner_type
),

final as (
    select
        partner_type,
        growth_stage,
        role,
        enrolled_partners,
        partner_share,
        active_partners,
        case
            when role is null then 'no_playbook_role'
            when role = 'core' and enrolled_partners = 0 then 'missing_core'
            when role = 'core' and active_partners = 0 then 'core_inactive'
            when role = 'avoid' and enrolled_partners > 0 then 'present_but_avoid'
            else 'aligned'
        end as verdict,
        rationale
    from joined
)

{{ select_with_labels('final', ['partner_type']) }}
