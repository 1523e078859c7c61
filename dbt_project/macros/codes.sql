{#- The investment categories of SPEC §5, one row each, from the investment_categories seed
    (category_order: its sort_order). -#}
{% macro investment_categories() -%}
    select
        lower(trim(investment_category)) as investment_category,
        cast(sort_order as {{ dbt.type_int() }}) as category_order
    from {{ ref('investment_categories') }}
{%- endmacro %}
