{#- Rules of SPEC §5 that several models apply, each written once. -#}

{#- enrolled at `day`: enrolled_on ≤ day and (terminated_on null or > day); false when the
    partner was never enrolled. -#}
{% macro is_enrolled_at(enrolled_on, terminated_on, day) -%}
    coalesce(
        {{ enrolled_on }} <= {{ day }}
        and ({{ terminated_on }} is null or {{ terminated_on }} > {{ day }}),
        false
    )
{%- endmacro %}

{#- a won deal: stage won with a close date -#}
{% macro is_won(stage, closed_on) -%}
    ({{ stage }} = 'won' and {{ closed_on }} is not null)
{%- endmacro %}

{#- investment: an incentive approved or paid -#}
{% macro is_investment(status) -%}
    ({{ status }} in ('approved', 'paid'))
{%- endmacro %}
