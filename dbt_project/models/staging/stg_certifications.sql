with source as (
    select * from {{ source('raw', 'certifications') }}
),

renamed as (
    select
        certification_id,
        partner_id,
        person_id,
        track,
        vertical,
        level as certification_level,
        earned_on,
        expires_on,
        updated_at,
        _source_file as source_file
    from source
)

select * from renamed
