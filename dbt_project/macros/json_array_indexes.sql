{# Set-returning expression: the 0-based indexes of a JSON array column (one row per element). #}
{% macro json_array_indexes(json_column) -%}
    {{ return(adapter.dispatch('json_array_indexes', 'mercado')(json_column)) }}
{%- endmacro %}

{% macro default__json_array_indexes(json_column) -%}
    generate_series(0, json_array_length({{ json_column }}) - 1)
{%- endmacro %}

{% macro duckdb__json_array_indexes(json_column) -%}
    unnest(range(cast(json_array_length({{ json_column }}) as bigint)))
{%- endmacro %}
