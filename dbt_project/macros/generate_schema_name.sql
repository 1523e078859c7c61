{#- Use the configured schema name as is (marts, staging, ...) rather than <target>_<name>:
    BI tools read `marts.<mart>` and the name is part of the public contract. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
