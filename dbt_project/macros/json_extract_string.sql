{# Text value at a JSON path ('$.a.b') of a JSON column, or null when absent/JSON null. #}
{% macro json_extract_string(json_column, path) -%}
    {{ return(adapter.dispatch('json_extract_string', 'mercado')(json_column, path)) }}
{%- endmacro %}

{% macro default__json_extract_string(json_column, path) -%}
    json_value({{ json_column }}, '{{ path }}')
{%- endmacro %}

{% macro duckdb__json_extract_string(json_column, path) -%}
    json_extract_string({{ json_column }}, '{{ path }}')
{%- endmacro %}

{% macro spark__json_extract_string(json_column, path) -%}
    get_json_object({{ json_column }}, '{{ path }}')
{%- endmacro %}
