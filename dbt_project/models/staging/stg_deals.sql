with source as (
    select * from {{ source('raw', 'deals') }}
),

renamed as (
    select
        deal_id,
        partner_id,
        deal_source,
        account_id,
        account_country,
        account_segment,
        account_vertical,
        product_line,
        amount,
        currency,
        stage,
        registered_on,
        closed_on,
        updated_at,
        _source_file as source_file
    from source
)

select * from renamed
