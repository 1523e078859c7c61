{#- A value normalised to [0, 1] by its percent rank within its `partition_by` group (a window
    expression): (rank − 1) ÷ (n − 1) over the group's non-null values, ties sharing the lowest
    rank, so the smallest value scores 0 and the largest 1. A group's only value scores 1 when
    it is above 0, else 0. Null when the value is null. -#}
{% macro rank_score(value, partition_by) -%}
    case
        when {{ value }} is null then null
        when count({{ value }}) over (partition by {{ partition_by }}) = 1
            then case when {{ value }} > 0 then 1.0 else 0.0 end
        else percent_rank() over (
            partition by {{ partition_by }}, {{ value }} is null order by {{ value }}
        )
    end
{%- endmacro %}
