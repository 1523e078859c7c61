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

versions as (
    select
        history.partner_id,
        history.partner_type_code,
        history.hq_country,
        cast(history.valid_from as date) as valid_on,
        row_number() over (
            partition by history.partner_id, cast(history.valid_from as date)
            order by
                history.updated_at desc,
                history.source_file desc,
                history.load_id desc,
                history.source_row desc
        ) as last_of_day,
        min(cast(history.valid_from as date)) over (partition by history.partner_id) as first_on
    from {{ ref('stg_partners_history') }} as history
),

days as (
    select
        versions.partner_id,
        versions.partner_type_code,
        versions.hq_country,
        versions.valid_on,
        row_number() over (
            partition by versions.partner_id order by versions.valid_on
        ) as day_number,
        lead(versions.valid_on) over (
            partition by versions.partner_id order by versions.valid_on
        ) as next_valid_on
    from versions
    cross join params
    where versions.last_of_day = 1
        and (versions.valid_on <= params.as_of_date or versions.valid_on = versions.first_on)
),

final as (
    select
        days.partner_id,
        types.partner_type,
        coalesce(countries.region, 'unknown') as region,
        case when days.day_number > 1 then days.valid_on end as valid_from_on,
        days.next_valid_on as valid_to_on
    from days
    left join types on days.partner_type_code = types.type_code
    left join countries on upper(trim(days.hq_country)) = countries.country_code
)

select * from final
