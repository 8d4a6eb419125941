{#
    A UUID as lowercase dashed text, whether the source stored it dashed, in capitals or as
    32 hex digits. Any other text (an imported dataset's `diginetica:123`) is an opaque id
    and is returned as given.
#}
{% macro normalize_uuid(column_name) -%}
    {{ return(adapter.dispatch('normalize_uuid', 'mercado')(column_name)) }}
{%- endmacro %}

{% macro default__normalize_uuid(column_name) -%}
    case
        when length({{ column_name }}) = 32 and {{ column_name }} not like '%:%' then lower(
            substring({{ column_name }}, 1, 8) || '-' || substring({{ column_name }}, 9, 4) || '-'
            || substring({{ column_name }}, 13, 4) || '-' || substring({{ column_name }}, 17, 4) || '-'
            || substring({{ column_name }}, 21, 12)
        )
        when length({{ column_name }}) = 36 and {{ column_name }} not like '%:%'
            then lower(cast({{ column_name }} as {{ dbt.type_string() }}))
        else cast({{ column_name }} as {{ dbt.type_string() }})
    end
{%- endmacro %}

{% macro duckdb__normalize_uuid(column_name) -%}
    coalesce(cast(try_cast({{ column_name }} as uuid) as varchar), {{ column_name }})
{%- endmacro %}
