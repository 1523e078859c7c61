{#- The deal-registration funnel of partner deals by partner type, partner HQ region and the
    month in which each event happened (SPEC §10: from the stage history), with the direct
    deals won and lost in the same region and month beside it. An event counts under the
    partner's type and region on the day it happened, so a later change to the partner moves
    no past event. -#}
with params as (
    select * from {{ ref('int_params') }}
),

-- the partner's type and HQ region on each day (int_partner_versions)
partners as (
    select * from {{ ref('int_partner_versions') }}
),

countries as (
    select upper(trim(country_code)) as country_code, region from {{ ref('countries') }}
),

events as (
    select stage_events.*
    from {{ ref('int_deal_stage_events') }} as stage_events
    cross join params
    where stage_events.event_on <= params.as_of_date
),

-- the day each deal's registration was first decided (approved, rejected or expired)
decisions as (
    select deal_id, min(event_on) as decided_on
    from events
    where event in ('approved', 'rejected', 'expired')
    group by deal_id
),

partner_events as (
    select
        partners.partner_type,
        partners.region,
        events.event,
        events.event_month,
        events.amount_usd,
        -- a submission still undecided at the end of its month
        (
            events.event = 'submitted'
            and (
                decisions.decided_on is null
                or decisions.decided_on > {{ month_end('events.event_month') }}
            )
        ) as is_pending,
        case
            when events.event in ('won', 'lost')
                then {{ days_between('events.registered_on', 'events.event_on') }}
        end as days_registered_to_closed
    from events
    inner join partners
        on events.partner_id = partners.partner_id
        and (partners.valid_from_on is null or partners.valid_from_on <= events.event_on)
        and (partners.valid_to_on is null or events.event_on < partners.valid_to_on)
    left join decisions on events.deal_id = decisions.deal_id
    where events.is_partner_deal
),

funnel as (
    select
        partner_type,
        region,
        event_month as month,
        sum(case when event = 'submitted' then 1 else 0 end) as submitted,
        sum(case when is_pending then 1 else 0 end) as pending,
        sum(case when event = 'approved' then 1 else 0 end) as approved,
        sum(case when event = 'rejected' then 1 else 0 end) as rejected,
        sum(case when event = 'expired' then 1 else 0 end) as expired,
        sum(case when event = 'won' then 1 else 0 end) as won,
        sum(case when event = 'lost' then 1 else 0 end) as lost,
        sum(case when event = 'won' then amount_usd end) as won_amount_usd,
        {{ median('days_registered_to_closed') }} as median_days_registered_to_closed
    from partner_events
    group by partner_type, region, event_month
),

-- Direct deals (every deal that is not a partner deal), won or lost, in the region of the
-- account's country and the month of the win or loss.
direct as (
    select
        coalesce(countries.region, 'unknown') as region,
        events.event_month as month,
        sum(case when events.event = 'won' then 1 else 0 end) as direct_won,
        sum(case when events.event = 'lost' then 1 else 0 end) as direct_lost,
        sum(case when events.event = 'won' then events.amount_usd end) as direct_won_amount_usd
    from events
    left join countries on upper(trim(events.account_country)) = countries.country_code
    where not events.is_partner_deal and events.event in ('won', 'lost')
    group by coalesce(countries.region, 'unknown'), events.event_month
),

final as (
    select
        funnel.partner_type,
        funnel.region,
        funnel.month,
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
        and funnel.month = direct.month
)

{{ select_with_labels('final', ['partner_type', 'region']) }}
