-- Order lines with their order's buyer, dates and status, and the listing's current category.
with

order_items as (

    select * from {{ ref('stg_raw__order_items') }}

),

orders as (

    select * from {{ ref('stg_raw__orders') }}

),

listings as (

    select * from {{ ref('stg_raw__listings') }}

),

reviews as (

    select * from {{ ref('stg_raw__reviews') }}

),

joined as (

    select
        order_items.order_item_id,
        order_items.order_id,
        order_items.fulfilment_group_id,
        order_items.listing_id,
        order_items.seller_id,
        order_items.category_id,
        orders.buyer_id,
        order_items.position,
        order_items.title,
        order_items.unit_price_minor,
        order_items.quantity,
        order_items.discount_minor,
        order_items.tax_minor,
        order_items.line_total_minor,
        orders.currency,
        orders.order_status,
        orders.paid_at is not null as is_paid,
        orders.placed_at,
        cast(orders.placed_at as date) as order_date,
        orders.paid_at,
        listings.listing_status,
        reviews.review_id,
        reviews.rating as review_rating,
        reviews.reviewed_at
    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    left join listings
        on order_items.listing_id = listings.listing_id
    left join reviews
        on order_items.order_item_id = reviews.order_item_id

)

select * from joined
