with cells as (
    select * from {{ ref('mart_coverage_cells') }}
),

segments as (
    select distinct segment from cells
),

targeted as (
    select
        segment,
        cast(sum(addressable_accounts) as {{ dbt.type_bigint() }}) as targeted_accounts,
        cast(sum(case when is_covered then addressable_accounts else 0 end) as {{ dbt.type_bigint() }})
            as covered_accounts,
        sum(addressable_accounts * cast(target_coverage_pct as decimal(9, 6))) as weighted_target
    from cells
    where is_targeted
    group by segment
),

final as (
    select
        segments.segment,
        coalesce(targeted.targeted_accounts, 0) as targeted_accounts,
        coalesce(targeted.covered_accounts, 0) as covered_accounts,
        {{ safe_divide('targeted.covered_accounts', 'targeted.targeted_accounts') }}
            as coverage_pct,
        {{ safe_divide('targeted.weighted_target', 'targeted.targeted_accounts') }}
            as target_coverage_pct,
        {{ safe_divide('targeted.weighted_target', 'targeted.targeted_accounts') }}
        - {{ safe_divide('targeted.covered_accounts', 'targeted.targeted_accounts') }}
            as coverage_gap_pct
    from segments
    left join targeted on segments.segment = targeted.segment
)

{{ select_with_labels('final', ['segment']) }}
