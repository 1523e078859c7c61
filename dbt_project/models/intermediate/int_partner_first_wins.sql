{#- Each partner's first won partner deal (earliest closed_on, then the smallest deal_id), over
    all time.

    Incremental (macros/incremental.sql): nothing here depends on D, so a build recomputes only
    the partners of the deals that int_deals recomputed since the last build, and the partners
    whose first win was one of those deals (it may have moved to another partner or stopped
    being a won partner deal). A partner left without a won partner deal loses its row. Every
    partner is recomputed when the SQL of this model or of a model upstream of it changes, and
    with `dbt build --full-refresh`. On Spark, a table rebuilt in full by every build. -#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='partner_id',
    on_schema_change='sync_all_columns',
    post_hook="{% if is_incremental() %}delete from {{ this }} where first_win_on is null{% endif %}",
) }}
with deals as (
    select * from {{ ref('int_deals') }}
),

fingerprint as (
    select {{ build_fingerprint() }} as build_fingerprint
),

{% if is_incremental() %}
previous as (
    {{ previous_build(required=['first_win_deal_id']) }}
),

changed_deals as (
    select deals.deal_id, deals.partner_id
    from deals
    cross join previous
    where previous.rebuild or deals.source_load_id > previous.load_id
),

-- the partners whose first win may have changed
touched as (
    select partner_id from changed_deals where partner_id is not null
    {% if not missing_columns(['first_win_deal_id']) -%}
    union
    select first_wins.partner_id
    from {{ this }} as first_wins
    inner join changed_deals on first_wins.first_win_deal_id = changed_deals.deal_id
    {%- endif %}
    union
    select first_wins.partner_id
    from {{ this }} as first_wins
    cross join previous
    where previous.rebuild
),
{% endif %}

won as (
    select
        partner_id,
        deal_id,
        closed_on,
        row_number() over (partition by partner_id order by closed_on, deal_id) as win_rank
    from deals
    where
        is_partner_deal
        and is_won
        {% if is_incremental() %}
        and partner_id in (select partner_id from touched)
        {% endif %}
),

firsts as (
    select partner_id, closed_on as first_win_on, deal_id as first_win_deal_id
    from won
    where win_rank = 1
),

-- the latest load int_deals reflects, which this build takes into account
loads as (
    select max(source_load_id) as source_load_id from deals
),

final as (
    select
        {% if is_incremental() -%}
        -- a touched partner without a won partner deal: a row without first_win_on, which
        -- the post-hook deletes once it has replaced the partner's row
        touched.partner_id,
        {%- else -%}
        firsts.partner_id,
        {%- endif %}
        firsts.first_win_on,
        firsts.first_win_deal_id,
        loads.source_load_id,
        fingerprint.build_fingerprint
    {% if is_incremental() -%}
    from touched
    left join firsts on touched.partner_id = firsts.partner_id
    {%- else -%}
    from firsts
    {%- endif %}
    cross join loads
    cross join fingerprint
)

select * from final
