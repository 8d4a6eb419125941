{# The column type of a double-precision float (DuckDB DOUBLE, Spark DOUBLE), for casts in models. #}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'mercado')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
