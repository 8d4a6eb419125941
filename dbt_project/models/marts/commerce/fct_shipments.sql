-- One row per shipment (one per fulfilment group): carrier, tracking milestones and durations.
with

shipments as (

    select * from {{ ref('stg_raw__shipments') }}

),

groups as (

    select * from {{ ref('stg_raw__fulfilment_groups') }}

),

orders as (

    select * from {{ ref('stg_raw__orders') }}

),

tracking as (

    select
        shipment_id,
        count(*) as tracking_event_count,
        min(case when shipment_status = 'in_transit' then occurred_at end) as first_in_transit_at,
        min(case when shipment_status = 'delivered' then occurred_at end) as delivered_event_at,
        sum(case when shipment_status = 'exception' then 1 else 0 end) as exception_count
    from {{ ref('stg_raw__shipment_events') }}
    group by shipment_id

),

final as (

    select
        shipments.shipment_id,
        shipments.order_id,
        shipments.fulfilment_group_id,
        groups.seller_id,
        orders.buyer_id,
        shipments.carrier,
        shipments.shipment_status,
        shipments.shipment_status = 'delivered' as is_delivered,
        coalesce(tracking.tracking_event_count, 0) as tracking_event_count,
        coalesce(tracking.exception_count, 0) as exception_count,
        shipments.created_at as label_created_at,
        cast(shipments.created_at as date) as shipment_date,
        orders.paid_at,
        groups.shipped_at,
        tracking.first_in_transit_at,
        coalesce(groups.delivered_at, tracking.delivered_event_at) as delivered_at,
        case
            when orders.paid_at is not null and groups.shipped_at is not null
                then cast({{ dbt.datediff('orders.paid_at', 'groups.shipped_at', 'second') }} as {{ type_double() }}) / 3600
        end as hours_paid_to_shipped,
        case
            when groups.shipped_at is not null and coalesce(groups.delivered_at, tracking.delivered_event_at) is not null
                then cast({{ dbt.datediff('groups.shipped_at', 'coalesce(groups.delivered_at, tracking.delivered_event_at)', 'second') }} as {{ type_double() }}) / 3600
        end as hours_shipped_to_delivered,
        -- a source anomaly (imported data): paid after shipping, or delivered before shipping;
        -- durations are kept as recorded
        coalesce(
            orders.paid_at > groups.shipped_at
            or groups.shipped_at > coalesce(groups.delivered_at, tracking.delivered_event_at),
            false
        ) as has_timeline_anomaly
    from shipments
    left join groups
        on shipments.fulfilment_group_id = groups.fulfilment_group_id
    left join orders
        on shipments.order_id = orders.order_id
    left join tracking
        on shipments.shipment_id = tracking.shipment_id

)

select * from final
