{# Select-list expression: a JSON object column read once into a record of text fields; read them with record_field(). #}
{#- fields: list of top-level field names (values as text, null when absent or JSON null). -#}
{% macro json_record(json_column, fields) -%}
    {{ return(adapter.dispatch('json_record', 'mercado')(json_column, fields)) }}
{%- endmacro %}

{% macro default__json_record(json_column, fields) -%}
    {#- record_field() extracts each field from the JSON itself -#}
    {{ json_column }}
{%- endmacro %}

{% macro duckdb__json_record(json_column, fields) -%}
    {#- one JSON parse per row into a struct, where json_extract_string would parse once per field -#}
    {%- set parts = [] -%}
    {%- for name in fields -%}
        {%- do parts.append('"' ~ name ~ '":"VARCHAR"') -%}
    {%- endfor -%}
    from_json({{ json_column }}, '{{ "{" ~ parts | join(",") ~ "}" }}')
{%- endmacro %}

{% macro spark__json_record(json_column, fields) -%}
    {#- one JSON parse per row into a struct of strings -#}
    {%- set parts = [] -%}
    {%- for name in fields -%}
        {%- do parts.append('`' ~ name ~ '`: string') -%}
    {%- endfor -%}
    from_json({{ json_column }}, 'struct<{{ parts | join(", ") }}>')
{%- endmacro %}
