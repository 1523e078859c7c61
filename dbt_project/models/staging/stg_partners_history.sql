{{ config(tags=['history']) }}
with source as (
    select * from {{ source('raw', 'partners_history') }}
),

renamed as (
    select
        partner_id,
        -- lower-cased canonical type or alias; resolved against the alias seed downstream
        partner_type as partner_type_code,
        program_status,
        coalesce(is_strategic, false) as is_strategic,
        hq_country,
        countries_served,
        segments_served,
        verticals_served,
        enrolled_on,
        terminated_on,
        {{ version_columns() }}
    from source
)

select * from renamed
