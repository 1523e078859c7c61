with cells as (
    select * from {{ ref('int_market_cells') }}
),

partners as (
    select partner_id, capacity from {{ ref('int_partner_status') }} where is_qualified
),

served_countries as (
    select partner_id, code as country_code
    from {{ ref('int_partner_footprint') }}
    where dimension = 'country'
),

countries as (
    select
        country_code,
        max(region) as region,
        sum(addressable_revenue_usd) as addressable_revenue_usd
    from cells
    group by country_code
),

serving as (
    select
        served_countries.country_code,
        count(*) as qualified_partners,
        cast(sum(partners.capacity) as {{ dbt.type_bigint() }}) as capacity
    from served_countries
    inner join partners on served_countries.partner_id = partners.partner_id
    group by served_countries.country_code
),

final as (
    select
        countries.country_code,
        countries.region,
        {{ as_double('countries.addressable_revenue_usd') }} as addressable_revenue_usd,
        coalesce(serving.qualified_partners, 0) as qualified_partners,
        coalesce(serving.capacity, 0) as capacity,
        {{ safe_divide('coalesce(serving.qualified_partners, 0)', 'countries.addressable_revenue_usd / 100000000.0') }}
            as partners_per_100m_usd,
        {{ safe_divide('coalesce(serving.capacity, 0)', 'countries.addressable_revenue_usd / 100000000.0') }}
            as capacity_per_100m_usd
    from countries
    left join serving on countries.country_code = serving.country_code
)

{{ select_with_labels('final', ['region']) }}
