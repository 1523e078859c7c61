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
        updated_at,
        valid_from,
        valid_to,
        _source_file as source_file,
        _source_row as source_row,
        _load_id as load_id
    from source
)

select * from renamed
