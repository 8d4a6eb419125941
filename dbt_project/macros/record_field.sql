{# A field of a record made by json_array_unnest or json_record, typed 'string' | 'int' | 'float' (null when absent or mistyped). #}
{% macro record_field(record, name, kind='string') -%}
    {{ return(adapter.dispatch('record_field', 'mercado')(record, name, kind)) }}
{%- endmacro %}

{% macro default__record_field(record, name, kind) -%}
    {%- set types = {'string': dbt.type_string(), 'int': dbt.type_int(), 'float': type_double()} -%}
    {{ dbt.safe_cast(json_extract_string(record, '$.' ~ name), types[kind]) }}
{%- endmacro %}

{% macro duckdb__record_field(record, name, kind) -%}
    {#- json_array_unnest already typed the struct -#}
    {{ record }}."{{ name }}"
{%- endmacro %}

{% macro spark__record_field(record, name, kind) -%}
    {#- json_array_unnest and json_record already typed the struct -#}
    {{ record }}.`{{ name }}`
{%- endmacro %}
