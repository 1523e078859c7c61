{#- Deals with their USD amount (SPEC §5 amount_usd) and whether they are partner deals. -#}
with deals as (
    select * from {{ ref('stg_deals') }}
),

partners as (
    select partner_id, partner_type from {{ ref('int_partners') }}
),

fx as (
    select * from {{ ref('int_fx_monthly') }}
),

dated as (
    select
        deals.*,
        {{ deal_fx_month('deals.closed_on', 'deals.registered_on', 'deals.updated_at') }}
            as fx_month,
        {{ is_partner_deal('deals.partner_id', 'deals.deal_source') }} as is_partner_deal
    from deals
),

final as (
    select
        dated.deal_id,
        dated.partner_id,
        partners.partner_type,
        dated.deal_source,
        dated.is_partner_deal,
        dated.account_id,
        dated.account_country,
        dated.account_segment,
        dated.account_vertical,
        dated.product_line,
        dated.stage,
        dated.registered_on,
        dated.closed_on,
        -- the only date of an open direct deal without registered_on (SPEC §3 has no
        -- created date): the channel-conflict interval starts here for such deals
        cast(dated.updated_at as date) as updated_on,
        dated.amount,
        dated.currency,
        dated.fx_month,
        {{ amount_usd('dated.amount', 'dated.currency', 'fx.usd_per_unit') }} as amount_usd,
        {{ is_won('dated.stage', 'dated.closed_on') }} as is_won
    from dated
    left join partners on dated.partner_id = partners.partner_id
    left join fx
        on dated.currency = fx.currency
        and dated.fx_month = fx.fx_month
)

select * from final
