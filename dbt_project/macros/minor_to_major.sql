{# Integer minor units (cents) to a decimal amount in major units (dollars), for display. #}
{% macro minor_to_major(column_name, scale=2) -%}
    {{ return(adapter.dispatch('minor_to_major', 'mercado')(column_name, scale)) }}
{%- endmacro %}

{% macro default__minor_to_major(column_name, scale) -%}
    cast({{ column_name }} as numeric(18, {{ scale }})) / power(10, {{ scale }})
{%- endmacro %}

{% macro duckdb__minor_to_major(column_name, scale) -%}
    cast({{ column_name }} / power(10, {{ scale }}) as decimal(18, {{ scale }}))
{%- endmacro %}

{% macro spark__minor_to_major(column_name, scale) -%}
    cast({{ column_name }} / power(10, {{ scale }}) as decimal(18, {{ scale }}))
{%- endmacro %}
