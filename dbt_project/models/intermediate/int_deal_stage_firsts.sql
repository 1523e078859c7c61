{#- Each deal's stage events (SPEC §10), each dated and attributed by the first version of the
    deal that shows it, over the deal's whole version history: int_deal_stage_events keeps
    those whose version became current on or before D. A deal's versions are ordered by
    updated_at first and a version is current from its updated_at (valid_from), so the
    versions current on or before any D are a prefix of that order: the first version that
    shows an event among them is this one when it became current by D, and there is none
    otherwise. Nothing here depends on D.

    Incremental (macros/incremental.sql): a build recomputes only the deals with a version
    loaded since the last build (source_load_id: the deal's latest load), from all their
    versions. Every deal is recomputed when the fx_rates seed changes (amount_usd comes from
    it), when the SQL of this model or of a model upstream of it changes, and with
    `dbt build --full-refresh`. On Spark, a table rebuilt in full by every build. -#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='deal_id',
    on_schema_change='sync_all_columns',
) }}
with fingerprint as (
    select {{ build_fingerprint(['fx_rates']) }} as build_fingerprint
),

{% if is_incremental() %}
previous as (
    {{ previous_build() }}
),

changed as (
    select distinct history.deal_id
    from {{ ref('stg_deals_history') }} as history
    cross join previous
    where previous.rebuild or history.load_id > previous.load_id
),
{% endif %}

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
    {% if is_incremental() %}
    inner join changed on history.deal_id = changed.deal_id
    {% endif %}
),

deal_loads as (
    select deal_id, max(load_id) as source_load_id from versions group by deal_id
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
-- lost. One pass over the versions, one window.
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
        firsts.event,
        firsts.partner_id,
        firsts.is_partner_deal,
        firsts.account_country,
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
        end as amount_usd,
        firsts.valid_on
    from firsts
    left join fx
        on firsts.currency = fx.currency
        and {{ deal_fx_month('firsts.closed_on', 'firsts.registered_on', 'firsts.updated_at') }}
        = fx.fx_month
    where firsts.nth = 1
),

final as (
    select
        events.deal_id,
        events.event,
        events.partner_id,
        events.is_partner_deal,
        events.account_country,
        events.event_on,
        {{ month_start('events.event_on') }} as event_month,
        events.registered_on,
        events.closed_on,
        events.amount_usd,
        events.valid_on,
        deal_loads.source_load_id,
        fingerprint.build_fingerprint
    from events
    inner join deal_loads on events.deal_id = deal_loads.deal_id
    cross join fingerprint
)

select * from final
