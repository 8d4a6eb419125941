{# on-run-start: make the raw source's tables queryable. DuckDB: the loads wrote them into the warehouse already. Spark: external tables over the Parquet datasets the loads wrote under <spark dir>/raw, recreated on every run (their columns follow the files), with their day partitions. #}
{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources', 'mercado')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
    {%- if execute -%}
        {%- set root = env_var('MERCADO_SPARK_DIR', env_var('MERCADO_HOME', 'var') ~ '/spark') ~ '/raw' -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- for source in graph.sources.values() if source.source_name == 'raw' -%}
            {%- set table = 'raw.' ~ source.name -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query("create table " ~ table ~ " using parquet location '" ~ root ~ "/" ~ source.name ~ "'") -%}
            {%- if source.meta.get('partition_by') -%}
                {#- a table without rows yet is one file, without day folders -#}
                {%- set description = run_query('describe table ' ~ table) -%}
                {%- if '# Partition Information' in description.columns[0].values() -%}
                    {%- do run_query('alter table ' ~ table ~ ' recover partitions') -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
