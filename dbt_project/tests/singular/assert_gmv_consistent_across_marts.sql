-- Reconciliation: GMV (sum of total_minor of paid orders) is the same in raw.shop_orders,
-- fct_orders and dim_customers (sum of gross_spend_minor), and paid line totals agree between
-- raw.shop_order_items and fct_order_items. A returned row names the figure that disagrees.
with

figures as (

    select 'gmv raw orders' as figure, sum(total_minor) as amount_minor
    from {{ source('raw', 'shop_orders') }}
    where paid_at is not null
    union all
    select 'gmv fct_orders', sum(total_minor)
    from {{ ref('fct_orders') }}
    where is_paid
    union all
    select 'gmv dim_customers', sum(gross_spend_minor)
    from {{ ref('dim_customers') }}

),

lines as (

    select 'lines raw order_items' as figure, sum(items.line_total_minor) as amount_minor
    from {{ source('raw', 'shop_order_items') }} as items
    inner join {{ source('raw', 'shop_orders') }} as orders
        on items.order_id = orders.id
    where orders.paid_at is not null
    union all
    select 'lines fct_order_items', sum(line_total_minor)
    from {{ ref('fct_order_items') }}
    where is_paid

)

select figure, amount_minor
from figures
where coalesce(amount_minor, 0) <> (select coalesce(amount_minor, 0) from figures where figure = 'gmv raw orders')
union all
select figure, amount_minor
from lines
where coalesce(amount_minor, 0) <> (select coalesce(amount_minor, 0) from lines where figure = 'lines raw order_items')
