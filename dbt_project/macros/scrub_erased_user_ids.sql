{# Post-hook for incremental event tables: null user_id of users erased after the rows were built. #}
{% macro scrub_erased_user_ids(column_name='user_id') -%}
    update {{ this }}
    set {{ column_name }} = null
    where {{ column_name }} in (select user_id from {{ ref('stg_raw__erasure_records') }})
{%- endmacro %}
