{#- Each deal's stage events, from its version history (SPEC §10): when it was submitted,
    approved, rejected, expired, won and lost, each dated once and for good. Only versions
    current on or before D count; an event is dated, and attributed to a partner (or to direct
    sales), by the first version that shows it, so a later version (a corrected amount, a moved
    close date, another partner, a stage set back) never moves it. -#}
with params as (
    select * from {{ ref('int_params') }}
),

versions as (
    select
        history.deal_id,
        history.partner_id,
        {{ is_partner_deal('history.partner_id', 'history.deal_source') }} as is_partner_deal,
        history.account_country,
        history.stage,
        history.registered_on,
        history.closed_on,
        history.amount,
        history.currency,
        history.updated_at,
        history.source_file,
        history.load_id,
        history.source_row,
        cast(history.valid_from as date) as valid_on
    from {{ ref('stg_deals_history') }} as history
    cross join params
    where cast(history.valid_from as date) <= params.as_of_date
),

event_kinds as (
    select 'submitted' as event
    union all select 'approved'
    union all select 'rejected'
    union all select 'expired'
    union all select 'won'
    union all select 'lost'
),

-- the events a version shows: submitted once it has a registered_on; approved for approved, won
-- and lost (a decided deal was approved first); the stage itself for rejected, expired, won and
-- lost. One pass over the versions, one window: the history is read once whatever its size.
shown as (
    select
        versions.*,
        event_kinds.event
    from versions
    inner join event_kinds
        on (event_kinds.event = 'submitted' and versions.registered_on is not null)
        or (event_kinds.event = 'approved' and versions.stage in ('approved', 'won', 'lost'))
        or (
            event_kinds.event = versions.stage
            and versions.stage in ('rejected', 'expired', 'won', 'lost')
        )
),

-- the first version that shows each event, in the order of the versions (SPEC §10)
firsts as (
    select
        *,
        row_number() over (
            partition by deal_id, event
            order by updated_at, source_file, load_id, source_row
        ) as nth
    from shown
),

fx as (
    select * from {{ ref('int_fx_monthly') }}
),

-- A registration is submitted on its registered_on. Won and lost happen on the version's
-- closed_on (else the day it became current); the other stages on the day their first version
-- became current. A deal first seen already decided was approved no later than its close.
events as (
    select
        firsts.deal_id,
        firsts.partner_id,
        firsts.is_partner_deal,
        firsts.account_country,
        firsts.event,
        case
            when firsts.event = 'submitted' then firsts.registered_on
            when firsts.event in ('won', 'lost') then coalesce(firsts.closed_on, firsts.valid_on)
            when firsts.closed_on is not null and firsts.closed_on < firsts.valid_on
                then firsts.closed_on
            else firsts.valid_on
        end as event_on,
        firsts.registered_on,
        case when firsts.event != 'submitted' then firsts.closed_on end as closed_on,
        case
            when firsts.event != 'submitted'
                then {{ amount_usd('firsts.amount', 'firsts.currency', 'fx.usd_per_unit') }}
        end as amount_usd
    from firsts
    left join fx
        on firsts.currency = fx.currency
        and {{ deal_fx_month('firsts.closed_on', 'firsts.registered_on', 'firsts.updated_at') }}
        = fx.fx_month
    where firsts.nth = 1
),

final as (
    select
        deal_id,
        partner_id,
        is_partner_deal,
        account_country,
        event,
        event_on,
        {{ month_start('event_on') }} as event_month,
        registered_on,
        closed_on,
        amount_usd
    from events
)

select * from final
