{#- Certifications with their validity at D: earned_on <= D and (expires_on null or > D). -#}
with certifications as (
    select * from {{ ref('stg_certifications') }}
),

params as (
    select * from {{ ref('int_params') }}
),

final as (
    select
        certifications.*,
        (
            certifications.earned_on <= params.as_of_date
            and (certifications.expires_on is null or certifications.expires_on > params.as_of_date)
        ) as is_valid
    from certifications
    cross join params
)

select * from final
