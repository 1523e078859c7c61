{{ config(tags=['history']) }}
with source as (
    select * from {{ source('raw', 'deals_history') }}
),

renamed as (
    select
        deal_id,
        partner_id,
        deal_source,
        account_id,
        account_country,
        stage,
        registered_on,
        closed_on,
        amount,
        currency,
        {{ version_columns() }}
    from source
)

select * from renamed
