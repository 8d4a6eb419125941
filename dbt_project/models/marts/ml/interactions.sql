{{
    config(
        materialized='incremental',
        unique_key=['user_key', 'product_id', 'interaction_date'],
        on_schema_change='fail',
        post_hook=["{{ restitch_interactions() }}", "{{ delete_erased_user_rows() }}"],
        **incremental_config()
    )
}}
-- The recommender's training input: one row per user x product x day with the signals
-- seen that day and their weighted sum. Signals: detail views, list clicks, cart adds,
-- purchases of imported datasets (e.g. Online Retail) and reviews (write_review, e.g.
-- imported MovieLens ratings) from the clickstream; paid units and reviews from the shop.
-- A shop order's own purchase event is left out (the order gives its units). Weights come from var('interaction_weights');
-- interaction_weight = view_item*views + select_item*clicks + add_to_cart*cart_adds +
-- purchase*units_purchased + write_review*rating/5. A shop review is also a write_review
-- event; the day's rating is the max over both, so it is counted once.
-- Users are accounts; devices never logged in appear as 'client:<client_id>', and move to
-- their account once they log in (restitch_interactions). Erased accounts are left out
-- entirely, with their devices' browsing (pseudonymised in the events).
with

event_items as (

    select * from {{ ref('stg_raw__event_items') }}
    where event_name in ('view_item', 'select_item', 'add_to_cart', 'purchase')
        and listing_id is not null
        and {{ event_window_predicate('event_date') }}

),

shop_orders as (

    select order_id from {{ ref('stg_raw__orders') }}

),

review_events as (

    select
        event_items.event_id,
        event_items.user_id,
        event_items.client_id,
        event_items.listing_id,
        event_items.event_date,
        event_items.event_at
    from {{ ref('stg_raw__event_items') }} as event_items
    where event_items.event_name = 'write_review'
        and event_items.listing_id is not null
        and {{ event_window_predicate('event_items.event_date') }}

),

ratings as (

    select event_id, rating
    from {{ ref('stg_raw__events') }}
    where event_name = 'write_review'
        and rating is not null
        and {{ event_window_predicate('event_date') }}

),

stitched as (

    select * from {{ ref('int_clients_stitched_to_users') }}

),

erased as (

    select user_id from {{ ref('stg_raw__erasure_records') }}

),

event_signals as (

    select
        coalesce(event_items.user_id, stitched.user_id) as user_id,
        event_items.client_id,
        event_items.listing_id as product_id,
        event_items.event_date as interaction_date,
        case when event_items.event_name = 'view_item' then 1 else 0 end as views,
        case when event_items.event_name = 'select_item' then 1 else 0 end as clicks,
        case when event_items.event_name = 'add_to_cart' then event_items.quantity else 0 end as cart_adds,
        case when event_items.event_name = 'purchase' then event_items.quantity else 0 end as units_purchased,
        cast(null as {{ dbt.type_int() }}) as review_rating,
        event_items.event_at as interacted_at
    from event_items
    left join stitched
        on event_items.client_id = stitched.client_id
    -- a shop order's purchase event: its units come from the order itself (purchase_signals)
    where not (
        event_items.event_name = 'purchase'
        and event_items.transaction_id is not null
        and event_items.transaction_id in (select order_id from shop_orders)
    )

),

review_event_signals as (

    select
        coalesce(review_events.user_id, stitched.user_id) as user_id,
        review_events.client_id,
        review_events.listing_id as product_id,
        review_events.event_date as interaction_date,
        0 as views,
        0 as clicks,
        0 as cart_adds,
        0 as units_purchased,
        ratings.rating as review_rating,
        review_events.event_at as interacted_at
    from review_events
    inner join ratings
        on review_events.event_id = ratings.event_id
    left join stitched
        on review_events.client_id = stitched.client_id

),

purchase_signals as (

    select
        buyer_id as user_id,
        cast(null as {{ dbt.type_string() }}) as client_id,
        listing_id as product_id,
        order_date as interaction_date,
        0 as views,
        0 as clicks,
        0 as cart_adds,
        quantity as units_purchased,
        cast(null as {{ dbt.type_int() }}) as review_rating,
        placed_at as interacted_at
    from {{ ref('fct_order_items') }}
    where is_paid
        and {{ event_window_predicate('order_date') }}

),

review_signals as (

    select
        buyer_id as user_id,
        cast(null as {{ dbt.type_string() }}) as client_id,
        listing_id as product_id,
        cast(reviewed_at as date) as interaction_date,
        0 as views,
        0 as clicks,
        0 as cart_adds,
        0 as units_purchased,
        rating as review_rating,
        reviewed_at as interacted_at
    from {{ ref('stg_raw__reviews') }}
    where {{ event_window_predicate('cast(reviewed_at as date)') }}

),

signals as (

    select * from event_signals
    union all
    select * from review_event_signals
    union all
    select * from purchase_signals
    union all
    select * from review_signals

),

keyed as (

    select
        coalesce(user_id, 'client:' || client_id) as user_key,
        user_id,
        product_id,
        interaction_date,
        views,
        clicks,
        cart_adds,
        units_purchased,
        review_rating,
        interacted_at
    from signals
    where (user_id is null or user_id not in (select user_id from erased))
        -- an erased person's devices, pseudonymised in the events: their browsing too
        and not (user_id is null and client_id like 'erased-%')

),

final as (

    select
        user_key,
        max(user_id) as user_id,
        product_id,
        interaction_date,
        cast(sum(views) as {{ dbt.type_bigint() }}) as views,
        cast(sum(clicks) as {{ dbt.type_bigint() }}) as clicks,
        cast(sum(cart_adds) as {{ dbt.type_bigint() }}) as cart_adds,
        cast(sum(units_purchased) as {{ dbt.type_bigint() }}) as units_purchased,
        max(review_rating) as review_rating,
        {{ interaction_weight('sum(views)', 'sum(clicks)', 'sum(cart_adds)', 'sum(units_purchased)', 'max(review_rating)') }} as interaction_weight,
        min(interacted_at) as first_interaction_at,
        max(interacted_at) as last_interaction_at
    from keyed
    group by user_key, product_id, interaction_date

)

select * from final
