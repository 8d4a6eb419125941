{# Set-returning expression: one row per element of a JSON array column (each element as JSON). #}
{% macro json_array_elements(json_column) -%}
    {{ return(adapter.dispatch('json_array_elements', 'mercado')(json_column)) }}
{%- endmacro %}

{% macro default__json_array_elements(json_column) -%}
    json_array_elements({{ json_column }})
{%- endmacro %}

{% macro duckdb__json_array_elements(json_column) -%}
    unnest(from_json({{ json_column }}, '["json"]'))
{%- endmacro %}
