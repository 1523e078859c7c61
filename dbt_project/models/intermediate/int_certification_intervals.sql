{#- Every certification (one row per certified individual and track, as in
    stg_certifications) with its validity interval [earned_on, expires_on): nothing here
    depends on D. int_certifications adds whether it is valid at D.

    Incremental (macros/incremental.sql): a build recomputes only the certifications whose raw
    row was loaded since the last build; all of them when the SQL of this model or of a model
    upstream of it changes, and with `dbt build --full-refresh`. Raw rows are never deleted, so
    neither are these. On Spark, a table rebuilt in full by every build. -#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='certification_id',
    on_schema_change='sync_all_columns',
) }}
with fingerprint as (
    select {{ build_fingerprint() }} as build_fingerprint
),

{% if is_incremental() %}
previous as (
    {{ previous_build() }}
),
{% endif %}

-- the load that wrote each raw row: staging leaves the lineage columns out
certification_loads as (
    select certification_id, _load_id as load_id from {{ source('raw', 'certifications') }}
),

certifications as (
    select
        stg_certifications.*,
        certification_loads.load_id as source_load_id
    from {{ ref('stg_certifications') }} as stg_certifications
    left join certification_loads
        on stg_certifications.certification_id = certification_loads.certification_id
    {% if is_incremental() %}
    cross join previous
    where previous.rebuild or certification_loads.load_id > previous.load_id
    {% endif %}
),

final as (
    select
        certifications.certification_id,
        certifications.partner_id,
        certifications.person_id,
        certifications.track,
        certifications.vertical,
        certifications.certification_level,
        certifications.earned_on,
        certifications.expires_on,
        certifications.updated_at,
        certifications.source_file,
        certifications.source_load_id,
        fingerprint.build_fingerprint
    from certifications
    cross join fingerprint
)

select * from final
