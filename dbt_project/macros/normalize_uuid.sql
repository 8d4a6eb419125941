{# A UUID as lowercase dashed text, whether the source stored it dashed or as 32 hex digits. #}
{% macro normalize_uuid(column_name) -%}
    {{ return(adapter.dispatch('normalize_uuid', 'mercado')(column_name)) }}
{%- endmacro %}

{% macro default__normalize_uuid(column_name) -%}
    case
        when length({{ column_name }}) = 32 then lower(
            substring({{ column_name }}, 1, 8) || '-' || substring({{ column_name }}, 9, 4) || '-'
            || substring({{ column_name }}, 13, 4) || '-' || substring({{ column_name }}, 17, 4) || '-'
            || substring({{ column_name }}, 21, 12)
        )
        else lower(cast({{ column_name }} as {{ dbt.type_string() }}))
    end
{%- endmacro %}

{% macro duckdb__normalize_uuid(column_name) -%}
    coalesce(cast(try_cast({{ column_name }} as uuid) as varchar), lower({{ column_name }}))
{%- endmacro %}
