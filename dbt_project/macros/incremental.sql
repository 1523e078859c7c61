{#- The incremental intermediate models (int_deals, int_account_first_wins,
    int_partner_first_wins, int_certification_intervals) recompute only the rows whose sources
    changed since their last build. Each row keeps two columns for that:

    - source_load_id: the latest load (`_load_id` of the raw tables, which grows with every
      load) that the row reflects. The largest one in the table says up to which load the table
      is current; a build recomputes the rows of the later loads.
    - build_fingerprint: what the rows depend on besides those source rows (build_fingerprint
      below). When the current fingerprint differs from the stored one, the build recomputes
      every row.

    On Spark these models are plain tables, rebuilt in full by every build (Spark's catalog,
    and so each table, lasts one build there: orchestration/defs/transform/assets.py). -#}

{#- The fingerprint of a model's definition, a SQL expression (text): an md5 over the SQL of
    the model and of every model upstream of it (dbt's checksum of each file) and over the rows
    of the seeds named. A changed seed row, or changed SQL, changes it. A changed macro does
    not: after changing a macro these models use, build them with `--full-refresh`. -#}
{% macro build_fingerprint(seeds=[]) -%}
    md5(
        '{{ code_checksum() }}'
        {%- for seed in seeds %}
        || coalesce((select {{ rows_md5('seed_rows') }} from {{ ref(seed) }} as seed_rows), '')
        {%- endfor %}
    )
{%- endmacro %}

{#- An md5 of the checksums of the current model's SQL and of every model upstream of it (not
    the seeds and sources, whose rows are data). Empty while dbt parses. -#}
{% macro code_checksum() -%}
    {%- if not execute or not graph or model.unique_id not in graph.nodes -%}
        {{ return('') }}
    {%- endif -%}
    {%- set queue = [model.unique_id] -%}
    {%- set seen = {} -%}
    {#- a breadth-first walk: the loop also visits the ids appended to `queue` on the way -#}
    {%- for unique_id in queue if unique_id not in seen -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node and node.resource_type == 'model' -%}
            {%- do seen.update({unique_id: node.checksum.checksum}) -%}
            {%- do queue.extend(node.depends_on.nodes) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set parts = [] -%}
    {%- for unique_id in seen | sort -%}
        {%- do parts.append(unique_id ~ '=' ~ seen[unique_id]) -%}
    {%- endfor -%}
    {{ return(local_md5(parts | join(';'))) }}
{%- endmacro %}

{#- An md5 over every row of the relation aliased `alias` (an aggregate), whatever the row
    order. -#}
{% macro rows_md5(alias) -%}
    {{ return(adapter.dispatch('rows_md5')(alias)) }}
{%- endmacro %}

{% macro default__rows_md5(alias) -%}
    md5(string_agg(cast({{ alias }} as varchar), chr(10) order by cast({{ alias }} as varchar)))
{%- endmacro %}

{% macro spark__rows_md5(alias) -%}
    md5(concat_ws(chr(10), array_sort(collect_list(to_json(struct({{ alias }}.*))))))
{%- endmacro %}

{#- Of `columns`, those the existing table lacks (an earlier version of the model built it).
    Empty in a dbt unit test, whose `this` is the rows the test gives. -#}
{% macro missing_columns(columns) -%}
    {%- if this is string -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- set missing = [] -%}
    {%- for column in columns if column not in stored -%}
        {%- do missing.append(column) -%}
    {%- endfor -%}
    {{ return(missing) }}
{%- endmacro %}

{#- For the incremental branch of a model: one row that says what the existing table reflects,
    `load_id` (its largest source_load_id; -1 when empty) and `rebuild` (true when every row
    must be recomputed: the fingerprint of the CTE `fingerprint` differs from the stored one,
    the table is empty, or it lacks source_load_id, build_fingerprint or one of the `required`
    columns, having been built by an earlier version of the model). -#}
{% macro previous_build(required=[], fingerprint='fingerprint') -%}
    {%- if not missing_columns(['source_load_id', 'build_fingerprint'] + required) -%}
        select
            coalesce(max(source_load_id), -1) as load_id,
            not coalesce(
                min(build_fingerprint) = (select build_fingerprint from {{ fingerprint }})
                and max(build_fingerprint) = (select build_fingerprint from {{ fingerprint }}),
                false
            ) as rebuild
        from {{ this }}
    {%- else -%}
        select cast(-1 as {{ dbt.type_bigint() }}) as load_id, true as rebuild
    {%- endif -%}
{%- endmacro %}
