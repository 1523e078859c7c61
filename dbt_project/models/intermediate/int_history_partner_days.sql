{#- One row per partner and as-of date of int_history_dates on which the partner existed in the
    source systems (a version current at the end of the day, SPEC §10), with its type, whether
    it was enrolled and active, and its won revenue and investment in the window (D - W, D],
    each computed from the versions current at the end of D: SPEC §5 with the sources as they
    were on D. partner_valid_on names the partner's version (its day) on the date.

    Set-based over the whole range: every version of a deal or an incentive counts on the
    as-of dates on which it was current and its fact was in the window, a span of days
    (window_span); a partner's sums are the spans' running totals (span_totals), so a range of
    dates costs one pass over the versions. -#}
{{ config(tags=['history']) }}
with params as (
    select * from {{ ref('int_params') }}
),

dates as (
    select * from {{ ref('int_history_dates') }}
),

bounds as (
    select min(as_of_date) as first_date, max(as_of_date) as last_date from dates
),

types as (
    select * from {{ ref('int_partner_types') }}
),

fx as (
    select * from {{ ref('int_fx_monthly') }}
),

partner_versions as (
    {{ day_versions(ref('stg_partners_history'), 'partner_id') }}
),

deal_versions as (
    select * from {{ ref('int_deal_day_versions') }}
),

incentive_versions as (
    select * from {{ ref('int_incentive_day_versions') }}
),

certification_versions as (
    {{ day_versions(ref('stg_certifications_history'), 'certification_id') }}
),

partner_deals as (
    select
        v.partner_id,
        v.deal_source,
        v.registered_on,
        v.closed_on,
        {{ is_won('v.stage', 'v.closed_on') }} as is_won,
        {{ amount_usd('v.amount', 'v.currency', 'fx.usd_per_unit') }} as amount_usd,
        v.valid_on,
        v.next_valid_on
    from deal_versions as v
    left join fx
        on v.currency = fx.currency
        and {{ deal_fx_month('v.closed_on', 'v.registered_on', 'v.updated_at') }} = fx.fx_month
    where {{ is_partner_deal('v.partner_id', 'v.deal_source') }}
),

-- Each span is a run of as-of dates on which a fact counts for a partner, with what it adds
-- there: won revenue, investment, an activity, a valid certification.

-- won revenue: a won partner deal counts from its close for W days, while its version is
-- current
revenue_spans as (
    select
        v.partner_id,
        {{ window_span('v.closed_on') }},
        v.amount_usd as revenue_usd,
        case when v.deal_source = 'partner_sourced' then v.amount_usd else 0 end
            as sourced_revenue_usd,
        cast(0 as {{ type_money() }}) as investment_usd,
        0 as activity,
        0 as certifications
    from partner_deals as v
    cross join params
    cross join bounds
    where v.is_won
),

investment_spans as (
    select
        v.partner_id,
        {{ window_span('v.approved_on') }},
        cast(0 as {{ type_money() }}) as revenue_usd,
        cast(0 as {{ type_money() }}) as sourced_revenue_usd,
        {{ amount_usd('v.amount', 'v.currency', 'fx.usd_per_unit') }} as investment_usd,
        0 as activity,
        0 as certifications
    from incentive_versions as v
    cross join params
    cross join bounds
    left join fx
        on v.currency = fx.currency
        and {{ month_start('v.approved_on') }} = fx.fx_month
    where {{ is_investment('v.status') }} and v.approved_on is not null
),

-- activity (SPEC §5 active): a partner deal registered, or won, in the window
activity_events as (
    select partner_id, registered_on as event_on, valid_on, next_valid_on
    from partner_deals
    where registered_on is not null
    union all
    select partner_id, closed_on, valid_on, next_valid_on
    from partner_deals
    where is_won
),

activity_spans as (
    select
        v.partner_id,
        {{ window_span('v.event_on') }},
        cast(0 as {{ type_money() }}) as revenue_usd,
        cast(0 as {{ type_money() }}) as sourced_revenue_usd,
        cast(0 as {{ type_money() }}) as investment_usd,
        1 as activity,
        0 as certifications
    from activity_events as v
    cross join params
    cross join bounds
),

-- a valid certification (SPEC §5 qualified): earned on or before the date and not expired on
-- it, while its version is current
certification_spans as (
    select
        v.partner_id,
        greatest(v.earned_on, v.valid_on, bounds.first_date) as first_day,
        least(
            coalesce({{ add_days('v.expires_on', '-1') }}, bounds.last_date),
            coalesce({{ add_days('v.next_valid_on', '-1') }}, bounds.last_date),
            bounds.last_date
        ) as last_day,
        cast(0 as {{ type_money() }}) as revenue_usd,
        cast(0 as {{ type_money() }}) as sourced_revenue_usd,
        cast(0 as {{ type_money() }}) as investment_usd,
        0 as activity,
        1 as certifications
    from certification_versions as v
    cross join bounds
    where v.earned_on is not null
),

spans as (
    select * from revenue_spans
    union all
    select * from investment_spans
    union all
    select * from activity_spans
    union all
    select * from certification_spans
),

partner_dates as (
    select partners.partner_id, dates.as_of_date
    from (select distinct partner_id from partner_versions) as partners
    cross join dates
),

running as (
    {{ span_totals(
        'spans', 'partner_dates', ['partner_id'],
        ['revenue_usd', 'sourced_revenue_usd', 'investment_usd', 'activity', 'certifications']
    ) }}
),

at_date as (
    select
        running.partner_id,
        running.as_of_date,
        types.partner_type,
        {{ is_enrolled_at('partner.enrolled_on', 'partner.terminated_on', 'running.as_of_date') }}
            as is_enrolled,
        coalesce(partner.program_status, '') <> 'suspended' as is_not_suspended,
        partner.valid_on as partner_valid_on,
        running.activity as activities,
        running.certifications as valid_certifications,
        running.revenue_usd as partner_revenue_usd,
        running.sourced_revenue_usd as partner_sourced_revenue_usd,
        running.investment_usd
    from running
    inner join partner_versions as partner
        on running.partner_id = partner.partner_id
        and partner.valid_on <= running.as_of_date
        and (partner.next_valid_on is null or running.as_of_date < partner.next_valid_on)
    left join types on partner.partner_type_code = types.type_code
),

final as (
    select
        partner_id,
        as_of_date,
        partner_type,
        partner_valid_on,
        is_enrolled,
        is_enrolled and activities > 0 as is_active,
        is_enrolled and is_not_suspended and valid_certifications > 0 as is_qualified,
        partner_revenue_usd,
        partner_sourced_revenue_usd,
        investment_usd
    from at_date
)

select * from final
