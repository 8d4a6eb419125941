{# Post-hook for incremental event tables: null user_id of users erased after the rows were built. #}
{% macro scrub_erased_user_ids(column_name='user_id') -%}
    {{ return(adapter.dispatch('scrub_erased_user_ids', 'mercado')(column_name)) }}
{%- endmacro %}

{% macro default__scrub_erased_user_ids(column_name) -%}
    update {{ this }}
    set {{ column_name }} = null
    where {{ column_name }} in (select user_id from {{ ref('stg_raw__erasure_records') }})
{%- endmacro %}

{% macro spark__scrub_erased_user_ids(column_name) -%}
    {#- nothing to do: on Spark the event facts are tables rebuilt from the scrubbed raw data
        on every run (incremental_config) -#}
{%- endmacro %}
