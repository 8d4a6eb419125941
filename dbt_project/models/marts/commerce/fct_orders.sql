-- One row per order: amounts in minor units, rolled-up lines, payments, shipping and refunds.
with

orders as (

    select * from {{ ref('stg_raw__orders') }}

),

children as (

    select * from {{ ref('int_orders_aggregated_from_children') }}

),

final as (

    select
        -- ids
        orders.order_id,
        orders.buyer_id,
        orders.coupon_id,
        -- status
        orders.order_status,
        orders.paid_at is not null as is_paid,
        orders.cancelled_at is not null as is_cancelled,
        orders.coupon_id is not null as has_coupon,
        orders.currency,
        -- amounts (minor units)
        orders.subtotal_minor,
        orders.discount_minor,
        orders.shipping_minor,
        orders.tax_minor,
        orders.total_minor,
        orders.refunded_minor,
        orders.total_minor - orders.refunded_minor as net_total_minor,
        -- rolled up from children
        cast(coalesce(children.line_count, 0) as {{ dbt.type_bigint() }}) as line_count,
        cast(coalesce(children.units, 0) as {{ dbt.type_bigint() }}) as units,
        cast(coalesce(children.seller_count, 0) as {{ dbt.type_bigint() }}) as seller_count,
        cast(coalesce(children.payment_count, 0) as {{ dbt.type_bigint() }}) as payment_count,
        cast(coalesce(children.failed_payment_attempts, 0) as {{ dbt.type_bigint() }}) as failed_payment_attempts,
        cast(coalesce(children.refund_count, 0) as {{ dbt.type_bigint() }}) as refund_count,
        -- buyer sequence (paid orders only)
        case
            when orders.paid_at is not null then cast(row_number() over (
                partition by orders.buyer_id, orders.paid_at is not null
                order by orders.placed_at, orders.order_id
            ) as {{ dbt.type_bigint() }})
        end as buyer_paid_order_number,
        -- timestamps
        orders.placed_at,
        cast(orders.placed_at as date) as order_date,
        orders.paid_at,
        orders.cancelled_at,
        children.first_shipped_at,
        children.delivered_at,
        orders.estimated_delivery_at,
        -- late = delivered on a later day than the one promised (the promise is a date)
        case
            when children.delivered_at is not null and orders.estimated_delivery_at is not null
                then cast(children.delivered_at as date) > cast(orders.estimated_delivery_at as date)
        end as is_delivered_late,
        case
            when children.delivered_at is not null
                then cast({{ dbt.datediff('orders.paid_at', 'children.delivered_at', 'second') }} as {{ type_double() }}) / 3600
        end as hours_paid_to_delivered,
        -- a source anomaly (imported data: Olist records some approvals after the carrier
        -- hand-over or the delivery): milestones out of order; durations are kept as recorded
        coalesce(
            orders.paid_at > children.first_shipped_at
            or orders.paid_at > children.delivered_at
            or children.first_shipped_at > children.delivered_at,
            false
        ) as has_timeline_anomaly
    from orders
    left join children
        on orders.order_id = children.order_id

)

select * from final
