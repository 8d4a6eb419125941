{# Lowercase hex SHA-256 of a text expression (identifiers hashed for ad platforms). #}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'mercado')(expression)) }}
{%- endmacro %}

{% macro default__sha256_hex(expression) -%}
    lower(to_hex(sha256(cast({{ expression }} as {{ dbt.type_string() }}))))
{%- endmacro %}

{% macro duckdb__sha256_hex(expression) -%}
    sha256(cast({{ expression }} as varchar))
{%- endmacro %}
