{#- Engine-specific SQL lives here, dispatched by adapter, so models stay the same on DuckDB
    and Spark. -#}

{#- One row per item of a ';'-separated list column: use as a select expression. -#}
{% macro explode_list(column) -%}
    {{ return(adapter.dispatch('explode_list')(column)) }}
{%- endmacro %}

{% macro default__explode_list(column) -%}
    unnest(string_split({{ column }}, ';'))
{%- endmacro %}

{% macro spark__explode_list(column) -%}
    explode(split({{ column }}, ';'))
{%- endmacro %}

{#- Exact median of a numeric expression (an aggregate). -#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    median({{ expression }})
{%- endmacro %}

{% macro spark__median(expression) -%}
    percentile({{ expression }}, 0.5)
{%- endmacro %}

{% macro postgres__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{#- a / b as a double, null when b is 0 or null (SPEC §5: an empty whole gives null). -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}

{#- Alignment score of a distribution against its target, SPEC §5: 1 - 1/2 * sum|actual -
    target| over all rows of the query (a window expression). Null when any actual share is
    null (an empty whole). -#}
{% macro alignment_score(actual, target) -%}
    case
        when count({{ actual }}) over () = count(*) over ()
            then 1 - 0.5 * sum(abs({{ actual }} - {{ target }})) over ()
    end
{%- endmacro %}
