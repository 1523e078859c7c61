{#- Display labels and sort orders of codes, read from the seeds (var `code_labels` in
    dbt_project.yml names the seed of each code column). -#}

{#- The rows of a code's label seed: code, name, sort_order (codes normalised as the models
    normalise them). -#}
{% macro code_label_rows(code) -%}
    {%- set spec = var('code_labels')[code] -%}
    {%- set column = 'trim(' ~ code ~ ')' -%}
    {%- if spec.get('case') == 'lower' %}{% set column = 'lower(' ~ column ~ ')' %}{% endif -%}
    select
        {{ column }} as code,
        {{ code }}_name as name,
        cast(sort_order as {{ dbt.type_int() }}) as sort_order
    from {{ ref(spec['seed']) }}
{%- endmacro %}

{#- `select <relation>.*` with `<code>_name` and `<code>_sort_order` added for each code column
    in `codes`. A code its seed does not name keeps its code as name and sorts after the
    seed's codes (max sort_order + 1); a null code has null name and sort order. Adds no rows:
    a seed holds one row per code (dbt tests on the seeds), and the sort_order maximum is one
    row. -#}
{% macro select_with_labels(relation, codes) -%}
select
    {{ relation }}.*
    {%- for code in codes %},
    case
        when {{ relation }}.{{ code }} is not null
            then coalesce(_{{ code }}_labels.name, {{ relation }}.{{ code }})
    end as {{ code }}_name,
    case
        when {{ relation }}.{{ code }} is not null
            then coalesce(_{{ code }}_labels.sort_order, _{{ code }}_last.sort_order + 1)
    end as {{ code }}_sort_order
    {%- endfor %}
from {{ relation }}
{%- for code in codes %}
left join ({{ code_label_rows(code) }}) as _{{ code }}_labels
    on {{ relation }}.{{ code }} = _{{ code }}_labels.code
cross join (
    select coalesce(max(sort_order), 0) as sort_order from ({{ code_label_rows(code) }}) as _rows
) as _{{ code }}_last
{%- endfor %}
{%- endmacro %}
