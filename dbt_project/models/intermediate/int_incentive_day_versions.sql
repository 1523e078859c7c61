{#- Each incentive's day versions (macros/history.sql day_versions): per day on which a version of
    the incentive became current, the day's last version, with next_valid_on. Nothing here depends on
    D. Incremental (macros/history.sql day_versions_model): a build recomputes the incentives with a
    version loaded since the last one; all of them when the SQL changes, and with
    `dbt build --full-refresh`. On Spark, a table rebuilt in full by every build. -#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='incentive_id',
    on_schema_change='sync_all_columns',
    tags=['history'],
) }}
{{ day_versions_model('stg_incentives_history', 'incentive_id') }}
