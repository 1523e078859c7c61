{#- Channel conflict rate by partner type and partner HQ region: partner deals registered in
    the window, and those that conflict with a direct deal or another partner's deal
    (int_channel_conflict_pairs). One row per partner type and region, even when empty. -#}
with params as (
    select * from {{ ref('int_params') }}
),

types as (
    select lower(trim(partner_type)) as partner_type from {{ ref('partner_types') }}
),

partners as (
    select partner_id, coalesce(region, 'unknown') as region from {{ ref('int_partners') }}
),

partner_deals as (
    select deals.deal_id, deals.partner_type, partners.region, deals.amount_usd
    from {{ ref('int_deals') }} as deals
    inner join partners on deals.partner_id = partners.partner_id
    cross join params
    where
        deals.is_partner_deal
        and deals.stage in ('registered', 'approved', 'won', 'lost')
        and {{ in_window('deals.registered_on') }}
),

regions as (
    select distinct coalesce(region, 'unknown') as region from {{ ref('countries') }}
    union
    select distinct region from partner_deals
),

conflicts as (
    select
        deal_id,
        max(case when conflict_kind = 'direct' then 1 else 0 end) as with_direct,
        max(case when conflict_kind = 'other_partner' then 1 else 0 end) as with_partner
    from {{ ref('int_channel_conflict_pairs') }}
    group by deal_id
),

measures as (
    select
        partner_deals.partner_type,
        partner_deals.region,
        count(*) as partner_deals,
        count(conflicts.deal_id) as conflicted_deals,
        coalesce(sum(conflicts.with_direct), 0) as conflicted_with_direct,
        coalesce(sum(conflicts.with_partner), 0) as conflicted_with_partner,
        sum(partner_deals.amount_usd) as partner_deal_amount_usd,
        sum(case when conflicts.deal_id is not null then partner_deals.amount_usd end)
            as conflicted_amount_usd
    from partner_deals
    left join conflicts on partner_deals.deal_id = conflicts.deal_id
    group by partner_deals.partner_type, partner_deals.region
),

final as (
    select
        types.partner_type,
        regions.region,
        cast(coalesce(measures.partner_deals, 0) as {{ dbt.type_bigint() }}) as partner_deals,
        cast(coalesce(measures.conflicted_deals, 0) as {{ dbt.type_bigint() }})
            as conflicted_deals,
        {{ safe_divide('measures.conflicted_deals', 'measures.partner_deals') }}
            as conflict_rate,
        cast(coalesce(measures.conflicted_with_direct, 0) as {{ dbt.type_bigint() }})
            as conflicted_with_direct,
        cast(coalesce(measures.conflicted_with_partner, 0) as {{ dbt.type_bigint() }})
            as conflicted_with_partner,
        {{ as_double('coalesce(measures.partner_deal_amount_usd, 0)') }}
            as partner_deal_amount_usd,
        {{ as_double('coalesce(measures.conflicted_amount_usd, 0)') }} as conflicted_amount_usd
    from types
    cross join regions
    left join measures
        on types.partner_type = measures.partner_type
        and regions.region = measures.region
)

{{ select_with_labels('final', ['partner_type', 'region']) }}
