{#- The as-of dates whose history this run computes (SPEC §10), one row per day: D alone on a
    nightly refresh, the range [history_from, history_to] on a backfill (macros/history.sql). -#}
{{ config(tags=['history']) }}
{%- set range = history_range() %}
with offsets as (
    {{ dbt.generate_series(range[2]) }}
),

final as (
    select
        {{ add_days("cast('" ~ range[0] ~ "' as date)", 'offsets.generated_number - 1') }}
            as as_of_date
    from offsets
)

select * from final
