-- Per order: line, seller, payment and shipping figures rolled up from its child tables.
with

order_items as (

    select * from {{ ref('stg_raw__order_items') }}

),

groups as (

    select * from {{ ref('stg_raw__fulfilment_groups') }}

),

payments as (

    select * from {{ ref('stg_raw__payments') }}

),

refunds as (

    select * from {{ ref('stg_raw__refunds') }}

),

items_per_order as (

    select
        order_id,
        count(*) as line_count,
        sum(quantity) as units,
        count(distinct seller_id) as seller_count
    from order_items
    group by order_id

),

groups_per_order as (

    select
        order_id,
        min(shipped_at) as first_shipped_at,
        max(shipped_at) as last_shipped_at,
        max(delivered_at) as last_delivered_at,
        sum(case when delivered_at is null then 1 else 0 end) as undelivered_groups
    from groups
    group by order_id

),

payments_per_order as (

    select
        order_id,
        count(*) as payment_count,
        sum(failed_attempts) as failed_payment_attempts,
        max(card_brand) as card_brand
    from payments
    group by order_id

),

refunds_per_order as (

    select
        order_id,
        sum(case when refund_status = 'succeeded' then amount_minor else 0 end) as refunds_succeeded_minor,
        count(*) as refund_count
    from refunds
    group by order_id

),

aggregated as (

    select
        items_per_order.order_id,
        items_per_order.line_count,
        items_per_order.units,
        items_per_order.seller_count,
        groups_per_order.first_shipped_at,
        groups_per_order.last_shipped_at,
        case when groups_per_order.undelivered_groups = 0 then groups_per_order.last_delivered_at end as delivered_at,
        coalesce(payments_per_order.payment_count, 0) as payment_count,
        coalesce(payments_per_order.failed_payment_attempts, 0) as failed_payment_attempts,
        payments_per_order.card_brand,
        coalesce(refunds_per_order.refund_count, 0) as refund_count,
        coalesce(refunds_per_order.refunds_succeeded_minor, 0) as refunds_succeeded_minor
    from items_per_order
    left join groups_per_order
        on items_per_order.order_id = groups_per_order.order_id
    left join payments_per_order
        on items_per_order.order_id = payments_per_order.order_id
    left join refunds_per_order
        on items_per_order.order_id = refunds_per_order.order_id

)

select * from aggregated
