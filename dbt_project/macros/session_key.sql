{# A session's id: the hash of its device and start, the same wherever a session is keyed. #}
{% macro session_key(device_column, start_column) -%}
    {{ dbt.hash(device_column ~ " || '|' || cast(" ~ start_column ~ " as " ~ dbt.type_string() ~ ")") }}
{%- endmacro %}
