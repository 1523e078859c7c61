{#- The deal-registration funnel of partner deals by partner type, partner HQ region and month
    of registered_on, with the direct deals of the same region and month beside it. -#}
with params as (
    select * from {{ ref('int_params') }}
),

partners as (
    select partner_id, coalesce(region, 'unknown') as region from {{ ref('int_partners') }}
),

countries as (
    select upper(trim(country_code)) as country_code, region from {{ ref('countries') }}
),

deals as (
    select * from {{ ref('int_deals') }}
),

partner_deals as (
    select
        deals.partner_type,
        partners.region,
        {{ month_start('deals.registered_on') }} as registration_month,
        deals.stage,
        deals.amount_usd,
        case
            when deals.stage in ('won', 'lost') and deals.closed_on is not null
                then {{ days_between('deals.registered_on', 'deals.closed_on') }}
        end as days_registered_to_closed
    from deals
    inner join partners on deals.partner_id = partners.partner_id
    cross join params
    where deals.is_partner_deal and deals.registered_on <= params.as_of_date
),

funnel as (
    select
        partner_type,
        region,
        registration_month,
        count(*) as submitted,
        sum(case when stage = 'registered' then 1 else 0 end) as pending,
        sum(case when stage in ('approved', 'won', 'lost') then 1 else 0 end) as approved,
        sum(case when stage = 'rejected' then 1 else 0 end) as rejected,
        sum(case when stage = 'expired' then 1 else 0 end) as expired,
        sum(case when stage = 'won' then 1 else 0 end) as won,
        sum(case when stage = 'lost' then 1 else 0 end) as lost,
        sum(case when stage = 'won' then amount_usd end) as won_amount_usd,
        {{ median('days_registered_to_closed') }} as median_days_registered_to_closed
    from partner_deals
    group by partner_type, region, registration_month
),

-- Direct deals (every deal that is not a partner deal) in the region of the account's
-- country, by the month of registered_on, else of closed_on: only decided (won or lost) ones
-- count, so a deal without either date plays no part.
direct_deals as (
    select
        coalesce(countries.region, 'unknown') as region,
        {{ month_start('coalesce(deals.registered_on, deals.closed_on)') }} as registration_month,
        deals.stage,
        deals.amount_usd
    from deals
    left join countries on upper(trim(deals.account_country)) = countries.country_code
    cross join params
    where
        not deals.is_partner_deal
        and deals.stage in ('won', 'lost')
        and deals.closed_on is not null
        and coalesce(deals.registered_on, deals.closed_on) <= params.as_of_date
),

direct as (
    select
        region,
        registration_month,
        sum(case when stage = 'won' then 1 else 0 end) as direct_won,
        sum(case when stage = 'lost' then 1 else 0 end) as direct_lost,
        sum(case when stage = 'won' then amount_usd end) as direct_won_amount_usd
    from direct_deals
    group by region, registration_month
),

final as (
    select
        funnel.partner_type,
        funnel.region,
        funnel.registration_month,
        cast(funnel.submitted as {{ dbt.type_bigint() }}) as submitted,
        cast(funnel.pending as {{ dbt.type_bigint() }}) as pending,
        cast(funnel.approved as {{ dbt.type_bigint() }}) as approved,
        cast(funnel.rejected as {{ dbt.type_bigint() }}) as rejected,
        cast(funnel.expired as {{ dbt.type_bigint() }}) as expired,
        cast(funnel.won as {{ dbt.type_bigint() }}) as won,
        cast(funnel.lost as {{ dbt.type_bigint() }}) as lost,
        {{ safe_divide('funnel.approved', 'funnel.approved + funnel.rejected') }} as approval_rate,
        {{ safe_divide('funnel.won', 'funnel.won + funnel.lost') }} as win_rate_of_approved,
        {{ as_double('funnel.median_days_registered_to_closed') }}
            as median_days_registered_to_closed,
        {{ safe_divide('funnel.won_amount_usd', 'funnel.won') }} as avg_won_deal_usd,
        cast(coalesce(direct.direct_won, 0) as {{ dbt.type_bigint() }}) as direct_won,
        cast(coalesce(direct.direct_lost, 0) as {{ dbt.type_bigint() }}) as direct_lost,
        {{ safe_divide('direct.direct_won', 'direct.direct_won + direct.direct_lost') }}
            as direct_win_rate,
        {{ safe_divide('direct.direct_won_amount_usd', 'direct.direct_won') }}
            as direct_avg_won_deal_usd,
        {{ safe_divide('funnel.won', 'funnel.won + funnel.lost') }}
            - {{ safe_divide('direct.direct_won', 'direct.direct_won + direct.direct_lost') }}
            as win_rate_vs_direct,
        {{ safe_divide(
            safe_divide('funnel.won_amount_usd', 'funnel.won'),
            safe_divide('direct.direct_won_amount_usd', 'direct.direct_won')
        ) }} as deal_size_vs_direct
    from funnel
    left join direct
        on funnel.region = direct.region
        and funnel.registration_month = direct.registration_month
)

{{ select_with_labels('final', ['partner_type', 'region']) }}
