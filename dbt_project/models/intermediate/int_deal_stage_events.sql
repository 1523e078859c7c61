{#- Each deal's stage events (SPEC §10): when it was submitted, approved, rejected, expired, won
    and lost, each dated once and for good. Only versions current on or before D count: the
    events of int_deal_stage_firsts whose first version became current by D. An event is dated,
    and attributed to a partner (or to direct sales), by the first version that shows it, so a
    later version (a corrected amount, a moved close date, another partner, a stage set back)
    never moves it. A view: the filter on D is all that depends on D. -#}
{{ config(materialized='view') }}
with params as (
    select * from {{ ref('int_params') }}
),

final as (
    select
        firsts.deal_id,
        firsts.partner_id,
        firsts.is_partner_deal,
        firsts.account_country,
        firsts.event,
        firsts.event_on,
        firsts.event_month,
        firsts.registered_on,
        firsts.closed_on,
        firsts.amount_usd
    from {{ ref('int_deal_stage_firsts') }} as firsts
    cross join params
    where firsts.valid_on <= params.as_of_date
)

select * from final
