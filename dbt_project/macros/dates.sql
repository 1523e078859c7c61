{#- D of SPEC §5 as a SQL date: the `as_of_date` var, else PSW_AS_OF_DATE, else today.

    The pipeline passes D (and W) through the environment rather than `--vars`: dbt re-parses
    the whole project whenever the command-line vars change, which for a date that changes
    every night costs a full parse per refresh; a changed environment variable re-parses only
    the files that read it. `dbt build --vars '{as_of_date: 2026-06-30}'` still wins by hand. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) or env_var('PSW_AS_OF_DATE', '')
        or modules.datetime.date.today().isoformat() -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{#- W of SPEC §5 when given (the `activity_window_days` var, else PSW_ACTIVITY_WINDOW_DAYS), else
    the SQL null: vendor_profile.activity_window_days then applies. -#}
{% macro activity_window_days() -%}
    {%- set value = var('activity_window_days', none) or env_var('PSW_ACTIVITY_WINDOW_DAYS', '') -%}
    {{ value | int if value else 'null' }}
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
