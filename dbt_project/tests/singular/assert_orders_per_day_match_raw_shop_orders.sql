-- Reconciliation: for every UTC day, fct_orders has exactly as many orders, paid orders and
-- the same sums of total_minor (all orders and paid orders) as raw.shop_orders, the copy of
-- the shop database. A failing row is a day where the mart lost, duplicated or changed orders.
with

raw_days as (

    select
        cast(placed_at as date) as order_date,
        count(*) as orders,
        sum(case when paid_at is not null then 1 else 0 end) as paid_orders,
        sum(total_minor) as total_minor,
        sum(case when paid_at is not null then total_minor else 0 end) as paid_total_minor
    from {{ source('raw', 'shop_orders') }}
    group by cast(placed_at as date)

),

mart_days as (

    select
        order_date,
        count(*) as orders,
        sum(case when is_paid then 1 else 0 end) as paid_orders,
        sum(total_minor) as total_minor,
        sum(case when is_paid then total_minor else 0 end) as paid_total_minor
    from {{ ref('fct_orders') }}
    group by order_date

)

select
    coalesce(raw_days.order_date, mart_days.order_date) as order_date,
    raw_days.orders as raw_orders,
    mart_days.orders as mart_orders,
    raw_days.paid_total_minor as raw_paid_total_minor,
    mart_days.paid_total_minor as mart_paid_total_minor
from raw_days
full outer join mart_days
    on raw_days.order_date = mart_days.order_date
where raw_days.order_date is null
    or mart_days.order_date is null
    or raw_days.orders <> mart_days.orders
    or raw_days.paid_orders <> mart_days.paid_orders
    or raw_days.total_minor <> mart_days.total_minor
    or raw_days.paid_total_minor <> mart_days.paid_total_minor
