{#- Channel conflict (mart_channel_conflict): one row per partner deal registered in the
    window (D - W, D] and each other deal that competes with it: same account_id and
    product_line, either a direct deal (any deal that is not a partner deal) or another
    partner's deal, whose open interval overlaps the partner deal's.

    A deal's open interval is [opened_on, closed_on, or D while it is still open], both ends
    included. opened_on is registered_on; a direct deal without registered_on opens on
    closed_on when it has one, else on the date of its latest update (SPEC §3 has no created
    date). Rejected and expired deals never compete and are never conflicted (their end is
    unknown, and the vendor turned them down or let them lapse); deals that open after D do
    not exist yet at D. -#}
with params as (
    select * from {{ ref('int_params') }}
),

partners as (
    select partner_id, coalesce(region, 'unknown') as region from {{ ref('int_partners') }}
),

intervals as (
    select
        deals.deal_id,
        deals.partner_id,
        deals.partner_type,
        deals.is_partner_deal,
        deals.deal_source,
        deals.account_id,
        deals.product_line,
        deals.stage,
        deals.amount_usd,
        deals.registered_on,
        coalesce(deals.registered_on, deals.closed_on, deals.updated_on) as opened_on,
        case
            when deals.closed_on is not null and deals.closed_on <= params.as_of_date
                then deals.closed_on
            else params.as_of_date
        end as open_until
    from {{ ref('int_deals') }} as deals
    cross join params
    where
        deals.stage in ('registered', 'approved', 'won', 'lost')
        and coalesce(deals.registered_on, deals.closed_on, deals.updated_on)
            <= params.as_of_date
),

partner_deals as (
    select intervals.*, partners.region
    from intervals
    inner join partners on intervals.partner_id = partners.partner_id
    cross join params
    where intervals.is_partner_deal and {{ in_window('intervals.registered_on') }}
),

final as (
    select
        partner_deals.deal_id,
        partner_deals.partner_id,
        partner_deals.partner_type,
        partner_deals.region,
        partner_deals.account_id,
        partner_deals.product_line,
        partner_deals.stage,
        partner_deals.amount_usd,
        partner_deals.opened_on,
        partner_deals.open_until,
        other.deal_id as conflicting_deal_id,
        case when other.is_partner_deal then 'other_partner' else 'direct' end
            as conflict_kind,
        case when other.is_partner_deal then other.partner_id end as conflicting_partner_id,
        other.deal_source as conflicting_deal_source,
        other.stage as conflicting_stage,
        other.opened_on as conflicting_opened_on,
        other.open_until as conflicting_open_until,
        greatest(partner_deals.opened_on, other.opened_on) as overlap_start,
        least(partner_deals.open_until, other.open_until) as overlap_end
    from partner_deals
    inner join intervals as other
        on partner_deals.account_id = other.account_id
        and partner_deals.product_line = other.product_line
        and partner_deals.deal_id <> other.deal_id
        and other.opened_on <= partner_deals.open_until
        and partner_deals.opened_on <= other.open_until
    where
        not other.is_partner_deal
        or other.partner_id <> partner_deals.partner_id
)

select * from final
