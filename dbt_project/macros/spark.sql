{#- On Spark (profiles.yml `spark`), the catalog lives only as long as dbt's session: register
    the raw tables that the ingestion wrote as Parquet under PSW_SPARK_DIR before any model
    runs. A no-op on DuckDB, where raw.* are tables of the build database. -#}
{% macro register_spark_sources() %}
    {%- if target.type == 'spark' and execute -%}
        {%- set spark_dir = env_var('PSW_SPARK_DIR', '../data/warehouse/spark') -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- for source_node in graph.sources.values() if source_node.source_name == 'raw' -%}
            {%- do run_query(
                'create table if not exists raw.' ~ source_node.name
                ~ " using parquet location '" ~ spark_dir ~ '/raw/' ~ source_node.name ~ "'"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}

{#- dbt-spark 1.11's seed loader substitutes values into the SQL unquoted-escaped in session
    mode, so a seed value with an apostrophe (Côte d'Ivoire) breaks the insert. The same
    statement, with every value a properly escaped literal. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    {%- set col_name = agate_table.column_names[loop.index0] -%}
                    {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
                    {%- if value is none -%}
                        cast(null as {{ type }})
                    {%- else -%}
                        cast('{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ type }})
                    {%- endif -%}
                    {%- if not loop.last %},{% endif -%}
                {%- endfor -%})
                {%- if not loop.last %},{% endif %}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}
