{# Subquery of user ids whose erasure was requested (raw.shop_erasure_records): no PII may remain. #}
{% macro erased_user_ids() -%}
    select user_id from {{ ref('stg_raw__erasure_records') }}
{%- endmacro %}
