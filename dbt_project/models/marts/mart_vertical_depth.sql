with verticals as (
    select lower(trim(vertical_code)) as vertical from {{ ref('verticals') }}
    union
    select vertical from {{ ref('int_market_cells') }}
),

cells as (
    select vertical, sum(addressable_revenue_usd) as addressable_revenue_usd
    from {{ ref('int_market_cells') }}
    group by vertical
),

qualified as (
    select partner_id from {{ ref('int_partner_status') }} where is_qualified
),

specialist_certifications as (
    select certifications.vertical, certifications.partner_id, certifications.person_id
    from {{ ref('int_certifications') }} as certifications
    inner join qualified on certifications.partner_id = qualified.partner_id
    where certifications.is_valid and certifications.vertical is not null
),

depth as (
    select
        vertical,
        count(distinct partner_id) as specialist_partners,
        count(distinct {{ dbt.concat(['partner_id', "'|'", 'person_id']) }}) as specialist_capacity
    from specialist_certifications
    group by vertical
),

final as (
    select
        verticals.vertical,
        coalesce(depth.specialist_partners, 0) as specialist_partners,
        coalesce(depth.specialist_capacity, 0) as specialist_capacity,
        {{ as_double('coalesce(cells.addressable_revenue_usd, 0)') }} as addressable_revenue_usd
    from verticals
    left join depth on verticals.vertical = depth.vertical
    left join cells on verticals.vertical = cells.vertical
)

select * from final
