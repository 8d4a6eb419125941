{{
    config(
        materialized='incremental',
        unique_key=['product_id', 'activity_date'],
        on_schema_change='fail',
        **incremental_config()
    )
}}
-- One row per product per day with any activity: list impressions, clicks, detail views,
-- cart adds (clickstream) and paid units and sales (shop orders, by order date).
with

event_items as (

    select * from {{ ref('stg_raw__event_items') }}
    where {{ event_window_predicate('event_date') }}

),

order_items as (

    select * from {{ ref('fct_order_items') }}
    where is_paid
        and {{ event_window_predicate('order_date') }}

),

events_per_day as (

    select
        listing_id as product_id,
        event_date as activity_date,
        sum(case when event_name = 'view_item_list' then 1 else 0 end) as list_impressions,
        sum(case when event_name = 'select_item' then 1 else 0 end) as list_clicks,
        sum(case when event_name = 'view_item' then 1 else 0 end) as detail_views,
        sum(case when event_name = 'add_to_cart' then quantity else 0 end) as units_added_to_cart,
        count(distinct case when event_name = 'view_item' then client_id end) as distinct_viewers
    from event_items
    where listing_id is not null
    group by listing_id, event_date

),

sales_per_day as (

    select
        listing_id as product_id,
        order_date as activity_date,
        count(distinct order_id) as orders_paid,
        sum(quantity) as units_sold,
        sum(line_total_minor) as gross_sales_minor
    from order_items
    group by listing_id, order_date

),

final as (

    select
        coalesce(events_per_day.product_id, sales_per_day.product_id) as product_id,
        coalesce(events_per_day.activity_date, sales_per_day.activity_date) as activity_date,
        coalesce(events_per_day.list_impressions, 0) as list_impressions,
        coalesce(events_per_day.list_clicks, 0) as list_clicks,
        coalesce(events_per_day.detail_views, 0) as detail_views,
        coalesce(events_per_day.distinct_viewers, 0) as distinct_viewers,
        coalesce(events_per_day.units_added_to_cart, 0) as units_added_to_cart,
        coalesce(sales_per_day.orders_paid, 0) as orders_paid,
        coalesce(sales_per_day.units_sold, 0) as units_sold,
        coalesce(sales_per_day.gross_sales_minor, 0) as gross_sales_minor
    from events_per_day
    full outer join sales_per_day
        on events_per_day.product_id = sales_per_day.product_id
        and events_per_day.activity_date = sales_per_day.activity_date

)

select * from final
