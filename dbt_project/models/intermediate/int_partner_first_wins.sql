{#- Each partner's first won partner deal (earliest closed_on), over all time. -#}
with won as (
    select partner_id, closed_on
    from {{ ref('int_deals') }}
    where is_partner_deal and is_won
),

final as (
    select partner_id, min(closed_on) as first_win_on
    from won
    group by partner_id
)

select * from final
