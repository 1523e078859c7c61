{#- Figures written into explanation text: a share as a percentage with one decimal
    ("12.5%"), a number rounded to `digits` ("0.67"); "n/a" when null. -#}
{% macro pct_text(expression) -%}
    coalesce(cast(round(cast({{ expression }} as double) * 100, 1) as string) || '%', 'n/a')
{%- endmacro %}

{% macro num_text(expression, digits=2) -%}
    coalesce(cast(round(cast({{ expression }} as double), {{ digits }}) as string), 'n/a')
{%- endmacro %}
