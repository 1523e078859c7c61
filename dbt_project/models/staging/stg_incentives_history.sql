with source as (
    select * from {{ source('raw', 'incentives_history') }}
),

renamed as (
    select
        incentive_id,
        partner_id,
        amount,
        currency,
        status,
        approved_on,
        updated_at,
        valid_from,
        valid_to,
        _source_file as source_file,
        _source_row as source_row,
        _load_id as load_id
    from source
)

select * from renamed
