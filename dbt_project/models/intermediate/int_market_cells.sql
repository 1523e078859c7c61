{#- The market cells of the market_segments seed (country x segment x vertical), with region. -#}
with cells as (
    select
        upper(trim(country_code)) as country_code,
        lower(trim(segment)) as segment,
        lower(trim(vertical)) as vertical,
        addressable_accounts,
        addressable_revenue_usd,
        lower(trim(coverage_model)) as coverage_model,
        target_coverage_pct
    from {{ ref('market_segments') }}
),

countries as (
    select upper(trim(country_code)) as country_code, region from {{ ref('countries') }}
),

final as (
    select
        cells.country_code,
        cells.segment,
        cells.vertical,
        countries.region,
        cells.coverage_model,
        cells.coverage_model <> 'direct' as is_targeted,
        cells.addressable_accounts,
        cells.addressable_revenue_usd,
        cells.target_coverage_pct
    from cells
    left join countries on cells.country_code = countries.country_code
)

select * from final
