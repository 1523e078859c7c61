{#- Partners with their canonical type, region, served markets and capacity at D. Their
    enrolled/active/qualified status at D is in int_partner_status. -#}
with partners as (
    select * from {{ ref('stg_partners') }}
),

types as (
    select * from {{ ref('int_partner_types') }}
),

countries as (
    select upper(trim(country_code)) as country_code, region from {{ ref('countries') }}
),

capacity as (
    select
        partner_id,
        count(distinct person_id) as capacity
    from {{ ref('int_certifications') }}
    where is_valid
    group by partner_id
),

final as (
    select
        partners.partner_id,
        partners.partner_name,
        types.partner_type,
        partners.partner_type_code,
        partners.tier,
        partners.program_status,
        partners.is_strategic,
        partners.hq_country,
        countries.region,
        -- countries_served empty means the HQ country only (SPEC §3)
        coalesce(partners.countries_served, partners.hq_country) as countries_served,
        partners.segments_served,
        partners.verticals_served,
        -- verticals_served empty means a generalist (SPEC §3)
        (partners.verticals_served is null) as is_generalist,
        partners.applied_on,
        partners.enrolled_on,
        partners.terminated_on,
        coalesce(capacity.capacity, 0) as capacity
    from partners
    left join types on partners.partner_type_code = types.type_code
    left join countries on partners.hq_country = countries.country_code
    left join capacity on partners.partner_id = capacity.partner_id
)

select * from final
