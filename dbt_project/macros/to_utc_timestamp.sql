{# A timestamp (with or without time zone) as a UTC timestamp without time zone. #}
{% macro to_utc_timestamp(column_name) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'mercado')(column_name)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(column_name) -%}
    cast({{ column_name }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__to_utc_timestamp(column_name) -%}
    {#- The profile pins TimeZone to UTC, so a TIMESTAMPTZ casts to its UTC wall time. -#}
    cast({{ column_name }} as timestamp)
{%- endmacro %}
