{# The element (as JSON) at a 0-based index expression of a JSON array column. #}
{% macro json_array_element(json_column, index_expression) -%}
    {{ return(adapter.dispatch('json_array_element', 'mercado')(json_column, index_expression)) }}
{%- endmacro %}

{% macro default__json_array_element(json_column, index_expression) -%}
    ({{ json_column }} -> cast({{ index_expression }} as integer))
{%- endmacro %}

{% macro duckdb__json_array_element(json_column, index_expression) -%}
    json_extract({{ json_column }}, cast({{ index_expression }} as bigint))
{%- endmacro %}
