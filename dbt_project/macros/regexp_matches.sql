{# Whether a text expression matches a regular expression somewhere (anchor it with ^...$ for a whole match). #}
{% macro regexp_matches(expression, pattern) -%}
    {{ return(adapter.dispatch('regexp_matches', 'mercado')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regexp_matches(expression, pattern) -%}
    ({{ expression }} ~ '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regexp_matches(expression, pattern) -%}
    regexp_matches({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__regexp_matches(expression, pattern) -%}
    {#- a raw literal: Spark's string literals would read the pattern's backslashes as escapes -#}
    ({{ expression }} rlike r'{{ pattern }}')
{%- endmacro %}
