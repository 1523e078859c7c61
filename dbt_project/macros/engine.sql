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

{#- Continuous (interpolated) percentile p in [0, 1] of a numeric expression (an aggregate),
    the same interpolation as median. -#}
{% macro percentile(expression, p) -%}
    {{ return(adapter.dispatch('percentile')(expression, p)) }}
{%- endmacro %}

{% macro default__percentile(expression, p) -%}
    quantile_cont({{ expression }}, {{ p }})
{%- endmacro %}

{% macro spark__percentile(expression, p) -%}
    percentile({{ expression }}, {{ p }})
{%- endmacro %}

{% macro postgres__percentile(expression, p) -%}
    percentile_cont({{ p }}) within group (order by {{ expression }})
{%- endmacro %}

{#- Money is summed as exact decimals and only the figures that BI reads are doubles: sums of
    doubles depend on the order parallel threads add them in, and a refresh with no new data
    must publish identical marts. -#}
{% macro type_money() -%}
    decimal(38, 12)
{%- endmacro %}

{% macro as_double(expression) -%}
    cast({{ expression }} as double)
{%- endmacro %}

{#- a / b as a double, null when b is 0 or null (SPEC §5: an empty whole gives null). -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}

{#- Alignment score of a distribution against its target, SPEC §5: 1 - 1/2 * sum|actual -
    target| over all rows of the query (a window expression), or over the rows of each
    `partition_by` group (e.g. one distribution per month). Null when any actual share is null
    (an empty whole). -#}
{% macro alignment_score(actual, target, partition_by=none) -%}
    {%- set over = '(partition by ' ~ partition_by ~ ')' if partition_by else '()' -%}
    case
        when count({{ actual }}) over {{ over }} = count(*) over {{ over }}
            then cast(
                1 - 0.5 * sum(cast(abs({{ actual }} - {{ target }}) as decimal(38, 18))) over {{ over }}
                as double
            )
    end
{%- endmacro %}
