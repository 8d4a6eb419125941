{# Post-hook for incremental marts keyed by person: drop rows of users erased since they were built. #}
{% macro delete_erased_user_rows(column_name='user_id') -%}
    delete from {{ this }}
    where {{ column_name }} in (select user_id from {{ ref('stg_raw__erasure_records') }})
{%- endmacro %}
