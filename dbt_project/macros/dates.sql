{#- D of SPEC §5 as a SQL date: the `as_of_date` var, else today. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) or modules.datetime.date.today().isoformat() -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{#- `date` plus `days` (an integer expression), as a date on every engine. -#}
{% macro add_days(date, days) -%}
    cast({{ dbt.dateadd('day', days, date) }} as date)
{%- endmacro %}

{% macro add_months(date, months) -%}
    cast({{ dbt.dateadd('month', months, date) }} as date)
{%- endmacro %}

{% macro month_start(date) -%}
    cast({{ dbt.date_trunc('month', date) }} as date)
{%- endmacro %}

{% macro month_end(date) -%}
    cast({{ dbt.last_day(date, 'month') }} as date)
{%- endmacro %}

{% macro days_between(start_date, end_date) -%}
    {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}

{#- True when `date` lies in the activity window (window_start, as_of_date] of int_params. -#}
{% macro in_window(date, params='params') -%}
    ({{ date }} > {{ params }}.window_start and {{ date }} <= {{ params }}.as_of_date)
{%- endmacro %}
