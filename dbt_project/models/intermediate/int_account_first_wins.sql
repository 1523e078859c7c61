{#- Each account's first won deal ever, over all sources: earliest closed_on, then the
    smallest deal_id (SPEC §5 new customer). -#}
with won as (
    select
        account_id,
        deal_id,
        closed_on,
        is_partner_deal,
        partner_id,
        partner_type,
        row_number() over (
            partition by account_id order by closed_on, deal_id
        ) as win_rank
    from {{ ref('int_deals') }}
    where is_won
),

final as (
    select
        account_id,
        deal_id as first_deal_id,
        closed_on as first_won_on,
        is_partner_deal,
        partner_id,
        partner_type
    from won
    where win_rank = 1
)

select * from final
