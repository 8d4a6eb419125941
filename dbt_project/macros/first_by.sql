{# Aggregate: `value` of the group's first row in the order of `order_by` (a list of expressions, ascending), nulls included. #}
{% macro first_by(value, order_by) -%}
    {{ return(adapter.dispatch('first_by', 'mercado')(value, order_by)) }}
{%- endmacro %}

{% macro default__first_by(value, order_by) -%}
    (array_agg({{ value }} order by {{ order_by | join(', ') }}))[1]
{%- endmacro %}

{% macro duckdb__first_by(value, order_by) -%}
    {#- arg_min_null keeps a null value (arg_min would skip that row); the key is a row value -#}
    arg_min_null({{ value }}, ({{ order_by | join(', ') }}))
{%- endmacro %}

{% macro spark__first_by(value, order_by) -%}
    {#- min_by keeps a null value; nulls in the key sort last, as in DuckDB's row comparison -#}
    {%- set keys = [] -%}
    {%- for key in order_by -%}
        {%- do keys.append(key ~ ' is null') -%}
        {%- do keys.append(key) -%}
    {%- endfor -%}
    min_by({{ value }}, struct({{ keys | join(', ') }}))
{%- endmacro %}
