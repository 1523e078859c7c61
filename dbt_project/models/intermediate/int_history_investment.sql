{#- Investment (SPEC §5) per as-of date of int_history_dates and investment category, from the
    versions current at the end of each date (SPEC §10): an approved or paid incentive counts on
    the dates on which its version was current and its approved_on in the window (P - W, P],
    under the category its partner's state on the date gives it (int_history_partner_states):
    strategic, else acquisition (approved before enrolment), else activation (no partner win
    on or before approval), else development. One row per date and category of the seed. -#}
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

categories as (
    {{ investment_categories() }}
),

fx as (
    select * from {{ ref('int_fx_monthly') }}
),

incentive_versions as (
    select * from {{ ref('int_incentive_day_versions') }}
),

states as (
    select * from {{ ref('int_history_partner_states') }}
),

incentive_spans as (
    select
        v.partner_id,
        v.approved_on,
        {{ window_span('v.approved_on') }},
        {{ amount_usd('v.amount', 'v.currency', 'fx.usd_per_unit') }} as investment_usd
    from incentive_versions as v
    cross join params
    cross join bounds
    left join fx
        on v.currency = fx.currency
        and {{ month_start('v.approved_on') }} = fx.fx_month
    where {{ is_investment('v.status') }} and v.approved_on is not null
),

-- a span in the runs of its partner's states, each part under the run's category
category_spans as (
    select
        case
            when states.is_strategic then 'strategic'
            when states.enrolled_on is null or spans.approved_on < states.enrolled_on
                then 'acquisition'
            when states.first_win_on is null or states.first_win_on > spans.approved_on
                then 'activation'
            else 'development'
        end as investment_category,
        greatest(spans.first_day, states.state_from) as first_day,
        least(spans.last_day, states.state_to) as last_day,
        spans.investment_usd
    from incentive_spans as spans
    inner join states
        on spans.partner_id = states.partner_id
        and spans.first_day <= states.state_to
        and states.state_from <= spans.last_day
),

category_dates as (
    select categories.investment_category, dates.as_of_date
    from categories
    cross join dates
),

final as (
    {{ span_totals('category_spans', 'category_dates', ['investment_category'], ['investment_usd']) }}
)

select * from final
