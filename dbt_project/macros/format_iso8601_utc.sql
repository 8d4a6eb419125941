{# A UTC timestamp as ISO 8601 text with a Z suffix (the Date format Neptune's bulk loader reads). #}
{% macro format_iso8601_utc(column_name) -%}
    {{ return(adapter.dispatch('format_iso8601_utc', 'mercado')(column_name)) }}
{%- endmacro %}

{% macro default__format_iso8601_utc(column_name) -%}
    to_char({{ column_name }}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
{%- endmacro %}

{% macro duckdb__format_iso8601_utc(column_name) -%}
    strftime({{ column_name }}, '%Y-%m-%dT%H:%M:%SZ')
{%- endmacro %}

{% macro spark__format_iso8601_utc(column_name) -%}
    {#- the profile pins spark.sql.session.timeZone to UTC -#}
    date_format({{ column_name }}, "yyyy-MM-dd'T'HH:mm:ss'Z'")
{%- endmacro %}
