{{
    config(
        materialized='incremental',
        unique_key='session_date',
        on_schema_change='fail',
        **incremental_config()
    )
}}
-- One row per day (session start date): sessions reaching each step of the purchase
-- funnel view_item -> add_to_cart -> begin_checkout -> purchase. A session counts at a step
-- only if it also reached every earlier step, in order (first occurrence times).
with

sessions as (

    select * from {{ ref('fct_sessions') }}
    where {{ event_window_predicate('session_date') }}

),

steps as (

    select
        session_date,
        first_view_item_at is not null as reached_view_item,
        first_view_item_at is not null
            and first_add_to_cart_at >= first_view_item_at as reached_add_to_cart,
        first_view_item_at is not null
            and first_add_to_cart_at >= first_view_item_at
            and first_begin_checkout_at >= first_add_to_cart_at as reached_begin_checkout,
        first_view_item_at is not null
            and first_add_to_cart_at >= first_view_item_at
            and first_begin_checkout_at >= first_add_to_cart_at
            and first_purchase_at >= first_begin_checkout_at as reached_purchase
    from sessions

),

daily as (

    select
        session_date,
        count(*) as sessions,
        sum(case when reached_view_item then 1 else 0 end) as sessions_view_item,
        sum(case when reached_add_to_cart then 1 else 0 end) as sessions_add_to_cart,
        sum(case when reached_begin_checkout then 1 else 0 end) as sessions_begin_checkout,
        sum(case when reached_purchase then 1 else 0 end) as sessions_purchase
    from steps
    group by session_date

),

final as (

    select
        session_date,
        sessions,
        sessions_view_item,
        sessions_add_to_cart,
        sessions_begin_checkout,
        sessions_purchase,
        case when sessions_view_item > 0 then cast(sessions_add_to_cart as {{ type_double() }}) / sessions_view_item end as view_to_cart_rate,
        case when sessions_add_to_cart > 0 then cast(sessions_begin_checkout as {{ type_double() }}) / sessions_add_to_cart end as cart_to_checkout_rate,
        case when sessions_begin_checkout > 0 then cast(sessions_purchase as {{ type_double() }}) / sessions_begin_checkout end as checkout_to_purchase_rate,
        case when sessions > 0 then cast(sessions_purchase as {{ type_double() }}) / sessions end as session_conversion_rate
    from daily

)

select * from final
