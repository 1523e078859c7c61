{#- Which qualified partner covers which market cell (SPEC §5 covers): the country is served,
    the segment is served, and the vertical is served or the partner is a generalist. -#}
with partners as (
    select partner_id, capacity, is_generalist
    from {{ ref('int_partner_status') }}
    where is_qualified
),

footprint as (
    select * from {{ ref('int_partner_footprint') }}
),

cells as (
    select country_code, segment, vertical from {{ ref('int_market_cells') }}
),

countries as (
    select partner_id, code as country_code from footprint where dimension = 'country'
),

segments as (
    select partner_id, code as segment from footprint where dimension = 'segment'
),

verticals as (
    select partner_id, code as vertical from footprint where dimension = 'vertical'
),

final as (
    select
        cells.country_code,
        cells.segment,
        cells.vertical,
        partners.partner_id,
        partners.capacity
    from cells
    inner join countries on cells.country_code = countries.country_code
    inner join partners on countries.partner_id = partners.partner_id
    inner join segments
        on partners.partner_id = segments.partner_id
        and cells.segment = segments.segment
    left join verticals
        on partners.partner_id = verticals.partner_id
        and cells.vertical = verticals.vertical
    where partners.is_generalist or verticals.partner_id is not null
)

select * from final
