{#- Partner activation by enrolment cohort (month of enrolled_on) and partner type: how long
    partners take from enrolment to their first registered partner deal and their first win,
    and the share that registered a deal within 90 days. One row per cohort month (from the
    first enrolment month to D's month) and partner type, even when the cohort is empty. -#}
with params as (
    select * from {{ ref('int_params') }}
),

types as (
    select lower(trim(partner_type)) as partner_type from {{ ref('partner_types') }}
),

partners as (
    select partners.partner_id, partners.partner_type, partners.enrolled_on
    from {{ ref('int_partners') }} as partners
    cross join params
    where partners.enrolled_on <= params.as_of_date
),

first_deals as (
    select deals.partner_id, min(deals.registered_on) as first_deal_on
    from {{ ref('int_deals') }} as deals
    cross join params
    where deals.is_partner_deal and deals.registered_on <= params.as_of_date
    group by deals.partner_id
),

first_wins as (
    select first_wins.partner_id, first_wins.first_win_on
    from {{ ref('int_partner_first_wins') }} as first_wins
    cross join params
    where first_wins.first_win_on <= params.as_of_date
),

cohort_partners as (
    select
        partners.partner_type,
        {{ month_start('partners.enrolled_on') }} as cohort_month,
        {{ days_between('partners.enrolled_on', 'first_deals.first_deal_on') }}
            as days_to_first_deal,
        {{ days_between('partners.enrolled_on', 'first_wins.first_win_on') }}
            as days_to_first_win
    from partners
    left join first_deals on partners.partner_id = first_deals.partner_id
    left join first_wins on partners.partner_id = first_wins.partner_id
),

bounds as (
    select min(cohort_partners.cohort_month) as first_month, {{ month_start('params.as_of_date') }} as last_month
    from cohort_partners
    cross join params
    group by params.as_of_date
),

offsets as (
    {{ dbt.generate_series(1200) }}
),

months as (
    select {{ add_months('bounds.first_month', 'offsets.generated_number - 1') }} as cohort_month
    from bounds
    cross join offsets
    where {{ add_months('bounds.first_month', 'offsets.generated_number - 1') }}
        <= bounds.last_month
),

measures as (
    select
        partner_type,
        cohort_month,
        count(*) as partners,
        count(days_to_first_deal) as partners_with_deal,
        {{ median('days_to_first_deal') }} as median_days_to_first_deal,
        {{ percentile('days_to_first_deal', 0.9) }} as p90_days_to_first_deal,
        count(days_to_first_win) as partners_with_win,
        {{ median('days_to_first_win') }} as median_days_to_first_win,
        {{ percentile('days_to_first_win', 0.9) }} as p90_days_to_first_win,
        sum(case when days_to_first_deal <= 90 then 1 else 0 end) as activated_within_90_days
    from cohort_partners
    group by partner_type, cohort_month
),

final as (
    select
        months.cohort_month,
        types.partner_type,
        -- every partner of the cohort had 90 days by D: the month's last day + 90 <= D
        {{ add_days(month_end('months.cohort_month'), '90') }} <= params.as_of_date
            as is_cohort_90_days_old,
        cast(coalesce(measures.partners, 0) as {{ dbt.type_bigint() }}) as partners,
        cast(coalesce(measures.partners_with_deal, 0) as {{ dbt.type_bigint() }})
            as partners_with_deal,
        {{ as_double('measures.median_days_to_first_deal') }} as median_days_to_first_deal,
        {{ as_double('measures.p90_days_to_first_deal') }} as p90_days_to_first_deal,
        cast(coalesce(measures.partners_with_win, 0) as {{ dbt.type_bigint() }})
            as partners_with_win,
        {{ as_double('measures.median_days_to_first_win') }} as median_days_to_first_win,
        {{ as_double('measures.p90_days_to_first_win') }} as p90_days_to_first_win,
        case
            when {{ add_days(month_end('months.cohort_month'), '90') }} <= params.as_of_date
                then cast(coalesce(measures.activated_within_90_days, 0) as {{ dbt.type_bigint() }})
        end as activated_within_90_days,
        case
            when {{ add_days(month_end('months.cohort_month'), '90') }} <= params.as_of_date
                then {{ safe_divide('measures.activated_within_90_days', 'measures.partners') }}
        end as activation_rate_90_days
    from months
    cross join types
    cross join params
    left join measures
        on months.cohort_month = measures.cohort_month
        and types.partner_type = measures.partner_type
)

{{ select_with_labels('final', ['partner_type']) }}
