{#- Certifications with their validity at D: earned_on <= D and (expires_on null or > D). A
    view over the intervals of int_certification_intervals (incremental), so that only this
    flag, the part that depends on D, is computed again for each D. -#}
{{ config(materialized='view') }}
with certifications as (
    select * from {{ ref('int_certification_intervals') }}
),

params as (
    select * from {{ ref('int_params') }}
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
        (
            certifications.earned_on <= params.as_of_date
            and (certifications.expires_on is null or certifications.expires_on > params.as_of_date)
        ) as is_valid
    from certifications
    cross join params
)

select * from final
