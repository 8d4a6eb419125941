{# Post-hook for incremental marts keyed by person: drop rows of users erased since they were built. #}
{% macro delete_erased_user_rows(column_name='user_id') -%}
    {{ return(adapter.dispatch('delete_erased_user_rows', 'mercado')(column_name)) }}
{%- endmacro %}

{% macro default__delete_erased_user_rows(column_name) -%}
    delete from {{ this }}
    where {{ column_name }} in (select user_id from {{ ref('stg_raw__erasure_records') }})
{%- endmacro %}

{% macro spark__delete_erased_user_rows(column_name) -%}
    {#- nothing to do: on Spark the event facts are tables rebuilt from the scrubbed raw data
        on every run (incremental_config) -#}
{%- endmacro %}
