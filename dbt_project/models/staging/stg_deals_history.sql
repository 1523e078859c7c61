with source as (
    select * from {{ source('raw', 'deals_history') }}
),

renamed as (
    select
        deal_id,
        partner_id,
        deal_source,
        account_country,
        stage,
        registered_on,
        closed_on,
        amount,
        currency,
        updated_at,
        valid_from,
        valid_to,
        _source_file as source_file,
        _source_row as source_row,
        _load_id as load_id
    from source
)

select * from renamed
