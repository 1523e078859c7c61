with source as (
    select * from {{ source('raw', 'partners_history') }}
),

renamed as (
    select
        partner_id,
        -- lower-cased canonical type or alias; resolved against the alias seed downstream
        partner_type as partner_type_code,
        program_status,
        hq_country,
        enrolled_on,
        terminated_on,
        updated_at,
        valid_from,
        valid_to,
        _source_file as source_file,
        _source_row as source_row,
        _load_id as load_id
    from source
)

select * from renamed
