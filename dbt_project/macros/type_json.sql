{# The column type of JSON text: DuckDB's JSON; Spark has none, so a string holding the JSON. #}
{% macro type_json() -%}
    {{ return(adapter.dispatch('type_json', 'mercado')()) }}
{%- endmacro %}

{% macro default__type_json() -%}
    json
{%- endmacro %}

{% macro spark__type_json() -%}
    string
{%- endmacro %}
