{# Post-hook for fct_sessions, for sessions built before their user was erased. Inside the
   run window the sessions were just rebuilt from the scrubbed events (under the devices'
   pseudonyms), so the old rows of the erased user's devices are deleted: kept, they would
   count those sessions twice. Outside it they are pseudonymised as the events are
   ('erased-' || md5(client_id)) and re-keyed under that pseudonym, which is the id a later
   rebuild of their day gives them. #}
{% macro scrub_erased_sessions() -%}
    {{ return(adapter.dispatch('scrub_erased_sessions', 'mercado')()) }}
{%- endmacro %}

{% macro default__scrub_erased_sessions() -%}
    {%- set erased_devices -%}
        select client_id from {{ this }}
        where user_id in (select user_id from {{ ref('stg_raw__erasure_records') }})
    {%- endset -%}
    delete from {{ this }}
    where {{ event_window_predicate('session_date') }}
      and client_id in ({{ erased_devices }});
    update {{ this }}
    set user_id = null,
        client_id = 'erased-' || md5(client_id),
        session_id = {{ session_key("'erased-' || md5(client_id)", 'session_start_at') }}
    where client_id in ({{ erased_devices }})
{%- endmacro %}

{% macro spark__scrub_erased_sessions() -%}
    {#- nothing to do: on Spark the event facts are tables rebuilt from the scrubbed raw data
        on every run (incremental_config) -#}
{%- endmacro %}
