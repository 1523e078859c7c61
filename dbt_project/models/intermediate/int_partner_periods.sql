{#- One row per ever-enrolled partner and measurement date P (int_periods): enrolled and active
    at P, and days from enrolment to first win when that win happened by P (SPEC §5 with D = P). -#}
with partners as (
    select partner_id, partner_type, enrolled_on, terminated_on
    from {{ ref('int_partners') }}
    where enrolled_on is not null
),

periods as (
    select * from {{ ref('int_periods') }}
),

params as (
    select * from {{ ref('int_params') }}
),

first_wins as (
    select * from {{ ref('int_partner_first_wins') }}
),

-- Activity events: a partner deal registered, or a partner deal won (SPEC §5 active).
events as (
    select partner_id, registered_on as event_on
    from {{ ref('int_deals') }}
    where is_partner_deal and registered_on is not null
    union
    select partner_id, closed_on
    from {{ ref('int_deals') }}
    where is_partner_deal and is_won
),

-- Each event goes to the first measurement date on or after it: D for events in D's month up
-- to D, else the last day of its month.
bucketed as (
    select
        events.partner_id,
        case
            when events.event_on <= params.as_of_date
                and {{ month_start('events.event_on') }} = {{ month_start('params.as_of_date') }}
                then params.as_of_date
            else {{ month_end('events.event_on') }}
        end as period_end,
        max(events.event_on) as last_event_on
    from events
    cross join params
    group by 1, 2
),

grid as (
    select
        partners.partner_id,
        partners.partner_type,
        partners.enrolled_on,
        partners.terminated_on,
        periods.period_end,
        periods.window_start,
        -- latest activity on or before P
        max(bucketed.last_event_on) over (
            partition by partners.partner_id
            order by periods.period_end
            rows between unbounded preceding and current row
        ) as last_event_on
    from partners
    cross join periods
    left join bucketed
        on partners.partner_id = bucketed.partner_id
        and periods.period_end = bucketed.period_end
),

flagged as (
    select
        grid.partner_id,
        grid.partner_type,
        grid.period_end,
        grid.last_event_on,
        {{ is_enrolled_at('grid.enrolled_on', 'grid.terminated_on', 'grid.period_end') }}
            as is_enrolled,
        case
            when first_wins.first_win_on <= grid.period_end then first_wins.first_win_on
        end as first_win_on,
        grid.enrolled_on,
        grid.window_start
    from grid
    left join first_wins on grid.partner_id = first_wins.partner_id
),

final as (
    select
        partner_id,
        partner_type,
        period_end,
        is_enrolled,
        (is_enrolled and coalesce(last_event_on > window_start, false)) as is_active,
        last_event_on,
        first_win_on,
        -- set whenever the first win happened by P; the median counts enrolled partners only
        case
            when first_win_on is not null then {{ days_between('enrolled_on', 'first_win_on') }}
        end as days_to_first_win
    from flagged
)

select * from final
