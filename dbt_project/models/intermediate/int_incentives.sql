{#- Incentives in USD with their investment category (SPEC §5 investment). -#}
with incentives as (
    select * from {{ ref('stg_incentives') }}
),

partners as (
    select partner_id, partner_type, is_strategic, enrolled_on from {{ ref('int_partners') }}
),

first_wins as (
    select * from {{ ref('int_partner_first_wins') }}
),

fx as (
    select * from {{ ref('int_fx_monthly') }}
),

final as (
    select
        incentives.incentive_id,
        incentives.partner_id,
        partners.partner_type,
        incentives.program,
        incentives.status,
        incentives.approved_on,
        incentives.paid_on,
        incentives.amount,
        incentives.currency,
        {{ amount_usd('incentives.amount', 'incentives.currency', 'fx.usd_per_unit') }}
            as amount_usd,
        {{ is_investment('incentives.status') }} as is_investment,
        -- the first matching category, in the order of SPEC §5
        case
            when partners.is_strategic then 'strategic'
            when partners.enrolled_on is null or incentives.approved_on < partners.enrolled_on
                then 'acquisition'
            when first_wins.first_win_on is null or first_wins.first_win_on > incentives.approved_on
                then 'activation'
            else 'development'
        end as investment_category
    from incentives
    left join partners on incentives.partner_id = partners.partner_id
    left join first_wins on incentives.partner_id = first_wins.partner_id
    left join fx
        on incentives.currency = fx.currency
        and {{ month_start('incentives.approved_on') }} = fx.fx_month
)

select * from final
