with params as (
    select * from {{ ref('int_params') }}
),

coverage as (
    select
        cast(sum(targeted_accounts) as {{ dbt.type_bigint() }}) as targeted_accounts,
        cast(sum(covered_accounts) as {{ dbt.type_bigint() }}) as covered_accounts
    from {{ ref('mart_coverage_by_segment') }}
),

tam as (
    -- back to the seed's exact decimal: a sum of doubles is not reproducible
    select sum(cast(addressable_revenue_usd as decimal(18, 2))) as targeted_addressable_revenue_usd
    from {{ ref('mart_coverage_cells') }}
    where is_targeted
),

productivity as (
    select
        cast(sum(enrolled_partners) as {{ dbt.type_bigint() }}) as enrolled_partners,
        cast(sum(active_partners) as {{ dbt.type_bigint() }}) as active_partners,
        sum(partner_revenue_usd) as partner_revenue_usd,
        sum(partner_sourced_revenue_usd) as partner_sourced_revenue_usd,
        sum(investment_usd) as investment_usd,
        cast(sum(new_customers) as {{ dbt.type_bigint() }}) as new_customers,
        cast(max(all_new_customers) as {{ dbt.type_bigint() }}) as all_new_customers
    from {{ ref('int_productivity_periods') }}
    where is_as_of
),

qualified as (
    select cast(sum(case when is_qualified then 1 else 0 end) as {{ dbt.type_bigint() }}) as qualified_partners
    from {{ ref('int_partner_status') }}
),

alignment as (
    select
        max(composition_alignment_score) as composition_alignment_score,
        max(investment_alignment_score) as investment_alignment_score
    from {{ ref('mart_execution_alignment') }}
),

investment_mix as (
    select max(category_alignment_score) as investment_mix_alignment_score
    from {{ ref('mart_investment_allocation') }}
),

program as (
    {{ program_design_counts() }}
),

fit as (
    select
        {{ growth_stage_fit_counts() }}
    from {{ ref('mart_growth_stage_fit') }}
),

parts as (
    select
        {{ safe_divide('fit.non_avoid_partners', 'fit.enrolled_partners') }}
            as non_avoid_partner_share,
        {{ safe_divide('fit.active_core_types', 'fit.core_types') }} as core_types_active_share,
        investment_mix.investment_mix_alignment_score
    from fit
    cross join investment_mix
),

final as (
    select
        params.as_of_date,
        params.window_start,
        params.window_days,
        params.vendor_name,
        params.growth_stage,
        {{ scorecard_figures() }}
    from params
    cross join coverage
    cross join tam
    cross join productivity
    cross join qualified
    cross join alignment
    cross join program
    cross join parts
)

select * from final
