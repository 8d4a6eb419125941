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

{# Post-hook for incremental marts keyed by device ('<prefix><client_id>'): drop rows of the
   devices of users erased since they were built, known by their pseudonym in the events
   ('erased-' || md5(client_id), as the raw loads' erasure sweep writes it). #}
{% macro delete_erased_device_rows(key_column, prefix) -%}
    {{ return(adapter.dispatch('delete_erased_device_rows', 'mercado')(key_column, prefix)) }}
{%- endmacro %}

{% macro default__delete_erased_device_rows(key_column, prefix) -%}
    delete from {{ this }}
    where {{ key_column }} like '{{ prefix }}%'
      and 'erased-' || md5(substr({{ key_column }}, {{ prefix | length + 1 }})) in (
            select client_id from {{ ref('stg_raw__events') }}
            where client_id like 'erased-%'
        )
{%- endmacro %}

{% macro spark__delete_erased_device_rows(key_column, prefix) -%}
    {#- nothing to do: on Spark the event facts are tables rebuilt from the scrubbed raw data
        on every run (incremental_config) -#}
{%- endmacro %}
