{#- Each account's first won deal ever, over all sources: earliest closed_on, then the
    smallest deal_id (SPEC §5 new customer).

    Incremental (macros/incremental.sql): nothing here depends on D, so a build recomputes only
    the accounts of the deals that int_deals recomputed since the last build, and the accounts
    whose first won deal was one of those deals (it may have moved to another account or stopped
    being won). An account left without a won deal loses its row. Every account is recomputed
    when the partner_types or partner_type_aliases seed changes (partner_type comes from them),
    when the SQL of this model or of a model upstream of it changes, and with
    `dbt build --full-refresh`. On Spark, a table rebuilt in full by every build. -#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='account_id',
    on_schema_change='sync_all_columns',
    post_hook="{% if is_incremental() %}delete from {{ this }} where first_deal_id is null{% endif %}",
) }}
with deals as (
    select * from {{ ref('int_deals') }}
),

fingerprint as (
    select {{ build_fingerprint(['partner_types', 'partner_type_aliases']) }} as build_fingerprint
),

{% if is_incremental() %}
previous as (
    {{ previous_build() }}
),

changed_deals as (
    select deals.deal_id, deals.account_id
    from deals
    cross join previous
    where previous.rebuild or deals.source_load_id > previous.load_id
),

-- the accounts whose first win may have changed
touched as (
    select account_id from changed_deals
    union
    select first_wins.account_id
    from {{ this }} as first_wins
    inner join changed_deals on first_wins.first_deal_id = changed_deals.deal_id
    union
    select first_wins.account_id
    from {{ this }} as first_wins
    cross join previous
    where previous.rebuild
),
{% endif %}

won as (
    select
        account_id,
        deal_id,
        closed_on,
        is_partner_deal,
        partner_id,
        partner_type,
        row_number() over (
            partition by account_id order by closed_on, deal_id
        ) as win_rank
    from deals
    where
        is_won
        {% if is_incremental() %}
        and account_id in (select account_id from touched)
        {% endif %}
),

firsts as (
    select
        account_id,
        deal_id as first_deal_id,
        closed_on as first_won_on,
        is_partner_deal,
        partner_id,
        partner_type
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
        -- a touched account without a won deal: a row without first_deal_id, which the
        -- post-hook deletes once it has replaced the account's row
        touched.account_id,
        {%- else -%}
        firsts.account_id,
        {%- endif %}
        firsts.first_deal_id,
        firsts.first_won_on,
        firsts.is_partner_deal,
        firsts.partner_id,
        firsts.partner_type,
        loads.source_load_id,
        fingerprint.build_fingerprint
    {% if is_incremental() -%}
    from touched
    left join firsts on touched.account_id = firsts.account_id
    {%- else -%}
    from firsts
    {%- endif %}
    cross join loads
    cross join fingerprint
)

select * from final
