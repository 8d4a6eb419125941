{# Post-hook for incremental event tables, for rows built before their user was erased: the
   user id is nulled, and the devices the user was seen on are pseudonymised as the raw
   loads' erasure sweep does it ('erased-' || md5(client_id)), on every row of those
   devices, anonymous ones included. #}
{% macro scrub_erased_user_ids(column_name='user_id', client_column='client_id') -%}
    {{ return(adapter.dispatch('scrub_erased_user_ids', 'mercado')(column_name, client_column)) }}
{%- endmacro %}

{% macro default__scrub_erased_user_ids(column_name, client_column) -%}
    update {{ this }}
    set {{ column_name }} = null,
        {{ client_column }} = 'erased-' || md5({{ client_column }})
    where {{ column_name }} in (select user_id from {{ ref('stg_raw__erasure_records') }})
       or {{ client_column }} in (
            select {{ client_column }} from {{ this }}
            where {{ column_name }} in (select user_id from {{ ref('stg_raw__erasure_records') }})
        )
{%- endmacro %}

{% macro spark__scrub_erased_user_ids(column_name, client_column) -%}
    {#- nothing to do: on Spark the event facts are tables rebuilt from the scrubbed raw data
        on every run (incremental_config) -#}
{%- endmacro %}
