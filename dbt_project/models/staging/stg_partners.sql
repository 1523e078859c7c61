with source as (
    select * from {{ source('raw', 'partners') }}
),

renamed as (
    select
        partner_id,
        partner_name,
        -- lower-cased canonical type or alias; resolved against the alias seed in int_partners
        partner_type as partner_type_code,
        tier,
        program_status,
        coalesce(is_strategic, false) as is_strategic,
        hq_country,
        countries_served,
        segments_served,
        verticals_served,
        applied_on,
        enrolled_on,
        terminated_on,
        updated_at,
        _source_file as source_file
    from source
)

select * from renamed
