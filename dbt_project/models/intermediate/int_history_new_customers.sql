{#- New customers (SPEC §5) per as-of date of int_history_dates, from the deal versions current
    at the end of each date (SPEC §10): an account is new on a date when its first won deal
    ever (earliest closed_on, then smallest deal_id) among those versions closed in the window
    (P - W, P]; `new_customers` counts those whose first won deal is a partner deal. An
    account's first win changes only on a day a won deal version of it starts or ends, so it
    is found once per such run of dates, and counted on the run's dates in the window. -#}
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

deal_versions as (
    select * from {{ ref('int_deal_day_versions') }}
),

won as (
    select
        account_id,
        deal_id,
        closed_on,
        {{ is_partner_deal('partner_id', 'deal_source') }} as is_partner_deal,
        valid_on,
        next_valid_on
    from deal_versions
    where {{ is_won('stage', 'closed_on') }} and account_id is not null
),

change_days as (
    select account_id, valid_on as change_on from won
    union all
    select account_id, next_valid_on from won
),

run_starts as (
    select distinct
        change_days.account_id,
        greatest(change_days.change_on, bounds.first_date) as run_from
    from change_days
    cross join bounds
    where change_days.change_on is not null and change_days.change_on <= bounds.last_date
),

runs as (
    select
        account_id,
        run_from,
        lead(run_from) over (partition by account_id order by run_from) as next_run_from
    from run_starts
),

ranked as (
    select
        runs.account_id,
        runs.run_from,
        runs.next_run_from,
        won.closed_on,
        won.is_partner_deal,
        row_number() over (
            partition by runs.account_id, runs.run_from order by won.closed_on, won.deal_id
        ) as win_rank
    from runs
    inner join won
        on runs.account_id = won.account_id
        and won.valid_on <= runs.run_from
        and (won.next_valid_on is null or runs.run_from < won.next_valid_on)
),

new_customer_spans as (
    select
        {{ window_span('v.closed_on', 'v.run_from', 'v.next_run_from') }},
        1 as all_new_customers,
        case when v.is_partner_deal then 1 else 0 end as new_customers
    from ranked as v
    cross join params
    cross join bounds
    where v.win_rank = 1
),

final as (
    {{ span_totals(
        'new_customer_spans', 'dates', [], ['new_customers', 'all_new_customers']
    ) }}
)

select * from final
