{#- The parameters of every as-of figure, in one row: D, W and the window (D - W, D]. -#}
with profile as (
    select * from {{ ref('vendor_profile') }}
),

params as (
    select
        {{ as_of_date() }} as as_of_date,
        cast(coalesce(
            {{ activity_window_days() }},
            profile.activity_window_days,
            365
        ) as integer) as window_days,
        lower(trim(profile.growth_stage)) as growth_stage,
        profile.vendor_name,
        upper(trim(profile.reporting_currency)) as reporting_currency
    from profile
),

final as (
    select
        as_of_date,
        window_days,
        {{ add_days('as_of_date', '-1 * window_days') }} as window_start,
        growth_stage,
        vendor_name,
        reporting_currency
    from params
)

select * from final
