{{ config(tags=['history']) }}
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
        {{ version_columns() }}
    from source
)

select * from renamed
