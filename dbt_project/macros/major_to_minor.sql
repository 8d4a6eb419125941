{# Decimal amount in major units (event params.value, 15.98) to integer minor units (1598). #}
{% macro major_to_minor(column_name, scale=2) -%}
    {{ return(adapter.dispatch('major_to_minor', 'mercado')(column_name, scale)) }}
{%- endmacro %}

{% macro default__major_to_minor(column_name, scale) -%}
    cast(round({{ column_name }} * power(10, {{ scale }}), 0) as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro duckdb__major_to_minor(column_name, scale) -%}
    cast(round({{ column_name }} * power(10, {{ scale }})) as bigint)
{%- endmacro %}
