{#- Each partner's type and HQ region day by day, from its version history (SPEC §10): one row
    per partner and day on which a version became current (the day's last version), with the
    days [valid_from_on, valid_to_on) on which it was the partner's state at the end of the day.
    Only versions current on or before D count, except a partner's first version when every
    version is later than D. The first row also stands for the days before it (valid_from_on
    null): a partner's first extract describes it as it was when it joined. -#}
with params as (
    select * from {{ ref('int_params') }}
),

types as (
    select * from {{ ref('int_partner_types') }}
),

countries as (
    select upper(trim(country_code)) as country_code, region from {{ ref('countries') }}
),

days as (
    {{ day_versions(ref('stg_partners_history'), 'partner_id') }}
),

firsts as (
    select
        days.*,
        min(days.valid_on) over (partition by days.partner_id) as first_on
    from days
),

final as (
    select
        firsts.partner_id,
        types.partner_type,
        coalesce(countries.region, 'unknown') as region,
        case when firsts.valid_on > firsts.first_on then firsts.valid_on end as valid_from_on,
        case when firsts.next_valid_on <= params.as_of_date then firsts.next_valid_on end
            as valid_to_on
    from firsts
    cross join params
    left join types on firsts.partner_type_code = types.type_code
    left join countries on upper(trim(firsts.hq_country)) = countries.country_code
    where firsts.valid_on <= params.as_of_date or firsts.valid_on = firsts.first_on
)

select * from final
