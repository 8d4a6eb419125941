{# Select-list fragment: one row per element of a JSON array of objects, as `item` (a record with the given fields) and `item_position` (0-based). #}
{#- fields: mapping of field name to 'string' | 'int' | 'float'; read them with record_field(). -#}
{% macro json_array_unnest(json_column, fields) -%}
    {{ return(adapter.dispatch('json_array_unnest', 'mercado')(json_column, fields)) }}
{%- endmacro %}

{% macro default__json_array_unnest(json_column, fields) -%}
    ({{ json_column }} -> generate_series(0, json_array_length({{ json_column }}) - 1)) as item,
    generate_series(0, json_array_length({{ json_column }}) - 1) as item_position
{%- endmacro %}

{% macro duckdb__json_array_unnest(json_column, fields) -%}
    {#- one JSON parse per event into a list of structs (values of the wrong type become null),
        each paired with its position and unnested to the two columns (max_depth 2: the list,
        then the pair; the item record itself stays a struct) -#}
    {%- set types = {'string': 'VARCHAR', 'int': 'INTEGER', 'float': 'DOUBLE'} -%}
    {%- set parts = [] -%}
    {%- for name, kind in fields.items() -%}
        {%- do parts.append('"' ~ name ~ '":"' ~ types[kind] ~ '"') -%}
    {%- endfor -%}
    {%- set structure = "'[{" ~ parts | join(',') ~ "}]'" -%}
    unnest(
        list_transform(
            from_json({{ json_column }}, {{ structure }}),
            lambda item, position: {'item': item, 'item_position': position - 1}
        ),
        max_depth := 2
    )
{%- endmacro %}

{% macro spark__json_array_unnest(json_column, fields) -%}
    {#- one JSON parse per event into an array of structs (values of the wrong type become
        null), exploded with each element's position -#}
    {%- set types = {'string': 'string', 'int': 'int', 'float': 'double'} -%}
    {%- set parts = [] -%}
    {%- for name, kind in fields.items() -%}
        {%- do parts.append('`' ~ name ~ '`: ' ~ types[kind]) -%}
    {%- endfor -%}
    posexplode(from_json({{ json_column }}, 'array<struct<{{ parts | join(", ") }}>>'))
        as (item_position, item)
{%- endmacro %}
