{{
    config(
        materialized='incremental',
        unique_key='activity_date',
        on_schema_change='fail',
        **incremental_config()
    )
}}
-- One row per UTC day: people who reached each step of view_item -> add_to_cart ->
-- begin_checkout -> purchase that day, in any session and any order (a cart filled in the
-- morning and paid in the evening counts at both steps; fct_session_funnel_daily is the
-- same-session funnel). A person is the account (the event's, else the account its device
-- was last logged in as), else the device ('client:<client_id>'), as in interactions. The
-- server-side purchase names its buyer, so users_purchase counts the day's purchasing buyers.
{%- set steps = ['view_item', 'add_to_cart', 'begin_checkout', 'purchase'] %}
with

events as (

    select event_date, event_name, client_id, user_id
    from {{ ref('stg_raw__events') }}
    where {{ event_window_predicate('event_date') }}

),

stitched as (

    select * from {{ ref('int_clients_stitched_to_users') }}

),

people as (

    select
        events.event_date as activity_date,
        coalesce(events.user_id, stitched.user_id, 'client:' || events.client_id) as person_key,
        {%- for step in steps %}
        max(case when events.event_name = '{{ step }}' then 1 else 0 end) as reached_{{ step }}{{ ',' if not loop.last }}
        {%- endfor %}
    from events
    left join stitched
        on events.client_id = stitched.client_id
    group by
        events.event_date,
        coalesce(events.user_id, stitched.user_id, 'client:' || events.client_id)

),

daily as (

    select
        activity_date,
        cast(count(*) as {{ dbt.type_bigint() }}) as users,
        {%- for step in steps %}
        cast(sum(reached_{{ step }}) as {{ dbt.type_bigint() }}) as users_{{ step }}{{ ',' if not loop.last }}
        {%- endfor %}
    from people
    group by activity_date

),

final as (

    select
        activity_date,
        users,
        users_view_item,
        users_add_to_cart,
        users_begin_checkout,
        users_purchase,
        cast(users_purchase as {{ type_double() }}) / users as user_conversion_rate
    from daily

)

select * from final
