{#- The markets each partner serves, one row per partner and served country, segment or
    vertical (lists exploded, duplicates removed). Countries default to the HQ country. -#}
with partners as (
    select partner_id, countries_served, segments_served, verticals_served
    from {{ ref('int_partners') }}
),

exploded as (
    select partner_id, 'country' as dimension, {{ explode_list('countries_served') }} as code
    from partners
    where countries_served is not null
    union all
    select partner_id, 'segment' as dimension, {{ explode_list('segments_served') }} as code
    from partners
    where segments_served is not null
    union all
    select partner_id, 'vertical' as dimension, {{ explode_list('verticals_served') }} as code
    from partners
    where verticals_served is not null
),

final as (
    select distinct partner_id, dimension, code
    from exploded
)

select * from final
