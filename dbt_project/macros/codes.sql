{#- The investment categories of SPEC §5, in the order of their definition. -#}
{% macro investment_categories() -%}
    {%- set categories = ['acquisition', 'activation', 'development', 'strategic'] -%}
    {%- for category in categories %}
    select '{{ category }}' as investment_category, {{ loop.index }} as category_order
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
{%- endmacro %}
