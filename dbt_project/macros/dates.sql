{#- D of SPEC §5 as a SQL date: the `as_of_date` var, else PSW_AS_OF_DATE, else today.

    The pipeline passes D (and W) through the environment rather than `--vars`: dbt re-parses
    the whole project whenever the command-line vars change, which for a date that changes
    every night costs a full parse per refresh; a changed environment variable re-parses only
    the files that read it. `dbt build --vars '{as_of_date: 2026-06-30}'` still wins by hand. -#}
{% macro as_of_date() -%}
    cast('{{ as_of_date_text() }}' as date)
{%- endmacro %}

{#- D as ISO text, for Jinja. -#}
{% macro as_of_date_text() -%}
    {{ return((var('as_of_date', none) or env_var('PSW_AS_OF_DATE', '')
        or modules.datetime.date.today().isoformat()) | string) }}
{%- endmacro %}

{#- W of SPEC §5 when given (the `activity_window_days` var, else PSW_ACTIVITY_WINDOW_DAYS), else
    the SQL null: vendor_profile.activity_window_days then applies. -#}
{% macro activity_window_days() -%}
    {%- set value = var('activity_window_days', none) or env_var('PSW_ACTIVITY_WINDOW_DAYS', '') -%}
    {{ value | int if value else 'null' }}
{%- endmacro %}

{#- Date arithmetic, a date on every engine: dbt's cross-database macros, except on Spark,
    whose dbt.dateadd/datediff go through unix timestamps (wrong under
    spark.sql.timestampType=TIMESTAMP_NTZ) where Spark has exact date functions. -#}
{% macro add_days(date, days) -%}
    {{ return(adapter.dispatch('add_days')(date, days)) }}
{%- endmacro %}

{% macro default__add_days(date, days) -%}
    cast({{ dbt.dateadd('day', days, date) }} as date)
{%- endmacro %}

{% macro spark__add_days(date, days) -%}
    date_add({{ date }}, cast({{ days }} as int))
{%- endmacro %}

{% macro add_months(date, months) -%}
    {{ return(adapter.dispatch('add_months')(date, months)) }}
{%- endmacro %}

{% macro default__add_months(date, months) -%}
    cast({{ dbt.dateadd('month', months, date) }} as date)
{%- endmacro %}

{% macro spark__add_months(date, months) -%}
    add_months({{ date }}, cast({{ months }} as int))
{%- endmacro %}

{% macro month_start(date) -%}
    {{ return(adapter.dispatch('month_start')(date)) }}
{%- endmacro %}

{% macro default__month_start(date) -%}
    cast({{ dbt.date_trunc('month', date) }} as date)
{%- endmacro %}

{% macro spark__month_start(date) -%}
    trunc({{ date }}, 'MM')
{%- endmacro %}

{% macro month_end(date) -%}
    {{ return(adapter.dispatch('month_end')(date)) }}
{%- endmacro %}

{% macro default__month_end(date) -%}
    cast({{ dbt.last_day(date, 'month') }} as date)
{%- endmacro %}

{% macro spark__month_end(date) -%}
    last_day({{ date }})
{%- endmacro %}

{% macro year_start(date) -%}
    {{ return(adapter.dispatch('year_start')(date)) }}
{%- endmacro %}

{% macro default__year_start(date) -%}
    cast({{ dbt.date_trunc('year', date) }} as date)
{%- endmacro %}

{% macro spark__year_start(date) -%}
    trunc({{ date }}, 'YEAR')
{%- endmacro %}

{#- Whole days from start_date to end_date (negative when end is earlier). -#}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
    {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}

{% macro spark__days_between(start_date, end_date) -%}
    datediff({{ end_date }}, {{ start_date }})
{%- endmacro %}

{#- True when `date` lies in the activity window (window_start, as_of_date] of int_params. -#}
{% macro in_window(date, params='params') -%}
    ({{ date }} > {{ params }}.window_start and {{ date }} <= {{ params }}.as_of_date)
{%- endmacro %}
