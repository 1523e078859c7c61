{{ config(tags=['history']) }}
with source as (
    select * from {{ source('raw', 'certifications_history') }}
),

renamed as (
    select
        certification_id,
        partner_id,
        person_id,
        earned_on,
        expires_on,
        {{ version_columns() }}
    from source
)

select * from renamed
