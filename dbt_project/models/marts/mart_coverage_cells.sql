with cells as (
    select * from {{ ref('int_market_cells') }}
),

covering as (
    select
        country_code,
        segment,
        vertical,
        count(*) as covering_partners,
        cast(sum(capacity) as {{ dbt.type_bigint() }}) as covering_capacity
    from {{ ref('int_coverage_partner_cells') }}
    group by country_code, segment, vertical
),

final as (
    select
        cells.country_code,
        cells.segment,
        cells.vertical,
        cells.region,
        cells.coverage_model,
        cells.is_targeted,
        cells.addressable_accounts,
        {{ as_double('cells.addressable_revenue_usd') }} as addressable_revenue_usd,
        {{ as_double('cells.target_coverage_pct') }} as target_coverage_pct,
        coalesce(covering.covering_partners, 0) as covering_partners,
        coalesce(covering.covering_capacity, 0) as covering_capacity,
        coalesce(covering.covering_partners, 0) > 0 as is_covered
    from cells
    left join covering
        on cells.country_code = covering.country_code
        and cells.segment = covering.segment
        and cells.vertical = covering.vertical
)

{{ select_with_labels('final', ['segment', 'region']) }}
