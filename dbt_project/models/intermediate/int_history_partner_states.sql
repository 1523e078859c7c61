{#- Each partner's state over runs of as-of dates of int_history_dates (SPEC §10): one row per
    partner and run [state_from, state_to] in which the partner's version and its first won
    partner deal stay the same, from the versions current at the end of each date. The state
    changes only on a day a partner version or a won partner deal's version starts or ends, so
    the runs start at the range's first date and on those days. The investment categories of
    SPEC §5 read it (strategic flag, enrolment, first win). -#}
{{ config(tags=['history']) }}
with dates as (
    select * from {{ ref('int_history_dates') }}
),

bounds as (
    select min(as_of_date) as first_date, max(as_of_date) as last_date from dates
),

partner_versions as (
    {{ day_versions(ref('stg_partners_history'), 'partner_id') }}
),

deal_versions as (
    select * from {{ ref('int_deal_day_versions') }}
),

won_partner_deals as (
    select partner_id, closed_on, valid_on, next_valid_on
    from deal_versions
    where {{ is_partner_deal('partner_id', 'deal_source') }} and {{ is_won('stage', 'closed_on') }}
),

change_days as (
    select partner_id, valid_on as change_on from partner_versions
    union all
    select partner_id, next_valid_on from partner_versions
    union all
    select partner_id, valid_on from won_partner_deals
    union all
    select partner_id, next_valid_on from won_partner_deals
),

-- the range's first date, and every change inside the range
state_starts as (
    select distinct
        change_days.partner_id,
        greatest(change_days.change_on, bounds.first_date) as state_from
    from change_days
    cross join bounds
    where change_days.change_on is not null and change_days.change_on <= bounds.last_date
),

runs as (
    select
        partner_id,
        state_from,
        coalesce(
            {{ add_days('lead(state_from) over (partition by partner_id order by state_from)', '-1') }},
            bounds.last_date
        ) as state_to
    from state_starts
    cross join bounds
),

first_wins as (
    select runs.partner_id, runs.state_from, min(won.closed_on) as first_win_on
    from runs
    inner join won_partner_deals as won
        on runs.partner_id = won.partner_id
        and won.valid_on <= runs.state_from
        and (won.next_valid_on is null or runs.state_from < won.next_valid_on)
    group by runs.partner_id, runs.state_from
),

final as (
    select
        runs.partner_id,
        runs.state_from,
        runs.state_to,
        partner.valid_on as partner_valid_on,
        partner.is_strategic,
        partner.enrolled_on,
        first_wins.first_win_on
    from runs
    inner join partner_versions as partner
        on runs.partner_id = partner.partner_id
        and partner.valid_on <= runs.state_from
        and (partner.next_valid_on is null or runs.state_from < partner.next_valid_on)
    left join first_wins
        on runs.partner_id = first_wins.partner_id
        and runs.state_from = first_wins.state_from
)

select * from final
