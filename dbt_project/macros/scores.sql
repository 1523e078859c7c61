{#- A value normalised to [0, 1] by its percent rank within its `partition_by` group (a window
    expression): (rank − 1) ÷ (n − 1) over the group's non-null values, ties sharing the lowest
    rank, so the smallest value scores 0 and the largest 1. A group's only value scores 1 when
    it is above 0, else 0. Null when the value is null. -#}
{% macro rank_score(value, partition_by) -%}
    case
        when {{ value }} is null then null
        when count({{ value }}) over (partition by {{ partition_by }}) = 1
            then case when {{ value }} > 0 then 1.0 else 0.0 end
        else percent_rank() over (
            partition by {{ partition_by }}, {{ value }} is null order by {{ value }}
        )
    end
{%- endmacro %}

{#- The headline figures of mart_strategy_scorecard (SPEC §6), the same in
    mart_strategy_history: the select list over the relations coverage, tam, productivity,
    qualified, alignment, program and parts of one as-of date. -#}
{% macro scorecard_figures() -%}
{{ safe_divide('coverage.covered_accounts', 'coverage.targeted_accounts') }}
            as coverage_pct,
        coverage.targeted_accounts,
        coverage.covered_accounts,
        productivity.enrolled_partners,
        qualified.qualified_partners,
        productivity.active_partners,
        {{ safe_divide('productivity.active_partners', 'productivity.enrolled_partners') }}
            as active_ratio,
        {{ as_double('productivity.partner_revenue_usd') }} as partner_revenue_usd,
        {{ as_double('productivity.partner_sourced_revenue_usd') }} as partner_sourced_revenue_usd,
        {{ as_double('tam.targeted_addressable_revenue_usd') }} as targeted_addressable_revenue_usd,
        {{ safe_divide('productivity.partner_revenue_usd', 'tam.targeted_addressable_revenue_usd') }}
            as partner_revenue_share_of_tam,
        {{ as_double('productivity.investment_usd') }} as investment_usd,
        {{ safe_divide('productivity.partner_sourced_revenue_usd', 'productivity.investment_usd') }}
            as roi_multiple,
        productivity.new_customers,
        {{ safe_divide('productivity.new_customers', 'productivity.all_new_customers') }}
            as new_customer_share,
        alignment.composition_alignment_score,
        alignment.investment_alignment_score,
        program.program_elements,
        program.elements_with_objective,
        {{ safe_divide('program.elements_with_objective', 'program.program_elements') }}
            as program_design_alignment_pct,
        parts.non_avoid_partner_share,
        parts.core_types_active_share,
        parts.investment_mix_alignment_score,
        (
            parts.non_avoid_partner_share
            + parts.core_types_active_share
            + parts.investment_mix_alignment_score
        ) / 3.0 as growth_stage_fit_score
{%- endmacro %}

{#- The program elements of the seed and those with a strategic objective (SPEC §6 program
    design alignment), a one-row query. -#}
{% macro program_design_counts() -%}
    select
        count(*) as program_elements,
        cast(sum(
            case when nullif(trim(strategic_objective), '') is not null then 1 else 0 end
        ) as {{ dbt.type_bigint() }}) as elements_with_objective
    from {{ ref('program_elements') }}
{%- endmacro %}

{#- The counts of growth-stage fit (SPEC §6), aggregates over rows with a partner type's
    playbook `role`, `enrolled_partners` and `active_partners`. -#}
{% macro growth_stage_fit_counts() -%}
        sum(case when coalesce(role, '') <> 'avoid' then enrolled_partners else 0 end)
            as non_avoid_partners,
        cast(sum(enrolled_partners) as {{ dbt.type_bigint() }}) as enrolled_partners,
        sum(case when role = 'core' then 1 else 0 end) as core_types,
        sum(case when role = 'core' and active_partners > 0 then 1 else 0 end)
            as active_core_types
{%- endmacro %}
