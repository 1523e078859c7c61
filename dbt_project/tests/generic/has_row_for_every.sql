{#- Fails for every value of `field` in `to` (e.g. a seed) that has no row in the model:
    "every partner type has a row, even when its figures are zero". -#}
{% test has_row_for_every(model, column_name, to, field) %}
select expected.value
from (select distinct lower(trim({{ field }})) as value from {{ to }}) as expected
left join (select distinct {{ column_name }} as value from {{ model }}) as present
    on expected.value = present.value
where present.value is null
{% endtest %}
