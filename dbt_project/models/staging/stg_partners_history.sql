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
        {{ version_columns() }}
    from source
)

select * from renamed
