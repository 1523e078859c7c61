{#- The headline figures of mart_strategy_scorecard for every as-of date of the history (SPEC
    §10), each computed from the versions current at the end of that date with D = that date.
    Incremental: a run replaces the dates it computes (D on a nightly refresh, the range on a
    backfill) and keeps every other date as it was published. -#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
    tags=['history'],
) }}
with params as (
    select * from {{ ref('int_params') }}
),

dates as (
    select * from {{ ref('int_history_dates') }}
),

types as (
    select lower(trim(partner_type)) as partner_type from {{ ref('partner_types') }}
),

partner_days as (
    select * from {{ ref('int_history_partner_days') }}
),

-- the partner-type figures of the same run's dates
type_history as (
    select history.*
    from {{ ref('mart_partner_type_history') }} as history
    inner join dates on history.as_of_date = dates.as_of_date
),

coverage as (
    select
        as_of_date,
        cast(sum(addressable_accounts) as {{ dbt.type_bigint() }}) as targeted_accounts,
        cast(sum(case when is_covered then addressable_accounts else 0 end) as {{ dbt.type_bigint() }})
            as covered_accounts
    from {{ ref('int_history_coverage') }}
    group by as_of_date
),

tam as (
    -- the seed's exact decimal, as in mart_strategy_scorecard
    select sum(cast(addressable_revenue_usd as decimal(18, 2))) as targeted_addressable_revenue_usd
    from {{ ref('int_market_cells') }}
    where is_targeted
),

typed_days as (
    select partner_days.*
    from partner_days
    inner join types on partner_days.partner_type = types.partner_type
),

partner_figures as (
    select
        as_of_date,
        cast(sum(case when is_enrolled then 1 else 0 end) as {{ dbt.type_bigint() }})
            as enrolled_partners,
        cast(sum(case when is_active then 1 else 0 end) as {{ dbt.type_bigint() }})
            as active_partners,
        sum(partner_revenue_usd) as partner_revenue_usd,
        sum(partner_sourced_revenue_usd) as partner_sourced_revenue_usd,
        sum(investment_usd) as investment_usd
    from typed_days
    group by as_of_date
),

productivity as (
    select
        dates.as_of_date,
        coalesce(partner_figures.enrolled_partners, 0) as enrolled_partners,
        coalesce(partner_figures.active_partners, 0) as active_partners,
        coalesce(partner_figures.partner_revenue_usd, 0) as partner_revenue_usd,
        coalesce(partner_figures.partner_sourced_revenue_usd, 0) as partner_sourced_revenue_usd,
        coalesce(partner_figures.investment_usd, 0) as investment_usd,
        cast(new_customers.new_customers as {{ dbt.type_bigint() }}) as new_customers,
        cast(new_customers.all_new_customers as {{ dbt.type_bigint() }}) as all_new_customers
    from dates
    left join partner_figures on dates.as_of_date = partner_figures.as_of_date
    inner join {{ ref('int_history_new_customers') }} as new_customers
        on dates.as_of_date = new_customers.as_of_date
),

qualified as (
    select
        dates.as_of_date,
        cast(count(partner_days.partner_id) as {{ dbt.type_bigint() }}) as qualified_partners
    from dates
    left join partner_days
        on dates.as_of_date = partner_days.as_of_date
        and partner_days.is_qualified
    group by dates.as_of_date
),

type_targets as (
    select
        lower(trim(partner_type)) as partner_type,
        target_partner_share,
        target_investment_share
    from {{ ref('strategy_targets') }}
),

type_alignment as (
    select
        type_history.as_of_date,
        {{ alignment_score(
            'type_history.actual_partner_share',
            'coalesce(type_targets.target_partner_share, 0)',
            'type_history.as_of_date'
        ) }} as composition_alignment_score,
        {{ alignment_score(
            'type_history.actual_investment_share',
            'coalesce(type_targets.target_investment_share, 0)',
            'type_history.as_of_date'
        ) }} as investment_alignment_score
    from type_history
    left join type_targets on type_history.partner_type = type_targets.partner_type
),

alignment as (
    select
        as_of_date,
        max(composition_alignment_score) as composition_alignment_score,
        max(investment_alignment_score) as investment_alignment_score
    from type_alignment
    group by as_of_date
),

program as (
    {{ program_design_counts() }}
),

playbook as (
    select
        lower(trim(playbook.partner_type)) as partner_type,
        lower(trim(playbook.role)) as role
    from {{ ref('growth_stage_playbook') }} as playbook
    cross join params
    where lower(trim(playbook.growth_stage)) = params.growth_stage
),

fit as (
    select
        type_history.as_of_date,
        {{ growth_stage_fit_counts() }}
    from type_history
    left join playbook on type_history.partner_type = playbook.partner_type
    group by type_history.as_of_date
),

category_targets as (
    select
        lower(trim(targets.investment_category)) as investment_category,
        targets.target_share
    from {{ ref('investment_targets') }} as targets
    cross join params
    where lower(trim(targets.growth_stage)) = params.growth_stage
),

category_investment as (
    select * from {{ ref('int_history_investment') }}
),

category_totals as (
    select as_of_date, sum(investment_usd) as investment_usd
    from category_investment
    group by as_of_date
),

category_alignment as (
    select
        category_investment.as_of_date,
        {{ alignment_score(
            safe_divide('category_investment.investment_usd', 'category_totals.investment_usd'),
            'coalesce(category_targets.target_share, 0)',
            'category_investment.as_of_date'
        ) }} as category_alignment_score
    from category_investment
    inner join category_totals on category_investment.as_of_date = category_totals.as_of_date
    left join category_targets
        on category_investment.investment_category = category_targets.investment_category
),

investment_mix as (
    select as_of_date, max(category_alignment_score) as investment_mix_alignment_score
    from category_alignment
    group by as_of_date
),

parts as (
    select
        fit.as_of_date,
        {{ safe_divide('fit.non_avoid_partners', 'fit.enrolled_partners') }}
            as non_avoid_partner_share,
        {{ safe_divide('fit.active_core_types', 'fit.core_types') }} as core_types_active_share,
        investment_mix.investment_mix_alignment_score
    from fit
    inner join investment_mix on fit.as_of_date = investment_mix.as_of_date
),

final as (
    select
        dates.as_of_date,
        {{ add_days('dates.as_of_date', '-1 * params.window_days') }} as window_start,
        params.window_days,
        params.vendor_name,
        params.growth_stage,
        {{ scorecard_figures() }}
    from dates
    cross join params
    cross join tam
    cross join program
    left join coverage on dates.as_of_date = coverage.as_of_date
    inner join productivity on dates.as_of_date = productivity.as_of_date
    inner join qualified on dates.as_of_date = qualified.as_of_date
    inner join alignment on dates.as_of_date = alignment.as_of_date
    inner join parts on dates.as_of_date = parts.as_of_date
)

select * from final
