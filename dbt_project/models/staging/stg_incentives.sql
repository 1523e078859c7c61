with source as (
    select * from {{ source('raw', 'incentives') }}
),

renamed as (
    select
        incentive_id,
        partner_id,
        program,
        amount,
        currency,
        status,
        approved_on,
        paid_on,
        updated_at,
        _source_file as source_file
    from source
)

select * from renamed
